"""Model shapes the estimator reasons about, read offline (never downloaded).

A shape is all the estimator needs from a model: hidden size, layers, heads, MLP width and
vocabulary. It comes from a local `config.json`, from the Hugging Face cache for a hub id,
or from a built-in preset with the published sizes of common Llama-family models. GPU sizes are
in `corpus_ft.gpus`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from corpus_ft.util import CorpusFtError


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a Llama-family decoder that decide its memory."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    tied: bool = False
    head_dim: int = 0  # 0: hidden // heads

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    def linears(self) -> dict[str, tuple[int, int]]:
        """(in, out) of the seven projections of one decoder layer, by their PEFT names."""
        h, q, kv, f = self.hidden, self.heads * self.hd, self.kv_heads * self.hd, self.ffn
        return {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, f),
            "up_proj": (h, f),
            "down_proj": (f, h),
        }

    @property
    def linear_params(self) -> int:
        return self.layers * sum(i * o for i, o in self.linears().values())

    @property
    def embed_params(self) -> int:
        """Input embedding plus lm_head (one matrix when tied)."""
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def norm_params(self) -> int:
        return (2 * self.layers + 1) * self.hidden

    @property
    def num_params(self) -> int:
        return self.linear_params + self.embed_params + self.norm_params

    def to_dict(self) -> dict:
        return {**asdict(self), "num_params": self.num_params}


def _llama(name, hidden, layers, heads, kv_heads, ffn, vocab, tied=False, head_dim=0) -> ModelShape:
    return ModelShape(name, hidden, layers, heads, kv_heads, ffn, vocab, tied, head_dim)


# Published sizes (the models' config.json on the hub).
PRESETS: dict[str, ModelShape] = {
    s.name: s
    for s in [
        _llama("llama-2-7b", 4096, 32, 32, 32, 11008, 32000),
        _llama("llama-2-13b", 5120, 40, 40, 40, 13824, 32000),
        _llama("llama-2-70b", 8192, 80, 64, 8, 28672, 32000),
        _llama("llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256, tied=True),
        _llama("llama-3.2-3b", 3072, 28, 24, 8, 8192, 128256, tied=True),
        _llama("llama-3-8b", 4096, 32, 32, 8, 14336, 128256),
        _llama("llama-3.1-8b", 4096, 32, 32, 8, 14336, 128256),
        _llama("llama-3-70b", 8192, 80, 64, 8, 28672, 128256),
        _llama("llama-3.1-70b", 8192, 80, 64, 8, 28672, 128256),
        _llama("llama-3.3-70b", 8192, 80, 64, 8, 28672, 128256),
        _llama("mistral-7b", 4096, 32, 32, 8, 14336, 32000),
        _llama("mistral-7b-v0.3", 4096, 32, 32, 8, 14336, 32768),
        # The embedded default (`corpus-ft tiny-model` defaults; vocab is the tokenizer's at most).
        _llama("tiny", 128, 2, 4, 2, 384, 4096, tied=True),
    ]
}


def _preset_key(name: str) -> str:
    """'meta-llama/Meta-Llama-3-8B-Instruct' -> 'llama-3-8b', so hub ids find their preset."""
    key = name.lower().rsplit("/", 1)[-1]
    key = re.sub(r"^meta-", "", key)
    key = re.sub(r"-(instruct|chat|hf|base)(?=-|$)", "", key)
    key = key.replace("llama3", "llama-3").replace("llama2", "llama-2")
    return {"mistral-7b-v0.1": "mistral-7b"}.get(key, key)


def shape_from_config(config: dict, name: str, source: str) -> ModelShape:
    """Read the sizes from a transformers `config.json` dict; errors name the file and key."""
    try:
        heads = int(config["num_attention_heads"])
        return ModelShape(
            name=name,
            hidden=int(config["hidden_size"]),
            layers=int(config["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            ffn=int(config["intermediate_size"]),
            vocab=int(config["vocab_size"]),
            tied=bool(config.get("tie_word_embeddings", False)),
            head_dim=int(config.get("head_dim") or 0),
        )
    except KeyError as e:
        raise CorpusFtError(
            f"{source}: missing key {e.args[0]!r}; the estimator needs a Llama-style config "
            "(hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size)"
        ) from None
    except (TypeError, ValueError) as e:
        raise CorpusFtError(f"{source}: a size is not an integer ({e})") from None


def _read_config(path: Path, name: str) -> ModelShape:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CorpusFtError(f"{path}: cannot read the model config ({e})") from None
    if not isinstance(config, dict):
        raise CorpusFtError(f"{path}: expected a JSON object")
    config = config.get("text_config", config)  # multimodal wrappers keep the decoder here
    return shape_from_config(config, name, str(path))


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub"


def _cached_config(hub_id: str) -> Path | None:
    snapshots = _hub_cache() / ("models--" + hub_id.replace("/", "--")) / "snapshots"
    found = sorted(snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    return found[-1] if found else None


def load_shape(model: str | os.PathLike | ModelShape) -> ModelShape:
    """A local model dir, a hub id with a cached config, or a preset name -> its shape. Offline."""
    if isinstance(model, ModelShape):
        return model
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise CorpusFtError(f"{path}: no config.json; pass a model directory saved with save_pretrained")
        return _read_config(path / "config.json", path.name)
    if path.suffix == ".json" and path.is_file():
        return _read_config(path, path.parent.name)
    if "/" in text and (cached := _cached_config(text)):
        return _read_config(cached, text)
    key = _preset_key(text)
    if key in PRESETS:
        return PRESETS[key]
    raise CorpusFtError(
        f"unknown model {text!r}: not a directory with config.json, not in the Hugging Face cache "
        f"({_hub_cache()}), not a preset. Presets: {', '.join(PRESETS)}"
    )
