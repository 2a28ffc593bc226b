"""`corpus-ft bench train`: this project's trainer against the common guide recipe, same model and data.

Both run in one process on random weights of a named model shape (a `LlamaConfig` with the
real sizes, saved once with `save_pretrained`; speed and memory do not depend on the values),
on the same random token rows (seq tokens each, labels = inputs, no padding):

- guide: transformers `Trainer` + `prepare_model_for_kbit_training` (fp32 upcast, reentrant
  gradient checkpointing) + PEFT LoRA r16/alpha 32/dropout 0.05 on all seven projections;
- corpus-ft: `corpus_ft.train.trainer` (bf16 kept, non-reentrant or no checkpointing as the
  estimator picks, Liger when installed, padding-free packing, fused LM head through TRL).

Per step: time between `on_step_begin` and `on_step_end` (CUDA synchronized), warm-up steps
skipped, median. Memory: `max_memory_allocated/reserved` after `reset_peak_memory_stats`,
minus what was allocated before the model loaded.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_dir, offline_env

SEVEN = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SHAPES = ("llama-3-8b", "llama-3.2-1b", "tiny")
GIB = 1 << 30


def shape_dir(shape: str, cache: Path | None = None) -> Path:
    """A `save_pretrained` directory with random weights of `shape` (built once, then reused)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from corpus_ft.estimate.shapes import PRESETS
    from corpus_ft.model.tiny import train_tokenizer

    if shape not in SHAPES:
        raise CorpusFtError(f"--model-shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    cache = cache or Path(os.environ.get("CORPUS_FT_CACHE", Path.home() / ".cache" / "corpus-ft")) / "bench-models"
    out = cache / shape
    if (out / "config.json").is_file():
        return out
    s = PRESETS[shape]
    config = LlamaConfig(hidden_size=s.hidden, num_hidden_layers=s.layers, num_attention_heads=s.heads,
                         num_key_value_heads=s.kv_heads, intermediate_size=-(-s.ffn // 64) * 64,
                         vocab_size=s.vocab, tie_word_embeddings=s.tied, max_position_embeddings=8192,
                         rms_norm_eps=1e-5, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    tok = train_tokenizer(["a repository holds documents and code"] * 8, vocab_size=300)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    del model
    return out


def _rows(n: int, seq: int, vocab: int, seed: int = 0):
    import torch
    from datasets import Dataset

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (n, seq), generator=g).tolist()
    return Dataset.from_dict({"input_ids": ids, "labels": ids})


def _timer(device: str):
    """A TrainerCallback that records each optimizer step's wall time."""
    import torch
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_step_begin(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.t0)

    return StepTimer()


def _guide_checkpointing() -> dict:
    """`gradient_checkpointing=True` as the guide writes it: no kwargs (under this transformers version's name)."""
    from corpus_ft.train.trainer import checkpointing_args

    return {next(iter(checkpointing_args(True))): True}


def _guide(path: Path, method: str, seq: int, mb: int, steps: int, device: str, data, timer, out: Path):
    """The recipe most QLoRA guides print, as they print it."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (AutoModelForCausalLM, BitsAndBytesConfig, PrinterCallback, Trainer, TrainingArguments,
                              default_data_collator)

    cuda = device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    kwargs = {"dtype": dtype}
    if method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype)
    if cuda:
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if method == "qlora":
        model = prepare_model_for_kbit_training(model)  # fp32 upcast + reentrant checkpointing
    else:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=SEVEN,
                                             bias="none", task_type="CAUSAL_LM"))
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=mb, gradient_accumulation_steps=1,
                             learning_rate=2e-4, max_steps=steps, bf16=cuda, **_guide_checkpointing(),
                             logging_steps=1000, save_strategy="no", report_to="none", disable_tqdm=True,
                             use_cpu=not cuda)
    data = data.map(lambda r: {"attention_mask": [1] * len(r["input_ids"])})
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=default_data_collator,
                      callbacks=[timer])
    trainer.remove_callback(PrinterCallback)  # keep stdout for --json
    model.train()
    trainer.train()
    return {"ckpt": True}


def _ours(path: Path, method: str, seq: int, mb: int, steps: int, device: str, data, timer, out: Path,
          gradient_checkpointing):
    """This project's trainer pieces, exactly as `corpus-ft train` assembles them."""
    from transformers import AutoTokenizer

    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import device_and_dtype, fit_plan, load_model, make_trainer, sft_config

    config = TrainConfig(model=str(path), method=method, seq_len=seq, micro_batch=mb, grad_accum=1, max_steps=steps,
                         gradient_checkpointing=gradient_checkpointing, save_steps=10**6, eval_steps=10**6,
                         logging_steps=10**6, lora_dropout=0.05)
    _, dtype = device_and_dtype(config)
    config, _ = fit_plan(config, device)
    args = sft_config(config, out, dtype, device, has_eval=False, progress=False)
    model = load_model(str(path), config, device, dtype)
    trainer = make_trainer(model, config, args, AutoTokenizer.from_pretrained(path), data, callbacks=[timer])
    trainer.model.train()
    trainer.train()
    return {"ckpt": bool(config.gradient_checkpointing), "liger": bool(args.use_liger_kernel)}


def bench_train(shape: str = "tiny", method: str = "qlora", seq: int = 2048, micro_batches=(1, 4), steps: int = 3,
                warmup: int = 1, gradient_checkpointing="auto", which=("guide", "corpus-ft")) -> list[dict]:
    """One row per (recipe, micro-batch): tokens/s (median of timed steps), peak allocated/reserved GiB."""
    offline_env()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    path = shape_dir(shape)
    vocab = json.loads((path / "config.json").read_text())["vocab_size"]
    rows = []
    for mb in micro_batches:
        for name in which:
            data = _rows(mb * (steps + warmup), seq, vocab)
            timer = _timer(device)
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
            out = Path(os.environ.get("TMPDIR", "/tmp")) / f"corpus-ft-bench-{os.getpid()}"
            if name == "guide":
                extra = _guide(path, method, seq, mb, steps + warmup, device, data, timer, out)
            else:
                extra = _ours(path, method, seq, mb, steps + warmup, device, data, timer, out, gradient_checkpointing)
            timed = timer.times[warmup:] or timer.times
            row = {"recipe": name, "model": shape, "method": method, "seq": seq, "mb": mb, **extra,
                   "tok_s": round(mb * seq / statistics.median(timed), 1), "step_s": round(statistics.median(timed), 4),
                   "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
                   "peak_alloc_gib": None, "peak_reserved_gib": None}
            if device == "cuda":
                row["peak_alloc_gib"] = round((torch.cuda.max_memory_allocated() - base) / GIB, 3)
                row["peak_reserved_gib"] = round((torch.cuda.max_memory_reserved() - base) / GIB, 3)
            rows.append(row)
            gc.collect()
    for mb in micro_batches:  # the ratios the goals are stated in
        g = next((r for r in rows if r["recipe"] == "guide" and r["mb"] == mb), None)
        o = next((r for r in rows if r["recipe"] == "corpus-ft" and r["mb"] == mb), None)
        if g and o:
            o["speedup_vs_guide"] = round(o["tok_s"] / g["tok_s"], 2)
            if g["peak_alloc_gib"]:
                o["memory_vs_guide"] = round(o["peak_alloc_gib"] / g["peak_alloc_gib"], 2)
    return rows
