"""The model side of evaluation: one load (base + adapter), batched generation and scoring.

Base answers come from the same PeftModel inside `disable_adapter()`, so the comparison
costs one model in memory and base and tuned see exactly the same weights, tokenizer,
prompts and decoding settings.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from corpus_ft.util import CorpusFtError, offline_env


def resolve_base(adapter: Path, base: str | None, run_dir: Path) -> str:
    """The base model: --base, else adapter_config.json's base_model_name_or_path (paths made absolute)."""
    cfg_path = adapter / "adapter_config.json"
    if not cfg_path.is_file():
        raise CorpusFtError(f"{cfg_path}: not found; train first (`corpus-ft train {run_dir}`) or pass --adapter DIR")
    if base is None:
        try:
            base = json.loads(cfg_path.read_text())["base_model_name_or_path"]
        except (json.JSONDecodeError, KeyError):
            raise CorpusFtError(f"{cfg_path}: no base_model_name_or_path; pass --base MODEL") from None
        if not base:
            raise CorpusFtError(f"{cfg_path}: base_model_name_or_path is empty; pass --base MODEL")
    for cand in (Path(base), run_dir / base, adapter / base):
        if cand.is_dir():
            return str(cand.resolve())
    if Path(base).is_absolute() or base.startswith((".", "/")) or base.count("/") > 1:
        raise CorpusFtError(f"base model {base!r} not found (from {cfg_path}); pass --base with a local model dir")
    return base  # a hub id; HF_HUB_OFFLINE decides whether the cache may serve it


def pick_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def load(base: str, adapter: Path, device: str):
    """(PeftModel in eval mode, tokenizer with a chat template and left padding)."""
    offline_env()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from corpus_ft.train.tiny import DEFAULT_CHAT_TEMPLATE

    tok_dir = adapter if (adapter / "tokenizer_config.json").is_file() else base
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    if not tokenizer.chat_template:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    dtype = torch.float32
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    hf_logging.disable_progress_bar()  # our own bar covers the work; loading is seconds
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
            if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
                model.resize_token_embeddings(len(tokenizer))
            model = PeftModel.from_pretrained(model, str(adapter)).to(device).eval()
    except OSError as e:
        raise CorpusFtError(f"cannot load {base!r} with adapter {adapter}: {e}; pass --base/--adapter with local dirs", 1) from None
    finally:
        hf_logging.enable_progress_bar()
    return model, tokenizer


@contextmanager
def side(model, which: str) -> Iterator[None]:
    """`base` runs with the adapter disabled, `tuned` with it on."""
    with model.disable_adapter() if which == "base" else nullcontext():
        yield


def prompt_text(tokenizer, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def generate(model, tokenizer, prompts: list[list[dict]], *, max_new_tokens: int, temperature: float,
             top_p: float, seed: int, batch_size: int, max_length: int, progress=None) -> list[dict]:
    """Answers for chat prompts, batched with left padding; greedy when temperature is 0."""
    import torch

    texts = [prompt_text(tokenizer, m) for m in prompts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    out: list[dict] = [{}] * len(texts)
    tokenizer.truncation_side = "left"
    sample = temperature > 0
    # the model's own stop tokens (Llama 3 instruct lists several), else the tokenizer's
    eos = model.generation_config.eos_token_id
    eos = [eos] if isinstance(eos, int) else list(eos or []) or [tokenizer.eos_token_id]
    stop = set(eos) | {tokenizer.pad_token_id}
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=sample, pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=eos)
    if sample:
        kwargs.update(temperature=temperature, top_p=top_p)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                        max_length=max(8, max_length - max_new_tokens), add_special_tokens=False).to(model.device)
        torch.manual_seed(seed + b)
        with torch.inference_mode():
            gen = model.generate(**enc, **kwargs)
        new = gen[:, enc["input_ids"].shape[1]:]
        for row, i in enumerate(idx):
            ids = new[row].tolist()
            n = next((k for k, t in enumerate(ids) if t in stop), len(ids))
            out[i] = {"answer": tokenizer.decode(ids[:n], skip_special_tokens=True).strip(), "new_tokens": n}
        if progress:
            progress(len(idx))
    return out


def encode_target(tokenizer, messages: list[dict] | None, reference: str, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt + reference (as the chat template writes an assistant turn) and where the reference starts."""
    if messages is None:  # plain text (paragraphs, probes): every token after the first is scored
        ids = tokenizer(reference, add_special_tokens=False)["input_ids"]
        if tokenizer.bos_token_id is not None:
            ids = [tokenizer.bos_token_id] + ids
        return ids[:max_length], 1
    prompt = prompt_text(tokenizer, messages)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": reference}], tokenize=False)
    completion = full[len(prompt):] if full.startswith(prompt) else reference + (tokenizer.eos_token or "")
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    keep_prompt = min(len(p_ids), max(1, max_length - len(c_ids)), max_length // 2) if len(p_ids) + len(c_ids) > max_length else len(p_ids)
    p_ids = p_ids[len(p_ids) - keep_prompt:]
    c_ids = c_ids[:max_length - len(p_ids)]
    return p_ids + c_ids, len(p_ids)


def nll(model, items: list[tuple[list[int], int]], *, batch_size: int, pad_id: int, progress=None) -> list[tuple[float, int]]:
    """Summed negative log-likelihood and token count of each item's target part."""
    import torch
    import torch.nn.functional as F

    out: list[tuple[float, int]] = [(0.0, 0)] * len(items)
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        width = max(len(items[i][0]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        for row, i in enumerate(idx):  # right padding: positions stay as in training
            seq, start = items[i]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
            labels[row, start:len(seq)] = torch.tensor(seq[start:])
        with torch.inference_mode():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.float()
        logp = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:].to(logits.device),
                               ignore_index=-100, reduction="none")
        counts = (labels[:, 1:] != -100).sum(1)
        for row, i in enumerate(idx):
            out[i] = (float(logp[row].sum()), int(counts[row]))
        if progress:
            progress(len(idx))
    return out


def check_adapter_applied(model, tokenizer, text: str, adapter: Path) -> float:
    """Max |tuned - base| logit on a probe; identical logits mean the adapter does nothing: stop."""
    import torch

    enc = tokenizer(text, return_tensors="pt", add_special_tokens=True, truncation=True, max_length=256).to(model.device)
    with torch.inference_mode():
        tuned = model(**enc).logits
        with model.disable_adapter():
            base = model(**enc).logits
    if torch.equal(tuned, base):
        raise CorpusFtError(
            f"{adapter}: the adapter does not change the model (tuned and base logits are identical on the "
            "probe), so every comparison would be a tie. Its LoRA B matrices are probably still zero "
            "(an untrained or freshly initialised adapter); train it (`corpus-ft train`) or pass the right --adapter", 1)
    return float((tuned.float() - base.float()).abs().max())
