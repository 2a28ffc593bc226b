"""`corpus-ft bench train`: this project's trainer against the common guide recipe, same model and data.

Both sides train the same model on the same rows (seq tokens each, labels = inputs, no padding):
- `--model NAME|DIR`: a real model (`smollm2-135m-instruct`, any local directory), on rows cut
  from the sample corpus's text with the model's own tokenizer, so the two losses can be compared;
- `--model-shape SHAPE`: random weights of a named shape (a `LlamaConfig` with the real sizes,
  saved once with `save_pretrained`; speed and memory do not depend on the values), random rows.

- guide: transformers `Trainer` + `prepare_model_for_kbit_training` (fp32 upcast, reentrant
  gradient checkpointing; for lora, checkpointing and input gradients as the guide enables them)
  + PEFT LoRA r16/alpha 32/dropout 0.05 on all seven projections;
- corpus-ft: `corpus_ft.train.trainer` (bf16 kept, non-reentrant or no checkpointing as the
  estimator picks, Liger when installed, padding-free packing, fused LM head through TRL).

Per step: time between `on_step_begin` and `on_step_end` (CUDA synchronized), warm-up steps
skipped, median. Memory on a GPU: `max_memory_allocated/reserved` after `reset_peak_memory_stats`,
minus what was allocated before the model loaded. On the CPU each side runs in its own fresh
process (spawned), so its peak RSS is that side's alone: imports, model, data and training.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
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
    config = LlamaConfig(
        hidden_size=s.hidden,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        intermediate_size=-(-s.ffn // 64) * 64,
        vocab_size=s.vocab,
        tie_word_embeddings=s.tied,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
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


def _text_rows(path: Path, n: int, seq: int):
    """`n` rows of `seq` tokens of the sample corpus's text in the model's tokenizer (random rows without it)."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from corpus_ft.evaluate.queries import SAMPLE_CORPUS

    files = sorted(f for f in SAMPLE_CORPUS.rglob("*") if f.suffix in (".md", ".rst", ".txt", ".py"))
    if not files:
        return _rows(n, seq, json.loads((path / "config.json").read_text())["vocab_size"])
    tok = AutoTokenizer.from_pretrained(path)
    ids: list[int] = []
    for f in files:
        ids += tok(f.read_text(encoding="utf-8", errors="replace"))["input_ids"]
        if len(ids) >= n * seq:
            break
    ids = (ids * (n * seq // max(len(ids), 1) + 1))[: n * seq]  # a short corpus repeats
    rows = [ids[i * seq : (i + 1) * seq] for i in range(n)]
    return Dataset.from_dict({"input_ids": rows, "labels": rows})


def _timer(device: str):
    """A TrainerCallback that records each optimizer step's wall time."""
    import torch
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []
            self.cpu: list[
                float
            ] = []  # CPU seconds of all the process's threads: steadier than wall time on a shared machine
            self.losses: list[float] = []

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

        def on_step_begin(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.t0, self.c0 = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.t0)
            self.cpu.append(time.process_time() - self.c0)

    return StepTimer()


def _guide_checkpointing() -> dict:
    """`gradient_checkpointing=True` as the guide writes it: no kwargs (under this transformers version's name)."""
    from corpus_ft.train.trainer import checkpointing_args

    return {next(iter(checkpointing_args(True))): True}


def _guide(path: Path, method: str, seq: int, mb: int, steps: int, device: str, data, timer, out: Path):
    """The recipe most QLoRA guides print, as they print it."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        BitsAndBytesConfig,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    cuda = device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    kwargs = {"dtype": dtype}
    if method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
        )
    if cuda:
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if method == "qlora":
        model = prepare_model_for_kbit_training(model)  # fp32 upcast + reentrant checkpointing
    else:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model = get_peft_model(
        model,
        LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=SEVEN, bias="none", task_type="CAUSAL_LM"),
    )
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=mb,
        gradient_accumulation_steps=1,
        learning_rate=2e-4,
        max_steps=steps,
        bf16=cuda,
        **_guide_checkpointing(),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not cuda,
    )
    data = data.map(lambda r: {"attention_mask": [1] * len(r["input_ids"])})
    trainer = Trainer(
        model=model, args=args, train_dataset=data, data_collator=default_data_collator, callbacks=[timer]
    )
    trainer.remove_callback(PrinterCallback)  # keep stdout for --json
    model.train()
    trainer.train()
    return {"ckpt": True}


def _ours(
    path: Path,
    method: str,
    seq: int,
    mb: int,
    steps: int,
    device: str,
    data,
    timer,
    out: Path,
    gradient_checkpointing,
    precision: str = "auto",
    lora_dropout: float = 0.05,
):
    """This project's trainer pieces, exactly as `corpus-ft train` assembles them (settings resolved the same way)."""
    from transformers import AutoTokenizer

    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import DTYPES, load_model, make_trainer, resolve_settings, sft_config

    config = TrainConfig(
        model=str(path),
        method=method,
        seq_len=seq,
        micro_batch=mb,
        grad_accum=1,
        max_steps=steps,
        gradient_checkpointing=gradient_checkpointing,
        save_steps=10**6,
        eval_steps=10**6,
        logging_steps=1,
        lora_dropout=lora_dropout,
        precision=precision,
    )
    settings = resolve_settings(config, device)
    config, dtype = settings.config, DTYPES[settings.config.precision]
    args = sft_config(config, out, dtype, device, has_eval=False, progress=False)
    model = load_model(str(path), config, device, dtype)
    trainer = make_trainer(model, config, args, AutoTokenizer.from_pretrained(path), data, callbacks=[timer])
    trainer.model.train()
    trainer.train()
    memory = settings.memory
    return {
        "ckpt": bool(config.gradient_checkpointing),
        "liger": bool(args.use_liger_kernel),
        "precision": config.precision,
        "lora_dropout": lora_dropout,
        "estimated_gib": round(memory.estimate.required_gib, 3) if memory and memory.device == device else None,
    }


def _rss_gib(field: str) -> float | None:
    """VmHWM (peak) or VmRSS (now) of this process, in GiB; None where /proc is not Linux's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) * 1024 / GIB, 3)
    except OSError:
        pass
    return None


def defaults(device: str, method: str, seq: int | None, micro_batches) -> tuple[str, int, tuple[int, ...]]:
    """Sizes for the device: the GPU goals' seq 2048 x mb 1,4 and QLoRA; on the CPU LoRA at 256 x 4 (a step in seconds)."""
    if method == "auto":
        method = "qlora" if device == "cuda" else "lora"  # bitsandbytes' CPU 4-bit is slow and saves nothing small
    return (
        method,
        seq or (2048 if device == "cuda" else 256),
        tuple(micro_batches or ((1, 4) if device == "cuda" else (4,))),
    )


def bench_train(
    shape: str = "tiny",
    method: str = "auto",
    seq: int | None = None,
    micro_batches=None,
    steps: int = 3,
    warmup: int = 1,
    gradient_checkpointing="auto",
    which=("guide", "corpus-ft"),
    model: str | None = None,
    precision: str = "auto",
    lora_dropout: float = 0.05,
) -> list[dict]:
    """One row per (recipe, micro-batch): tokens/s (median of timed steps), mean loss, peak memory (GPU or RSS).

    `precision` and `lora_dropout` are the corpus-ft side's (the guide's are its own: fp32 on the CPU, 0.05);
    `which` may name a recipe twice (`corpus-ft:fp32,corpus-ft:bf16,...`) to interleave precisions A, B, A, B.
    """
    offline_env()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    method, seq, micro_batches = defaults(device, method, seq, micro_batches)
    if model is not None:
        from corpus_ft.model.load import resolve

        path, name = Path(resolve(model)), model
    else:
        path, name = shape_dir(shape), shape
    rows = []
    for mb in micro_batches:
        for entry in which:
            recipe, _, side_precision = entry.partition(":")
            job = (
                recipe,
                path,
                name,
                model is not None,
                method,
                seq,
                mb,
                steps,
                warmup,
                device,
                gradient_checkpointing,
                side_precision or precision,
                lora_dropout,
            )
            rows.append(_side(*job) if device == "cuda" else _in_fresh_process(job))
    for o in rows:  # the ratios the goals are stated in: each corpus-ft row against the guide's
        # nearest guide row of its micro-batch in run order, so that interleaved rows share the machine's load
        guides = [r for r in rows if r["recipe"] == "guide" and r["mb"] == o["mb"]]
        if o["recipe"] != "corpus-ft" or not guides:
            continue
        g = min(guides, key=lambda r: abs(rows.index(r) - rows.index(o)))
        o["speedup_vs_guide"] = round(o["tok_s"] / g["tok_s"], 2)
        o["cpu_vs_guide"] = round(o["cpu_s"] / g["cpu_s"], 2) if g["cpu_s"] else None
        for key in ("peak_alloc_gib", "peak_rss_gib"):
            if g[key] and o[key]:
                o["memory_vs_guide"] = round(o[key] / g[key], 2)
    return rows


def _in_fresh_process(job: tuple) -> dict:
    """Run one side in a spawned process: its peak RSS is its own, and neither side inherits the other's heap."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_side, *job).result()


def _side(
    recipe: str,
    path: Path,
    name: str,
    real: bool,
    method: str,
    seq: int,
    mb: int,
    steps: int,
    warmup: int,
    device: str,
    gradient_checkpointing,
    precision: str = "auto",
    lora_dropout: float = 0.05,
) -> dict:
    """Train one recipe for warmup + steps optimizer steps and measure it."""
    import torch

    n = mb * (steps + warmup)
    data = (
        _text_rows(path, n, seq)
        if real
        else _rows(n, seq, json.loads((path / "config.json").read_text())["vocab_size"])
    )
    timer = _timer(device)
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    rss0 = _rss_gib("VmRSS")  # imports and data, before the model loads
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"corpus-ft-bench-{os.getpid()}"
    if recipe == "guide":
        extra = _guide(path, method, seq, mb, steps + warmup, device, data, timer, out)
    else:
        extra = _ours(
            path,
            method,
            seq,
            mb,
            steps + warmup,
            device,
            data,
            timer,
            out,
            gradient_checkpointing,
            precision,
            lora_dropout,
        )
    timed = timer.times[warmup:] or timer.times
    losses = timer.losses  # every step: both sides see the same rows overall, in their own order
    row = {
        "recipe": recipe,
        "model": name,
        "weights": "real" if real else "random",
        "method": method,
        "seq": seq,
        "mb": mb,
        **extra,
        "tok_s": round(mb * seq / statistics.median(timed), 1),
        "step_s": round(statistics.median(timed), 4),
        "cpu_s": round(statistics.median(timer.cpu[warmup:] or timer.cpu), 4),
        "loss": round(statistics.mean(losses), 4) if losses else None,
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "peak_alloc_gib": None,
        "peak_reserved_gib": None,
        "peak_rss_gib": None,
        "rss_before_gib": None,
    }
    if device == "cuda":
        row["peak_alloc_gib"] = round((torch.cuda.max_memory_allocated() - base) / GIB, 3)
        row["peak_reserved_gib"] = round((torch.cuda.max_memory_reserved() - base) / GIB, 3)
    else:
        row["peak_rss_gib"], row["rss_before_gib"] = _rss_gib("VmHWM"), rss0
        if row.get("estimated_gib") and row["peak_rss_gib"]:  # the estimator's RAM plan against what the OS saw
            row["rss_vs_estimate"] = round(row["peak_rss_gib"] / row["estimated_gib"], 2)
    del data, timer
    gc.collect()
    return row


def format_table(rows: list[dict], steps: int) -> str:
    """Both recipes side by side: tokens/s, mean loss of the timed steps, peak memory, and the ratio to the guide."""
    r0 = rows[0]
    lines = [
        f"{r0['model']} ({r0['weights']} weights) {r0['method']} seq {r0['seq']} on {r0['device']}; "
        f"median of {steps} timed steps",
        f"  {'recipe':<9} {'mb':>3} {'tokens/s':>9} {'CPU s/step':>10} {'loss':>8} {'ckpt':<5} {'peak memory':<34} vs guide",
    ]
    for r in rows:
        if r["peak_alloc_gib"] is not None:
            mem = f"{r['peak_alloc_gib']:.2f} alloc / {r['peak_reserved_gib']:.2f} reserved GiB"
        elif r["peak_rss_gib"] is not None:
            mem = f"RSS {r['peak_rss_gib']:.2f} GiB (from {r['rss_before_gib']:.2f})"
        else:
            mem = "not measured"
        loss = f"{r['loss']:.4f}" if r["loss"] is not None else "-"
        ratio = f"{r['speedup_vs_guide']}x speed, {r['cpu_vs_guide']}x CPU time" if "speedup_vs_guide" in r else ""
        if "memory_vs_guide" in r:
            ratio += f", {r['memory_vs_guide']}x memory"
        if r.get("estimated_gib"):
            mem += f" est {r['estimated_gib']:.2f}"
        if r.get("precision"):
            ratio = f"{r['precision']} " + ratio
        lines.append(
            f"  {r['recipe']:<9} {r['mb']:>3} {r['tok_s']:>9,.0f} {r['cpu_s']:>10.2f} {loss:>8} {str(r['ckpt']):<5} "
            f"{mem:<34} {ratio}"
        )
    return "\n".join(lines)


PROFILE_KINDS = (  # operator name fragments -> the kind of work the profile table groups them into
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("attention", ("scaled_dot_product", "flash_attention")),
    ("loss (log-softmax, nll)", ("log_softmax", "nll_loss", "cross_entropy")),
    ("dropout", ("dropout", "bernoulli")),
    ("optimizer (fused AdamW)", ("_fused_adamw", "adamw")),
    ("copies and casts", ("aten::copy_", "aten::_to_copy", "aten::clone", "aten::cat")),
    ("element-wise", ("aten::mul", "aten::add", "aten::silu", "aten::rsqrt", "aten::pow", "aten::mean", "aten::div")),
    ("element-wise", ("aten::neg", "aten::sigmoid", "aten::sub", "aten::sum", "aten::where", "aten::sqrt")),
    ("element-wise", ("aten::fill_", "aten::zero_", "aten::embedding")),
)


def profile_step(model: str = "smollm2-135m-instruct", seq: int = 128, mb: int = 2, lora_dropout: float = 0.0) -> str:
    """torch.profiler over one training step of the trainer's own pieces (after one warm-up step), by kind.

    The data side (collator) is timed separately: it runs before the step, outside the profiled region.
    """
    offline_env()
    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import AutoTokenizer

    from corpus_ft.model.load import resolve
    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import DTYPES, load_model, make_trainer, resolve_settings, sft_config

    path = Path(resolve(model))
    config = TrainConfig(
        model=str(path),
        method="lora",
        seq_len=seq,
        micro_batch=mb,
        grad_accum=1,
        max_steps=1,
        lora_dropout=lora_dropout,
    )
    settings = resolve_settings(config, "cpu")
    config, dtype = settings.config, DTYPES[settings.config.precision]
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"corpus-ft-profile-{os.getpid()}"
    args = sft_config(config, out, dtype, "cpu", has_eval=False, progress=False)
    data = _text_rows(path, 2 * mb, seq)
    trainer = make_trainer(
        load_model(str(path), config, "cpu", dtype), config, args, AutoTokenizer.from_pretrained(path), data
    )
    trainer.create_optimizer_and_scheduler(num_training_steps=2)
    batches = iter(trainer.get_train_dataloader())
    model_ = trainer.model.train()

    def step(batch):
        loss = trainer.compute_loss(model_, batch)
        loss.backward()
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    step(next(batches))
    t0 = time.perf_counter()
    batch = next(batches)
    data_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        loss = step(batch)
    wall = time.perf_counter() - t0
    totals: dict[str, float] = {}
    for e in prof.key_averages():
        kind = next((k for k, names in PROFILE_KINDS if any(n in e.key for n in names)), "other")
        totals[kind] = totals.get(kind, 0.0) + e.self_cpu_time_total / 1e6
    all_s = sum(totals.values()) or 1.0
    lines = [
        f"{path.name} lora r{config.lora_r} dropout {lora_dropout} {config.precision}, {mb} x {seq} tokens, "
        f"{torch.get_num_threads()} threads: step {wall:.2f} s wall (profiled), loss {loss:.4f}; data {data_s * 1000:.1f} ms",
        "| kind | self CPU s | share |",
        "| --- | ---: | ---: |",
    ]
    for kind, secs in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {secs:.2f} | {100 * secs / all_s:.1f}% |")
    shutil.rmtree(out, ignore_errors=True)
    return "\n".join(lines)
