"""Import a Llama-family GGUF file (llama.cpp, Ollama exports) as a plain transformers model directory.

transformers reads GGUF (`from_pretrained(dir, gguf_file=…)`, dequantising to fp32) but will not
`save_pretrained` the result, so the weights are copied into a fresh `LlamaForCausalLM` of the
same config and saved as safetensors with the tokenizer and its chat template. The directory
then loads in about a second through the ordinary `from_pretrained` path every stage uses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_dir, offline_env, sha256_file

# Architectures that transformers maps to LlamaForCausalLM-compatible configs from GGUF.
LLAMA_FAMILY = ("llama", "mistral")
PROVENANCE = "corpus_ft_model.json"


def check_gguf(path: str | os.PathLike) -> dict:
    """Architecture, tensor count and size of a GGUF file; a clear error if it is not a whole Llama GGUF."""
    path = Path(path)
    if not path.is_file():
        raise CorpusFtError(f"{path}: no such file; pass a .gguf file (llama.cpp or Ollama export)")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise CorpusFtError(f"{path}: not a GGUF file (it starts with {magic!r}, not b'GGUF'); pass a .gguf model file")
    from gguf import GGUFReader

    size = path.stat().st_size
    try:
        reader = GGUFReader(str(path))
    except Exception as e:  # numpy/struct errors on a cut header or metadata
        raise CorpusFtError(
            f"{path}: corrupt or truncated GGUF ({type(e).__name__}: {str(e)[:120]}); download the file again"
        ) from None
    end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if end > size or not reader.tensors:
        raise CorpusFtError(
            f"{path}: truncated GGUF (tensor data runs to byte {end:,}, the file has {size:,}); download the file again"
        )
    field = reader.fields.get("general.architecture")
    arch = field.contents() if field is not None else None
    if arch not in LLAMA_FAMILY:
        raise CorpusFtError(
            f"{path}: a {arch or 'unknown'!s} GGUF, not a Llama-family model "
            f"({', '.join(LLAMA_FAMILY)}); corpus-ft imports Llama-architecture GGUF files only"
        )
    name = reader.fields.get("general.name")
    return {
        "architecture": arch,
        "name": name.contents() if name is not None else None,
        "tensors": len(reader.tensors),
        "bytes": size,
    }


def _writable(out_dir: Path) -> None:
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CorpusFtError(
            f"{parent}: cannot create the model directory there ({e.strerror}); "
            "set CORPUS_FT_HOME to a writable directory or pass --out"
        ) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CorpusFtError(f"{parent}: not writable; set CORPUS_FT_HOME to a writable directory or pass --out")


def import_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike, *, provenance: dict | None = None) -> Path:
    """Convert a Llama-family GGUF into `out_dir` (fp32 safetensors, tokenizer, provenance), atomically."""
    gguf_path, out_dir = Path(gguf_path).resolve(), Path(out_dir)
    info = check_gguf(gguf_path)
    _writable(out_dir)
    offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    except Exception as e:  # transformers raises many kinds on a GGUF it cannot map
        raise CorpusFtError(
            f"{gguf_path}: transformers cannot load this GGUF ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else ''}); check that it is a complete "
            "Llama-family export"
        ) from None
    finally:
        hf_logging.enable_progress_bar()
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the GGUF marker that makes save_pretrained refuse
        del config.quantization_config
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    record = {
        "source": str(gguf_path),
        "gguf_sha256": sha256_file(gguf_path),
        **info,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float32",
        **(provenance or {}),
    }
    try:
        with atomic_dir(out_dir) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    except OSError as e:
        raise CorpusFtError(
            f"{out_dir}: cannot write the model ({e}); free disk space or choose another "
            "directory (CORPUS_FT_HOME or --out)"
        ) from None
    return out_dir
