"""The model side of evaluation: base and tuned models, batched generation and scoring.

A LoRA/QLoRA run is compared through one PeftModel: base answers come from inside
`disable_adapter()`, so the comparison costs one model in memory. A full fine-tune is a second
complete model, so base and tuned are loaded one after the other and each is freed before the
next loads. Either way base and tuned see the same tokenizer, prompts and decoding settings.
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corpus_ft.util import CorpusFtError, offline_env


def find_tuned(run_dir: Path, given: Path | None) -> tuple[str, Path]:
    """('adapter' or 'full', dir): --adapter as given, else RUN_DIR/model/adapter, else RUN_DIR/model/full."""
    if given is not None:
        full = (given / "config.json").is_file() and not (given / "adapter_config.json").is_file()
        return ("full" if full else "adapter"), given
    adapter, full = run_dir / "model" / "adapter", run_dir / "model" / "full"
    if not adapter.exists() and (full / "config.json").is_file():
        return "full", full
    return "adapter", adapter


def resolve_base(tuned: Path, kind: str, base: str | None, run_dir: Path) -> str:
    """The base model: --base, else the adapter's base_model_name_or_path or, for a full fine-tune,
    the `model` of train_config.json beside it (paths made absolute)."""
    if kind == "adapter":
        cfg_path, key = tuned / "adapter_config.json", "base_model_name_or_path"
        if not cfg_path.is_file():
            raise CorpusFtError(
                f"{cfg_path}: not found; train first (`corpus-ft train {run_dir}`) or name a trained adapter "
                f"(`corpus-ft evaluate {run_dir} --adapter DIR`; `evaluate.adapter` in a recipe)"
            )
    else:
        cfg_path, key = tuned.parent / "train_config.json", "model"
        if base is None and not cfg_path.is_file():
            raise CorpusFtError(
                f"{cfg_path}: not found, so the base of the full model {tuned} is unknown; "
                "pass --base MODEL (the model it was fine-tuned from)"
            )
    if base is None:
        try:
            base = json.loads(cfg_path.read_text())[key]
        except (json.JSONDecodeError, KeyError):
            raise CorpusFtError(f"{cfg_path}: no {key}; pass --base MODEL") from None
        if not base:
            raise CorpusFtError(f"{cfg_path}: {key} is empty; pass --base MODEL")
    for cand in (Path(base), run_dir / base, cfg_path.parent / base):
        if cand.is_dir():
            return str(cand.resolve())
    if Path(base).is_absolute() or base.startswith((".", "/")) or base.count("/") > 1:
        raise CorpusFtError(f"base model {base!r} not found (from {cfg_path}); pass --base with a local model dir")
    from corpus_ft.model.load import resolve

    return resolve(base)  # a named model (its fetched directory) or a cached hub id


def pick_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def load_tokenizer(tuned: Path, base: str):
    """The tuned dir's tokenizer (else the base's), with a chat template and left padding."""
    from corpus_ft.model.chat import DEFAULT_CHAT_TEMPLATE
    from corpus_ft.model.load import load_tokenizer as load_model_tokenizer

    tokenizer = load_model_tokenizer(str(tuned) if (tuned / "tokenizer_config.json").is_file() else base)
    if not tokenizer.chat_template:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    tokenizer.padding_side = "left"
    return tokenizer


def _load_lm(path: str, device: str, tokenizer, adapter: Path | None = None):
    """A causal LM in eval mode on `device` (bf16/fp16 on CUDA, fp32 on CPU), optionally with a PEFT adapter."""
    import torch
    from transformers.utils import logging as hf_logging

    from corpus_ft.model.load import load_causal_lm

    dtype = torch.float32
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    hf_logging.disable_progress_bar()  # our own bar covers the work; loading is seconds
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = load_causal_lm(path, dtype=dtype)
            if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
                model.resize_token_embeddings(len(tokenizer))
            if adapter is not None:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(adapter))
    except OSError as e:
        extra = f" with adapter {adapter}" if adapter else ""
        raise CorpusFtError(f"cannot load {path!r}{extra}: {e}; pass --base/--adapter with local dirs", 1) from None
    finally:
        hf_logging.enable_progress_bar()
    return model.to(device).eval()


class AdapterModels:
    """Base and tuned as one PeftModel: `side('base')` disables the adapter, `side('tuned')` runs it."""

    kind = "adapter"

    def __init__(self, base: str, tuned: Path, device: str):
        offline_env()
        self.base, self.path, self.tokenizer = base, tuned, load_tokenizer(tuned, base)
        self.model = _load_lm(base, device, self.tokenizer, adapter=tuned)

    @contextmanager
    def side(self, which: str) -> Iterator:
        if which == "base":
            with self.model.disable_adapter():
                yield self.model
        else:
            yield self.model


class FullModels:
    """Base and a fully fine-tuned model, loaded one at a time so that only one is ever in memory."""

    kind = "full"

    def __init__(self, base: str, tuned: Path, device: str):
        offline_env()
        self.base, self.path, self.device = base, tuned, device
        self.tokenizer = load_tokenizer(tuned, base)

    @contextmanager
    def side(self, which: str) -> Iterator:
        model = _load_lm(self.base if which == "base" else str(self.path), self.device, self.tokenizer)
        try:
            yield model
        finally:
            del model
            gc.collect()
            if self.device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()


def open_models(kind: str, base: str, tuned: Path, device: str) -> AdapterModels | FullModels:
    """The base/tuned pair `evaluate` scores through, for an adapter or a full fine-tune."""
    return (FullModels if kind == "full" else AdapterModels)(base, tuned, device)


def prompt_text(tokenizer, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def generate(
    model,
    tokenizer,
    prompts: list[list[dict]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    batch_size: int,
    max_length: int,
    progress=None,
) -> list[dict]:
    """Answers for chat prompts, batched with left padding; greedy when temperature is 0."""
    from corpus_ft.model.generate import generate as complete

    done = complete(
        model,
        tokenizer,
        [prompt_text(tokenizer, m) for m in prompts],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        batch_size=batch_size,
        max_prompt_tokens=max_length - max_new_tokens,
        progress=progress,
    )
    return [{"answer": c.text.strip(), "new_tokens": c.completion_tokens} for c in done]


def encode_target(tokenizer, messages: list[dict] | None, reference: str, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt + reference (as the chat template writes an assistant turn) and where the reference starts."""
    if messages is None:  # plain text (paragraphs, probes): every token after the first is scored
        ids = tokenizer(reference, add_special_tokens=False)["input_ids"]
        if tokenizer.bos_token_id is not None:
            ids = [tokenizer.bos_token_id] + ids
        return ids[:max_length], 1
    prompt = prompt_text(tokenizer, messages)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": reference}], tokenize=False)
    completion = full[len(prompt) :] if full.startswith(prompt) else reference + (tokenizer.eos_token or "")
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    keep_prompt = (
        min(len(p_ids), max(1, max_length - len(c_ids)), max_length // 2)
        if len(p_ids) + len(c_ids) > max_length
        else len(p_ids)
    )
    p_ids = p_ids[len(p_ids) - keep_prompt :]
    c_ids = c_ids[: max_length - len(p_ids)]
    return p_ids + c_ids, len(p_ids)


def nll(
    model, items: list[tuple[list[int], int]], *, batch_size: int, pad_id: int, progress=None
) -> list[tuple[float, int]]:
    """Summed negative log-likelihood and token count of each item's target part."""
    import torch
    import torch.nn.functional as F

    out: list[tuple[float, int]] = [(0.0, 0)] * len(items)
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        width = max(len(items[i][0]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        for row, i in enumerate(idx):  # right padding: positions stay as in training
            seq, start = items[i]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
            labels[row, start : len(seq)] = torch.tensor(seq[start:])
        with torch.inference_mode():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.float()
            logits = logits[:, -width:]  # prompt tuning returns its virtual tokens' logits first
        logp = F.cross_entropy(
            logits[:, :-1].transpose(1, 2), labels[:, 1:].to(logits.device), ignore_index=-100, reduction="none"
        )
        counts = (labels[:, 1:] != -100).sum(1)
        for row, i in enumerate(idx):
            out[i] = (float(logp[row].sum()), int(counts[row]))
        if progress:
            progress(len(idx))
    return out


def probe_logits(model, tokenizer, text: str):
    """Logits on a probe text (on the CPU), to check that tuned differs from base."""
    import torch

    enc = tokenizer(text, return_tensors="pt", add_special_tokens=True, truncation=True, max_length=256).to(
        model.device
    )
    with torch.inference_mode():
        return (
            model(**enc).logits[:, -enc["input_ids"].shape[1] :].float().cpu()
        )  # without prompt tuning's virtual tokens


def check_tuned_differs(base_logits, tuned_logits, kind: str, tuned: Path) -> float:
    """Max |tuned - base| logit on the probe; identical logits would make every comparison a tie: stop."""
    import torch

    if torch.equal(tuned_logits, base_logits):
        why = (
            "Its LoRA B matrices are probably still zero (an untrained or freshly initialised adapter); "
            "train it (`corpus-ft train`) or pass the right --adapter"
            if kind == "adapter"
            else "It has the base's weights (not trained, or --base names the tuned model itself); "
            "train it (`corpus-ft train --method full`) or pass the right --adapter/--base"
        )
        what = "adapter" if kind == "adapter" else "full fine-tune"
        raise CorpusFtError(
            f"{tuned}: the {what} does not change the model (tuned and base logits are identical "
            f"on the probe), so every comparison would be a tie. {why}",
            1,
        )
    return float((tuned_logits - base_logits).abs().max())
