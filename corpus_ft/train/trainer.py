"""Fine-tune a causal LM on the run's datasets: QLoRA (default), LoRA or full, with TRL's SFTTrainer.

The recipe reads top to bottom, as torchtune's do: `setup()` resolves everything once into a frozen
`TrainPlan` (config, device, dtype, model, output dir, the estimator's plan, resume checkpoint),
`fit()` loads tokenizer, data and model and trains, `save()` writes the adapter and the records.

Features, in the order `train()` runs them:
- model: a local `save_pretrained` directory, a cached hub id, or the embedded tiny Llama;
  any architecture `AutoModelForCausalLM` loads (Llama family is what the estimator models).
- settings: `resolve_settings` is the one place a value the recipe left open is chosen (the method's
  learning rate, packing, precision, checkpointing, Liger); each choice and its reason is printed in the
  pre-flight line and written to model/manifest.json (`resolved`) and train_result.json.
- memory: `estimate.preflight` refuses a config that will not fit the GPU before anything loads;
  gradient checkpointing is switched off when the estimator says the run fits without it (on the CPU:
  in the machine's free RAM).
- the CPU: bf16 base weights where the CPU multiplies bf16 natively (AVX512-BF16/AMX), fp32 elsewhere;
  LoRA parameters and optimizer state fp32 either way.
- fast path on the GPU: the 4-bit base stays in bf16 (no `prepare_model_for_kbit_training`
  fp32 upcast), non-reentrant checkpointing, Liger kernels when installed, packed padding-free
  batches (best-fit decreasing; position_ids keep packed records from attending to each other).
- data: kinds mixed by weight, review decisions applied, chat loss on assistant tokens only.
- reliability: eval loss every N steps, early stopping, best checkpoint restored at the end;
  checkpoints carry a completion marker and `resume=True` restarts from the last complete one
  (model, optimizer, scheduler, RNG and data position, through HF Trainer); SIGINT/SIGTERM stop at the next
  step with a checkpoint and print the command that resumes (exit 130/143), a second signal aborts.
- metrics: num_tokens and tokens/s from the batches themselves (the project's packed-rows collator counts
  real tokens), put into every log by the trainer's public `log`, so no callback depends on another's order.
- output: `RUN_DIR/model/` (adapter + tokenizer, train_config.json, metrics.jsonl, TensorBoard).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import PrinterCallback, ProgressCallback, Trainer, TrainerCallback
from transformers.integrations import TensorBoardCallback
from trl import SFTConfig, SFTTrainer

from corpus_ft.train.config import TrainConfig, method_settings
from corpus_ft.train.data import kind_weights, load_datasets
from corpus_ft.util import (
    CorpusFtError,
    StoppedBySignal,
    atomic_write_json,
    atomic_write_text,
    manifest,
    offline_env,
    replace_dir,
    with_run_lock,
)

if TYPE_CHECKING:
    from accelerate import PartialState
    from transformers.trainer_utils import TrainOutput

    from corpus_ft.estimate import Plan

log = logging.getLogger(__name__)

TINY_WARNING = (
    "training the TINY RANDOM test model (`--model tiny`): its answers are noise; it exists for tests. "
    "Drop --model to train the real default, smollm2-135m-instruct"
)
COMPLETE = "corpus_ft_complete.json"  # written into a checkpoint after every file of it is on disk
FULL_LR_WARN = 1e-4  # above this a full fine-tune is warned of forgetting (TrainConfig.learning_rate)


# --- the recipe: setup -> fit -> save around one plan -------------------------------------


@dataclass(frozen=True)
class TrainPlan:
    """Everything `setup` resolved before anything heavy loads; `fit` and `save` only read it."""

    run_dir: Path
    config: TrainConfig  # what trains: model resolved, launcher's sharding, checkpointing decided
    resolved: TrainConfig  # what train_config.json records: precision and liger spelled out
    device: str
    dtype: torch.dtype
    model_ref: str
    out: Path  # RUN_DIR/model
    resume_from: Path | None  # the last complete checkpoint when resuming
    resume: bool
    memory: Plan | None  # the estimator's plan (None: no GPU to check against)
    state: PartialState  # this process's rank in the launch
    changes: tuple[dict, ...] = ()  # each value resolve_settings chose: key, given, used, reason

    @property
    def liger(self) -> bool:
        return bool(self.resolved.liger)

    @property
    def gradient_checkpointing(self) -> bool:
        return bool(self.config.gradient_checkpointing)


@dataclass(frozen=True)
class Fitted:
    """What `fit` hands `save`: the trainer after training, HF's result, the data summary, the start time."""

    trainer: CorpusFtTrainer
    result: TrainOutput
    data: dict
    started: float


@with_run_lock("train", "run_dir")
def train(run_dir: str | os.PathLike, config: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict:
    """Fine-tune on RUN_DIR/datasets and write RUN_DIR/model/; returns losses, steps and paths."""
    offline_env()
    plan = setup(Path(run_dir), config, resume)
    with quiet_dataset_bars():
        fitted = fit(plan, progress)
        return save(plan, fitted)


def setup(run_dir: Path, config: TrainConfig, resume: bool) -> TrainPlan:
    """Check the run, resolve model, device, dtype and the estimator's plan; nothing heavy loads yet."""
    from accelerate import PartialState

    if not run_dir.is_dir():
        raise CorpusFtError(f"{run_dir}: run directory not found; run `corpus-ft ingest` and `corpus-ft build` first")
    kind_weights(run_dir, config)  # fail on missing datasets before anything heavy loads
    state = PartialState()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if config.precision == "fp16" and device == "cpu":
        raise CorpusFtError("train.precision=fp16 needs a GPU; use fp32 (or auto) on the CPU")
    if config.method == "qlora" and device == "cpu":
        log.warning(
            "QLoRA on the CPU: bitsandbytes' CPU backend trains 4-bit, but slowly and with no memory "
            "gain on small models; `--method lora` is faster here"
        )
    if config.method == "full" and (config.learning_rate or 0) > FULL_LR_WARN:
        log.warning(
            "full fine-tuning at learning rate %g: every weight moves, and above ~%g a long run tends to "
            "forget what the model knew; 1e-5..2e-5 is usual (the default when unset), and `corpus-ft "
            "evaluate` shows general-text perplexity beside the domain's",
            config.learning_rate,
            FULL_LR_WARN,
        )
    model_ref = resolve_model(run_dir, config.model) if state.is_main_process else None
    state.wait_for_everyone()
    model_ref = model_ref or resolve_model(run_dir, config.model)  # other ranks see the built tiny model
    settings = resolve_settings(from_launcher(config.model_copy(update={"model": model_ref})), device)
    config = resolved = settings.config
    dtype = DTYPES[resolved.precision]
    out = run_dir / "model"
    start = last_complete_checkpoint(out / "checkpoints", clean=False) if resume else None
    return TrainPlan(
        run_dir=run_dir,
        config=config,
        resolved=resolved,
        device=device,
        dtype=dtype,
        model_ref=model_ref,
        out=out,
        resume_from=start,
        resume=resume,
        memory=settings.memory,
        state=state,
        changes=settings.changes,
    )


def fit(plan: TrainPlan, progress: bool) -> Fitted:
    """Tokenizer and data, a fresh (or resumed) model/ directory, the model, the SFTTrainer, and the loop."""
    config = plan.config
    tokenizer = load_tokenizer(plan.model_ref)
    train_ds, eval_ds, data_summary = load_datasets(plan.run_dir, config, tokenizer)
    prepare_output(plan)
    model = load_model(plan.model_ref, config, plan.device, plan.dtype)
    args = sft_config(config, plan.out, plan.dtype, plan.device, eval_ds is not None, progress)
    trainer = make_trainer(model, config, args, tokenizer, train_ds, eval_ds, run_callbacks(plan, eval_ds is not None))
    trainer.add_callback(MetricsLog(plan.out / "metrics.jsonl", plan.device))
    stop = StopOnSignal()
    trainer.add_callback(stop)
    cap_steps(trainer, config)
    if progress:
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(Progress())
    else:  # make, CI, a log: plain lines (step/total, loss, tokens/s, ETA) at least every 30 s
        from corpus_ft.progress import train_callback

        trainer.add_callback(train_callback())
    if plan.device == "cuda":
        torch.cuda.reset_peak_memory_stats()  # this run's peak, not an earlier stage's in the same process
    started = time.monotonic()
    with stop.installed():
        result = trainer.train(resume_from_checkpoint=str(plan.resume_from) if plan.resume_from else None)
    if stop.signum is not None and trainer.state.global_step < trainer.state.max_steps:
        raise stopped(plan, stop.signum, trainer.state.global_step)
    return Fitted(trainer, result, data_summary, started)


class TrainingStopped(StoppedBySignal):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint; exit code 128 + the signal's number."""


def stopped(plan: TrainPlan, signum: int, step: int) -> TrainingStopped:
    """The one line a stopped run prints: where it stopped, the checkpoint, and the command that resumes it."""
    run = shlex.quote(str(plan.run_dir))
    config = shlex.quote(str(plan.out / "train_config.json"))  # the resolved settings, so the resume trains the same
    command = f"corpus-ft train {run} --config {config} --resume"
    if plan.state.num_processes > 1:
        command += f" (under the same launcher, {plan.state.num_processes} processes)"
    checkpoint = last_complete_checkpoint(plan.out / "checkpoints", clean=False)
    return TrainingStopped(
        f"training stopped by {signal.Signals(signum).name} at step {step}; checkpoint {checkpoint}; "
        f"resume with: {command}",
        exit_code=128 + signum,
    )


def cap_steps(trainer, config: TrainConfig) -> None:
    """`max_steps_cap` bounds the epochs' steps from above: a small dataset still gets its one pass, not N passes."""
    if config.max_steps > 0 or config.max_steps_cap <= 0:
        return
    batches = len(trainer.get_train_dataloader())
    steps = math.ceil(config.epochs * max(1, batches // config.grad_accum))
    if steps > config.max_steps_cap:
        trainer.args.max_steps = config.max_steps_cap
        log.warning(
            "train: %g epoch(s) would take %d steps; stopping at train.max_steps_cap=%d",
            config.epochs,
            steps,
            config.max_steps_cap,
        )


def save(plan: TrainPlan, fitted: Fitted) -> dict:
    """The adapter (or full model), then train_result.json and the manifest that mark model/ complete."""
    config, trainer, state = plan.config, fitted.trainer, plan.state
    final = _save_final(trainer, plan.out, "full" if config.method == "full" else "adapter", state)
    start = plan.resume_from
    summary = {
        "output": str(final),
        "method": config.method,
        "model": plan.model_ref,
        "device": plan.device,
        "steps": trainer.state.global_step,
        "train_loss": fitted.result.training_loss,
        "eval_loss": trainer.state.best_metric,  # the kept (best) checkpoint's eval loss; None without validation
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "resumed_from": str(start) if start else None,
        "runtime_s": round(time.monotonic() - fitted.started, 1),
        "data": fitted.data,
        "rank": state.process_index,
        "world_size": state.num_processes,
        "memory": memory_summary(plan.run_dir, plan.device, plan.resolved, plan.memory),
        "settings": list(plan.changes),
    }
    if state.is_main_process:
        atomic_write_json(plan.out / "train_result.json", summary)
        inputs = {f"datasets/{k}": plan.run_dir / "datasets" / k for k in fitted.data}
        decisions = plan.run_dir / "review" / "decisions.jsonl"
        if decisions.is_file():
            inputs["review"] = decisions
        if Path(plan.model_ref).is_dir():
            inputs["model_config"] = Path(plan.model_ref) / "config.json"
        record = manifest("train", inputs, plan.resolved.model_dump())
        record["resolved"] = list(plan.changes)  # what the recipe said, what ran, and why they differ
        atomic_write_json(plan.out / "manifest.json", record)
    return summary


# --- setup's pieces ----------------------------------------------------------------------


def resolve_model(run_dir: Path, name: str) -> str:
    """A loadable model reference: 'tiny' (tests only, built on first use) or what model/load.py resolves."""
    if name == "tiny":  # said on stderr whatever logging is set up to do: nobody may miss it
        print(f"warning: {TINY_WARNING}", file=sys.stderr, flush=True)
        path = run_dir / "tiny-model"
        if not (path / "config.json").is_file():
            from corpus_ft.model.tiny import build_tiny_model

            corpus = run_dir if (run_dir / "units.parquet").is_file() else None
            build_tiny_model(path, corpus_run=corpus)
        return str(path.resolve())
    from corpus_ft.model.load import resolve

    return resolve(name)


DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclass(frozen=True)
class Settings:
    """What `resolve_settings` chose: the config that trains, each change with its reason, the memory plan."""

    config: TrainConfig  # nothing left 'auto' or unset
    changes: tuple[dict, ...]  # {"key", "given", "used", "reason"}: one per value that differs from the recipe's
    memory: Plan | None  # the estimator's plan (None: no shape known offline)

    def line(self) -> str:
        """The pre-flight line: each chosen value and why, e.g. `precision fp32 (the CPU has no avx512_bf16 ...)`."""
        return "; ".join(f"{c['key']} {_show(c['used'])} ({c['reason']})" for c in self.changes)


def _show(value) -> str:
    return (
        {True: "on", False: "off"}.get(value, str(value))
        if isinstance(value, bool)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def resolve_settings(config: TrainConfig, device: str, say=None) -> Settings:
    """THE one place a value the recipe left open (or a method cannot take) is chosen, each with its reason.

    In order: the method's own values (`config.method_settings`: learning rate, packing, prefix checkpointing),
    the compute precision for the device, Liger, and gradient checkpointing from the estimator's plan
    (GPU: refused when it does not fit; CPU: planned against free RAM). The changes go to the pre-flight
    line, model/manifest.json (`resolved`) and train_result.json, so what ran is on record.
    """
    say = say or _say
    config, changes = method_settings(config)
    changes = list(changes)

    def use(key: str, value, reason: str) -> None:
        nonlocal config
        if getattr(config, key) != value:
            changes.append({"key": key, "given": getattr(config, key), "used": value, "reason": reason})
            config = config.model_copy(update={key: value})

    precision, why = resolve_precision(config, device)
    use("precision", precision, why)
    if config.liger == "auto":
        use("liger", use_liger(config, device), "liger-kernel installed and a GPU" if device == "cuda" else "the CPU")
    else:
        use_liger(config, device)  # liger: true without liger-kernel is refused here
    wanted = config.gradient_checkpointing
    memory = memory_plan(config, device, say)
    if wanted == "auto":
        on = memory.config.gradient_checkpointing if memory else device == "cuda"
        use("gradient_checkpointing", on, _checkpointing_reason(memory, on, device))
    settings = Settings(config, tuple(changes), memory)
    if changes:
        say("settings: " + settings.line())
    return settings


def _say(line: str) -> None:
    print(f"pre-flight: {line}", file=sys.stderr, flush=True)


def resolve_precision(config: TrainConfig, device: str) -> tuple[str, str]:
    """The compute dtype `precision` resolves to on `device`, and why (CPU: bf16 only where it is native)."""
    from corpus_ft.estimate import cpu_bf16

    if config.precision == "fp16" and device == "cpu":
        raise CorpusFtError("train.precision=fp16 needs a GPU; use fp32 (or auto) on the CPU")
    if config.precision != "auto":
        return config.precision, "set"
    if device == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "the GPU has bf16"
        return "fp16", "the GPU has no bf16"
    if config.method == "full":
        return "fp32", "full fine-tuning on the CPU keeps fp32 weights (they are all trained)"
    ok, why = cpu_bf16()
    return ("bf16" if ok else "fp32"), why + ("; bf16 base weights, fp32 LoRA and optimizer" if ok else "")


def device_and_dtype(config: TrainConfig) -> tuple[str, torch.dtype]:
    """cuda or cpu, and the compute dtype `precision` resolves to there."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return device, DTYPES[resolve_precision(config, device)[0]]


def memory_plan(config: TrainConfig, device: str, say=None):
    """The estimator's plan (`estimate.preflight`, as `corpus-ft estimate` makes it): on a GPU (or a named
    one) refuse what does not fit; on the CPU plan RAM against the free memory. None: the shape is unknown."""
    from corpus_ft.estimate import preflight

    say = say or _say
    if device == "cuda":
        return preflight(config, say)
    if config.gpu is not None:  # a named GPU is checked anywhere, for the run that will go there
        preflight(config.model_copy(update={"precision": "auto", "liger": "auto"}), say)
    return preflight(config, say, device="cpu")


def _checkpointing_reason(memory, on: bool, device: str) -> str:
    if memory is None:
        return "no memory estimate to decide by" + (": on, the safe side" if on else "")
    if memory.fit is None:
        return "no memory size to check against: on, the safe side"
    room = "free RAM" if device == "cpu" else "GPU"
    verdict = "needed to fit" if on else "fits without it"
    return f"{verdict} in {memory.fit.gpu_gib:.1f} GiB {room} (estimator)"


def fit_plan(config: TrainConfig, device: str):
    """The config to train and the estimator's plan, as `resolve_settings` decides them (bench uses this)."""
    settings = resolve_settings(config, device)
    return settings.config, settings.memory


def from_launcher(config: TrainConfig) -> TrainConfig:
    """Sharding and GPU count as `accelerate launch`/torchrun set them, so the estimator plans per GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true"):
        return config.model_copy(update={"sharding": "fsdp", "num_gpus": world})
    if world > 1 and config.sharding == "none":
        return config.model_copy(update={"sharding": "ddp", "num_gpus": world})
    return config


def load_model(model_ref: str, config: TrainConfig, device: str, dtype: torch.dtype):
    """The base model in the method's form: 4-bit NF4 (qlora), `dtype` weights (lora, full)."""
    from transformers import BitsAndBytesConfig

    from corpus_ft.model.load import load_causal_lm

    kwargs: dict = {"dtype": dtype, "attn_implementation": config.attn_implementation}
    if config.method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            # FSDP shards flat tensors of one dtype: store the packed 4-bit weights as the compute dtype
            bnb_4bit_quant_storage=dtype if config.sharding == "fsdp" else torch.uint8,
        )
    if device == "cuda" and config.sharding != "fsdp":
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    model = load_causal_lm(model_ref, **kwargs)
    model.config.use_cache = False  # the KV cache is useless in training and costs memory
    return model


def load_tokenizer(model_ref: str):
    """The model's tokenizer with a chat template that marks assistant turns for the loss mask."""
    from corpus_ft.model.chat import DEFAULT_CHAT_TEMPLATE, training_chat_template
    from corpus_ft.model.load import load_tokenizer as load_model_tokenizer

    tok = load_model_tokenizer(model_ref)
    if not tok.chat_template:
        log.warning(
            "%s has no chat template; training with corpus-ft's default template (saved with the "
            "adapter, so inference renders the same)",
            model_ref,
        )
        tok.chat_template = DEFAULT_CHAT_TEMPLATE
    else:
        marked = training_chat_template(tok)
        if marked is None:  # a template neither TRL nor the ChatML patch can mark: the documented default
            log.warning(
                "the model's chat template has no {%% generation %%} markers and cannot be patched; "
                "training with corpus-ft's default template (saved with the adapter)"
            )
        tok.chat_template = marked or DEFAULT_CHAT_TEMPLATE
    return tok


def peft_config(config: TrainConfig, base: str | None = None):
    """PEFT's config for the method (None for full): LoRA/DoRA (lora, qlora), IA3, prefix or prompt tuning."""
    import peft

    if config.method == "full":
        return None
    if config.method == "ia3":
        return peft.IA3Config(
            target_modules=config.ia3_target_modules,
            feedforward_modules=config.ia3_feedforward_modules,
            task_type="CAUSAL_LM",
        )
    if config.method == "prefix":
        return peft.PrefixTuningConfig(
            num_virtual_tokens=config.num_virtual_tokens,
            prefix_projection=config.prefix_projection,
            encoder_hidden_size=config.prefix_hidden_size,
            task_type="CAUSAL_LM",
            init_weights="zero" if config.prefix_init == "zero" else None,
        )
    if config.method == "prompt":
        text = config.prompt_init_text
        return peft.PromptTuningConfig(
            num_virtual_tokens=config.num_virtual_tokens,
            task_type="CAUSAL_LM",
            # no text: start from real token embeddings (the prompt-tuning paper's
            # advice); PEFT's RANDOM draws N(0, 1) vectors far off the embedding scale
            prompt_tuning_init="TEXT" if text else "SAMPLE_VOCAB",
            prompt_tuning_init_text=text,
            tokenizer_name_or_path=base if text else None,
        )
    return peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        use_dora=config.use_dora,
        bias="none",
        task_type="CAUSAL_LM",
    )


def use_liger(config: TrainConfig, device: str) -> bool:
    from transformers.utils import is_liger_kernel_available

    if config.liger == "auto":
        return device == "cuda" and is_liger_kernel_available()
    if config.liger and not is_liger_kernel_available():
        raise CorpusFtError(
            "train.liger=true but liger-kernel is not installed; `pip install liger-kernel` or set liger: auto"
        )
    return bool(config.liger)


def checkpointing_args(on: bool) -> dict:
    """Non-reentrant checkpointing, under the argument's name in this transformers version (renamed in 5.2x)."""
    from dataclasses import fields

    key = (
        "activation_checkpointing"
        if any(f.name == "activation_checkpointing" for f in fields(SFTConfig))
        else "gradient_checkpointing"
    )
    return {key: on, f"{key}_kwargs": {"use_reentrant": False}}


def sft_config(
    config: TrainConfig, out: Path, dtype: torch.dtype, device: str, has_eval: bool, progress: bool
) -> SFTConfig:
    """TRL/HF arguments for the resolved config; no autocast on the CPU (bf16 there is bf16 weights, fp32 LoRA)."""
    if has_eval and config.save_steps % config.eval_steps:
        raise CorpusFtError(
            f"train.save_steps ({config.save_steps}) must be a multiple of train.eval_steps "
            f"({config.eval_steps}) so that the best evaluated checkpoint is on disk"
        )
    return SFTConfig(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=config.micro_batch,
        per_device_eval_batch_size=config.micro_batch,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        optim=cpu_optimizer(config.optimizer, device),
        bf16=dtype == torch.bfloat16 and device == "cuda",
        fp16=dtype == torch.float16,
        **checkpointing_args(bool(config.gradient_checkpointing)),
        use_liger_kernel=use_liger(config, device),
        max_length=config.seq_len,
        packing=config.packing and varlen_attention(config),
        packing_strategy="bfd",
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        report_to="none",
        disable_tqdm=not progress,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=device == "cpu",
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
    )


def cpu_optimizer(name: str, device: str) -> str:
    """AdamW as one fused kernel over all adapters on the CPU: the same update, where torch's default CPU
    path launches ~10 small ops per parameter (4,200 for SmolLM2's 420 LoRA matrices), each paying a
    thread hand-off; profiled at 0.6-0.8 s against 3.3-8.1 s per step on the loaded 2-core machine."""
    return "adamw_torch_fused" if name == "adamw_torch" and device == "cpu" else name


# --- callbacks and checkpoints ------------------------------------------------------------


def peak_memory(device: str) -> dict[str, float]:
    """Peak memory so far: GPU allocated and reserved (torch's allocator), or the process's peak RSS on the CPU."""
    from corpus_ft.estimate import GIB

    if device == "cuda":
        return {
            "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / GIB, 3),
            "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / GIB, 3),
        }
    import resource

    return {"peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB, 3)}  # KiB on Linux


def memory_summary(run_dir: Path, device: str, resolved: TrainConfig, memory: Plan | None = None) -> dict:
    """The run's measured peak against the estimate: "estimated 10.4 GiB, measured 10.1 GiB, -3%".

    GPU: against RUN_DIR/estimate.json; CPU: peak RSS against the pre-flight's RAM estimate of this run.
    """
    measured = peak_memory(device)
    path = run_dir / "estimate.json"
    est = json.loads(path.read_text()) if path.is_file() else None
    if device != "cuda":
        if memory is None or memory.device != "cpu":
            return {**measured, "line": f"memory: peak RSS {measured['peak_rss_gib']:.2f} GiB on the CPU"}
        predicted, got = memory.estimate.required_gib, measured["peak_rss_gib"]
        err = 100 * (got / predicted - 1) if predicted else 0.0
        return {
            **measured,
            "estimated_rss_gib": round(predicted, 3),
            "error_pct": round(err, 1),
            "line": f"memory: estimated {predicted:.2f} GiB RAM, measured peak RSS {got:.2f} GiB, {err:+.0f}%",
        }
    if est is None:
        return {
            **measured,
            "line": f"memory: measured {measured['peak_allocated_gib']:.2f} GiB peak allocated; no "
            f"estimate.json to compare (`corpus-ft estimate MODEL --run {run_dir}` writes one)",
        }
    predicted, got = est["peak_allocated_gib"], measured["peak_allocated_gib"]
    err = 100 * (got / predicted - 1) if predicted else 0.0
    keys = ("method", "seq_len", "micro_batch", "grad_accum", "lora_r", "gradient_checkpointing", "liger")
    other = [k for k in keys if k in est["settings"] and est["settings"][k] != getattr(resolved, k)]
    line = (
        f"memory: estimated {predicted:.1f} GiB, measured {got:.1f} GiB peak allocated, {err:+.0f}%"
        f" (reserved: estimated {est['reserved_gib']:.1f}, measured {measured['peak_reserved_gib']:.1f} GiB)"
        + (f"; note: estimate.json was made for other settings ({', '.join(other)})" if other else "")
    )
    return {
        **measured,
        "estimated_allocated_gib": predicted,
        "estimated_reserved_gib": est["reserved_gib"],
        "error_pct": round(err, 1),
        "estimate_settings_differ": other,
        "line": line,
    }


class MetricsLog(TrainerCallback):
    """One JSON line per log in metrics.jsonl (step, loss, eval_loss, lr, tokens_per_s, peak memory), rank 0 only.

    It only reads `logs`: the trainer's `log` puts num_tokens and tokens_per_s there before any callback runs,
    so where this callback sits among the others does not matter.
    """

    def __init__(self, path: Path, device: str = "cpu"):
        self.path, self.device = path, device

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or logs is None:
            return
        row = {"step": state.global_step, "epoch": round(state.epoch or 0, 4), **logs, **peak_memory(self.device)}
        if "learning_rate" in row:
            row["lr"] = row["learning_rate"]
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=float) + "\n")


class Progress(ProgressCallback):
    """The step bar (with its ETA) shows loss and tokens/s; evaluations print one line each."""

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        pass  # no second bar under the step bar: an evaluation takes seconds and prints its line

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not (state.is_world_process_zero and self.training_bar is not None and logs):
            return
        if "eval_loss" in logs:
            self.training_bar.write(f"step {state.global_step}: eval_loss {logs['eval_loss']:.4f}")
        elif "loss" in logs:
            post = {"loss": f"{logs['loss']:.4f}"}
            if "tokens_per_s" in logs:
                post["tok/s"] = f"{logs['tokens_per_s']:,.0f}"
            self.training_bar.set_postfix(post, refresh=False)


class CompletionMarker(TrainerCallback):
    """Ends every checkpoint with a marker once all of its files are on disk, so a crash mid-save is never resumed.

    `on_save` is the public hook HF Trainer calls right after it wrote (and rotated) a checkpoint.
    """

    def on_save(self, args, state, control, **kwargs):
        if args.should_save:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir():
                atomic_write_json(ckpt / COMPLETE, {"step": state.global_step})


class StopOnSignal(TrainerCallback):
    """SIGINT (Ctrl-C) or SIGTERM stops training at the next optimizer step with a checkpoint; a second one aborts.

    The handler only sets a flag (and says so on stderr); `on_step_end`, the step boundary, asks the Trainer to
    save and stop, which it does through its public control flags, so the checkpoint gets its completion marker
    like any other. Under several processes the flag is shared first, so that every rank stops at the same step.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None

    @contextmanager
    def installed(self):
        """The handlers for the span of `trainer.train()`; the previous ones afterwards (signals only reach the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        before = {s: signal.signal(s, self.handle) for s in self.SIGNALS}
        try:
            yield self
        finally:
            for s, handler in before.items():
                signal.signal(s, handler)

    def handle(self, signum, frame) -> None:
        if self.signum is not None:  # the second signal: stop now, as if no handler had been installed
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.signum = signum
        # os.write, not print: the handler may interrupt a write to stderr (the progress bar's)
        os.write(
            2,
            f"\ntrain: {signal.Signals(signum).name}: stopping after this step with a checkpoint "
            f"({signal.Signals(signum).name} again aborts at once)\n".encode(),
        )

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested(args):
            control.should_save = True
            control.should_training_stop = True
            args.load_best_model_at_end = False  # stop promptly: the saved checkpoint is what the resume needs

    def requested(self, args) -> bool:
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return self.signum is not None
        flag = torch.tensor([self.signum or 0], device=args.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() and self.signum is None:
            self.signum = int(flag.item())
        return bool(flag.item())


def batch_tokens(inputs: dict) -> torch.Tensor | int:
    """Real tokens in a batch: PackedRowsCollator's count, the attention mask's sum, or one padding-free row's length."""
    if TOKENS in inputs:
        return inputs.pop(TOKENS)
    if "attention_mask" in inputs:
        return inputs["attention_mask"].sum()
    return inputs["input_ids"].numel()  # TRL's padding-free batch: one row of records end to end, no padding


class TokensInLogs(Trainer):
    """Puts the run's token count and tokens/s into every training log, through the public `Trainer.log`.

    In CorpusFtTrainer's method order it sits after SFTTrainer and before transformers' Trainer: its `log` runs
    once TRL has added its own metrics (its num_tokens, one row's worth for packed rows, is replaced here) and
    before the Trainer hands `logs` to the callbacks, so every callback sees the same figures in any order.
    The count lives in `state.num_input_tokens_seen` (TrainerState's public field, saved with each checkpoint),
    so it carries on across a resume; `include_num_input_tokens_seen` stays "no", so nothing else adds to it.
    """

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:  # a training log; evaluations and the final summary keep their own keys
            total, now = self.state.num_input_tokens_seen, time.monotonic()
            logs["num_tokens"] = total
            since = getattr(self, "tokens_mark", None)
            if since is not None and now > since[0]:
                logs["tokens_per_s"] = round((total - since[1]) / (now - since[0]), 1)
            self.tokens_mark = (now, total)
        if "eval_num_tokens" in logs:  # TRL's train count at the evaluation: the same figure as the logs before it
            logs["eval_num_tokens"] = self.state.num_input_tokens_seen
        super().log(logs, start_time)


class CorpusFtTrainer(SFTTrainer, TokensInLogs):
    """SFTTrainer that counts each batch's real tokens (packed rows included) for num_tokens and tokens/s."""

    def train(self, *args, **kwargs):
        self.tokens_mark = None  # set at the first batch: tokens/s measures training, not setup
        return super().train(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        tokens = batch_tokens(inputs)  # taken out before the model sees the batch
        if self.model.training:
            if getattr(self, "tokens_mark", None) is None:
                self.tokens_mark = (time.monotonic(), self.state.num_input_tokens_seen)
            tokens = torch.as_tensor(tokens, device=self.args.device)
            if self.accelerator.num_processes > 1:
                tokens = self.accelerator.gather(tokens.reshape(1)).sum()
            self.state.num_input_tokens_seen += int(tokens.item())
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def last_complete_checkpoint(checkpoints: Path, *, clean: bool) -> Path | None:
    """The newest checkpoint with its marker; with `clean`, incomplete ones are deleted."""
    done = []
    for d in checkpoints.glob("checkpoint-*") if checkpoints.is_dir() else []:
        if (d / COMPLETE).is_file():
            done.append(d)
        elif clean:
            log.warning("removing incomplete checkpoint %s (the run stopped while writing it)", d)
            shutil.rmtree(d, ignore_errors=True)
    return max(done, key=lambda d: int(d.name.split("-")[-1]), default=None)


def _keep_metrics_upto(path: Path, step: int) -> None:
    """On resume, forget log lines past the checkpoint (trained again) and a line a kill cut short."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            continue
    atomic_write_text(path, "".join(r + "\n" for r in kept))


def varlen_attention(config: TrainConfig) -> bool:
    """Flash-attention kernels take a whole packed batch as one sequence, at the cost of each record alone."""
    return config.attn_implementation.startswith("flash_attention")


TOKENS = "corpus_ft_tokens"  # the batch key PackedRowsCollator counts real tokens under (taken out before the model)


@dataclass(frozen=True)
class PackedRowsCollator:
    """Packed rows for sdpa/eager: position_ids restart at each record and no attention_mask is sent,
    so transformers masks attention per record inside each row (TRL's padding-free batches would be
    one row of micro_batch x seq_len tokens, whose attention costs micro_batch times more here).

    Rows come from `trl.pack_dataset` (input_ids, labels, seq_lengths); padding is right-side, labels -100
    there and at each record's first token (not predicted from the record before it).
    """

    pad_token_id: int

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        shape = (len(examples), width)
        input_ids = torch.full(shape, self.pad_token_id, dtype=torch.long)
        labels = torch.full(shape, -100, dtype=torch.long)
        position_ids = torch.zeros(shape, dtype=torch.long)
        for i, e in enumerate(examples):
            n = len(e["input_ids"])
            input_ids[i, :n] = torch.as_tensor(e["input_ids"], dtype=torch.long)
            labels[i, :n] = torch.as_tensor(e.get("labels", e["input_ids"]), dtype=torch.long)
            position_ids[i, :n] = torch.cat([torch.arange(k) for k in e.get("seq_lengths") or [n]])
        labels[position_ids == 0] = -100
        tokens = sum(len(e["input_ids"]) for e in examples)
        return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids, TOKENS: torch.tensor(tokens)}


def pack_rows(config: TrainConfig, tokenizer, train_ds, eval_ds=None):
    """Datasets and collator: TRL packs for flash kernels; otherwise rows are packed here (best-fit decreasing)."""
    if not config.packing or varlen_attention(config):
        return train_ds, eval_ds, None
    from trl import pack_dataset

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = PackedRowsCollator(pad_token_id=pad)
    eval_ds = None if eval_ds is None else pack_dataset(eval_ds, config.seq_len, "bfd")
    return pack_dataset(train_ds, config.seq_len, "bfd"), eval_ds, collator


def make_trainer(
    model, config: TrainConfig, args: SFTConfig, tokenizer, train_ds, eval_ds=None, callbacks=()
) -> CorpusFtTrainer:
    """The SFTTrainer with LoRA (unless full) and the CPU's fp32 adapters; stdout left free for --json."""
    train_ds, eval_ds, collator = pack_rows(config, tokenizer, train_ds, eval_ds)
    trainer = CorpusFtTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[CompletionMarker(), *callbacks],
        peft_config=peft_config(config, config.model),
    )
    if config.method != "full" and not (args.bf16 or args.fp16):
        # the CPU (no autocast): adapters and so AdamW's states in fp32 over bf16 or fp32 base weights;
        # TRL keeps QLoRA adapters in bf16 (the paper's choice on GPUs, where autocast runs them)
        for p in trainer.model.parameters():
            if p.requires_grad:
                p.data = p.data.float()
    trainer.remove_callback(PrinterCallback)  # prints every log dict to stdout when there is no bar
    return trainer


# --- the steps' helpers -------------------------------------------------------------------


@contextmanager
def quiet_dataset_bars():
    """The map/pack bars of small datasets are noise above the step bar: off while training, restored after."""
    from datasets.utils import logging as ds_logging

    bars = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            ds_logging.enable_progress_bar()


def prepare_output(plan: TrainPlan) -> None:
    """model/ loses its completion records; a fresh run also its checkpoints and metrics, a resumed one later lines."""
    out, checkpoints, state = plan.out, plan.out / "checkpoints", plan.state
    if plan.resume:
        last_complete_checkpoint(checkpoints, clean=state.is_main_process)  # incomplete ones go
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        for record in ("manifest.json", "train_result.json"):  # until this run ends, model/ is not complete
            (out / record).unlink(missing_ok=True)
        if plan.resume and plan.resume_from is None:
            log.warning("--resume: no complete checkpoint under %s; training from step 0", checkpoints)
        if plan.resume_from is None:
            shutil.rmtree(checkpoints, ignore_errors=True)
            (out / "metrics.jsonl").unlink(missing_ok=True)
        else:
            _keep_metrics_upto(out / "metrics.jsonl", int(plan.resume_from.name.split("-")[-1]))
        atomic_write_json(out / "train_config.json", plan.resolved.model_dump())
    state.wait_for_everyone()


def run_callbacks(plan: TrainPlan, has_eval: bool) -> list:
    """TensorBoard under model/tensorboard, and early stopping when there is validation data."""
    tb = TensorBoardCallback()
    tb.logging_dir = str(plan.out / "tensorboard")
    callbacks = [tb]
    if has_eval and plan.config.early_stopping_patience > 0:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=plan.config.early_stopping_patience))
    return callbacks


def _save_final(trainer: SFTTrainer, out: Path, name: str, state) -> Path:
    """Adapter (or full model) + tokenizer, swapped into place only once every rank has written it."""
    final, staging = out / name, out / f".{name}.partial"
    if state.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)
    state.wait_for_everyone()
    trainer.save_model(str(staging))  # collective under FSDP; only rank 0 writes files
    state.wait_for_everyone()
    if state.is_main_process:
        (staging / "training_args.bin").unlink(missing_ok=True)
        replace_dir(staging, final)
    state.wait_for_everyone()
    return final
