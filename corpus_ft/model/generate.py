"""Load a causal LM for inference and complete prompts in batches: the one generation loop.

Runs on CUDA in bf16 when a GPU is present, else on the CPU in fp32; left-pads batches and
decodes greedily at temperature 0 so a run is reproducible. The `hf` generator, `corpus-ft
serve` and the evaluator all generate through `generate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus_ft.util import sha256_text

Advance = Callable[[int], None]


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" (end of sequence) or "length" (max_new_tokens reached)
    prompt_tokens: int
    completion_tokens: int


def load_model(model: str | Path) -> tuple[Any, Any]:
    """(model, tokenizer) ready for batched generation: eval mode, left padding, a pad token."""
    import torch

    from corpus_ft.model.load import load_causal_lm, load_tokenizer, resolve

    ref = resolve(model)
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else (torch.float16 if cuda else torch.float32)
    tokenizer = load_tokenizer(ref)
    lm = load_causal_lm(ref, dtype=dtype)
    tokenizer.padding_side = "left"  # decoder-only models continue from the right end
    tokenizer.truncation_side = "left"  # keep the end of an over-long prompt: the instruction and turn marker
    lm.generation_config.pad_token_id = tokenizer.pad_token_id
    lm.to("cuda" if cuda else "cpu").eval()
    return lm, tokenizer


def generate(
    model,
    tokenizer,
    prompts: list[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    batch_size: int = 8,
    chat_template_applied: bool = True,
    max_prompt_tokens: int | None = None,
    progress: Advance | None = None,
) -> list[Completion]:
    """Complete each prompt text; batches of similar length, left-padded; greedy at temperature 0.

    The one batched generation loop: the `hf` generator, `corpus-ft serve` and the evaluator use it.
    Long prompts lose their start (left truncation), so the generation prompt at the end stays.
    """
    import torch

    if max_prompt_tokens is None:
        max_prompt_tokens = getattr(model.config, "max_position_embeddings", 4096) - max_new_tokens
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding per batch
    out: list[Completion | None] = [None] * len(prompts)
    # the model's own stop tokens (Llama 3 instruct lists several), else the tokenizer's
    eos = model.generation_config.eos_token_id
    eos = [eos] if isinstance(eos, int) else list(eos or []) or [tokenizer.eos_token_id]
    stop_ids = set(eos) | {tokenizer.pad_token_id}
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": eos,
    }
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    tokenizer.truncation_side = "left"
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [prompts[i] for i in idx],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max(8, max_prompt_tokens),
            add_special_tokens=not chat_template_applied,
        ).to(model.device)
        if seed is not None:
            torch.manual_seed(seed + start)
        with torch.inference_mode():
            seqs = model.generate(**enc, **kwargs)
        new = seqs[:, enc["input_ids"].shape[1] :].tolist()
        for row, i in enumerate(idx):
            ids = new[row]
            stop = next((k for k, t in enumerate(ids) if t in stop_ids), None)
            ids = ids[:stop] if stop is not None else ids
            out[i] = Completion(
                text=tokenizer.decode(ids, skip_special_tokens=True),
                finish_reason="stop" if stop is not None else "length",
                prompt_tokens=int(enc["attention_mask"][row].sum()),
                completion_tokens=len(ids),
            )
        if progress:
            progress(len(idx))
    return out  # type: ignore[return-value]


def model_fingerprint(model: str) -> str:
    """Identifies the weights in cache keys: a local dir's file names, sizes and mtimes; else the hub id.

    Cheap (no hashing of gigabytes) and changes when the directory is rewritten, e.g. retrained.
    """
    path = Path(model).expanduser()
    if not path.is_dir():
        return model
    files = sorted(
        (p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()
    )
    return f"{path.name}@{sha256_text(repr(files))[:16]}"
