"""GPU-memory estimate for a fine-tuning run, and the trainer's pre-flight that refuses a run that won't fit.

The model is physical: bytes per parameter for weights (NF4 + double-quant constants, bf16
embeddings), adapters, gradients and optimizer states; bytes per token per layer for the
saved activations (checked against a real layer's saved tensors); the logits/loss buffers.
A few constants are fitted to measurements (`docs/calibration/`): how many layers' worth of
activations are live at the peak with and without gradient checkpointing, how many fp32 copies
of the logits the un-fused loss keeps, and the allocator's cache. `corpus-ft bench estimate`
prints the residuals against every measured point and the refitted constants.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from corpus_ft.estimate.hardware import cpu_bf16, free_ram_bytes
from corpus_ft.estimate.shapes import PRESETS, ModelShape, load_shape
from corpus_ft.gpus import GIB, parse_gpu
from corpus_ft.settings import ATTENTIONS, METHODS, OPTIMIZERS, SHARDINGS
from corpus_ft.train_config import TrainConfig, method_settings
from corpus_ft.util import CorpusFtError, with_run_lock

__all__ = [
    "ESTIMATED_FIELDS",
    "Estimate",
    "EstimateConfig",
    "FitReport",
    "Plan",
    "check_fit",
    "estimate",
    "parse_gpu",
    "plan",
    "preflight",
    "print_plan",
    "run_estimate",
    "write_estimate",
    "load_shape",
    "PRESETS",
    "NO_FIT_EXIT",
]

NO_FIT_EXIT = 3  # exit code of `corpus-ft estimate --gpu` and of `train`'s pre-flight when it does not fit

# --- fitted constants (docs/calibration/README.md; re-check with `corpus-ft bench estimate`) ---
CKPT_LAYERS = 1.46  # with checkpointing: the recomputed layer (1) + its gradients during its backward, in layers
NOCKPT_LAYERS = 1.22  # without: every layer's saved tensors (1) + backward's transients, per layer
LOGIT_COPIES_FP32 = 4  # un-fused loss, fp32 lm_head (guide recipe's upcast): logits, log-softmax, 2 grads
LOGIT_COPIES_BF16 = 3  # un-fused loss, bf16 lm_head: .float() copy, log-softmax, grad (+ the bf16 logits)
# Allocator cache beyond the peak: GiB + fraction of activations (checkpointed lora, checkpointed qlora, no checkpointing)
RESERVED_SLACK = (0.14, 0.09, 0.26, 0.04)
CUDA_CONTEXT_GIB = 0.5  # CUDA context + cuBLAS workspace, outside torch's allocator (not in the grid)
# On the CPU the peak is the process's resident set: the tensors plus the runtime (the interpreter with torch,
# transformers, PEFT and TRL imported, the tokenizer, the data, the weights file's pages read while loading).
# Fitted to `corpus-ft bench train --model smollm2-135m-instruct` (peak RSS 2.94 GiB checkpointed, 5.23 GiB not:
# -2% and +1% with this constant; docs/estimate.md).
CPU_RUNTIME_GIB = 1.5

SEVEN = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class EstimateConfig(BaseModel):
    """The recipe's `estimate:` section: what GPU to plan for (the rest comes from `train:`)."""

    model_config = ConfigDict(extra="forbid")

    gpu: str | None = Field(
        None,
        description=(
            "GPU to check the fit against: a size ('24GiB') or a name ('A100-80', 'RTX 4090'). "
            "Unset: train's `gpu`, else the visible GPU, else no fit check."
        ),
    )
    margin_gib: float = Field(0.5, le=1024, ge=0, description="Memory kept free beyond the estimate: higher is safer.")


@dataclass
class Estimate:
    """A breakdown in GiB, the peak torch allocates, and what the GPU must hold (reserved + context)."""

    model: str
    settings: dict[str, Any]
    shape: ModelShape
    num_params: int
    trainable_params: int
    breakdown: dict[str, float]
    peak_allocated_gib: float
    reserved_gib: float
    cuda_context_gib: float
    notes: list[str] = field(default_factory=list)

    @property
    def required_gib(self) -> float:
        """What must fit on one GPU: the allocator's reserve plus the CUDA context."""
        return self.reserved_gib + self.cuda_context_gib

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "shape": self.shape.to_dict(),
            "settings": self.settings,
            "num_params": self.num_params,
            "trainable_params": self.trainable_params,
            "breakdown_gib": {k: round(v, 3) for k, v in self.breakdown.items()},
            "peak_allocated_gib": round(self.peak_allocated_gib, 3),
            "reserved_gib": round(self.reserved_gib, 3),
            "cuda_context_gib": self.cuda_context_gib,
            "required_gib": round(self.required_gib, 3),
            "notes": self.notes,
        }


@dataclass
class FitReport:
    """Whether an estimate fits a GPU, by how much, and what would make it fit."""

    gpu_gib: float
    required_gib: float
    fits: bool
    headroom_gib: float
    max_micro_batch: int  # 0: not even 1 fits at this seq_len
    max_seq_len: int  # 0: not even 128 tokens fit at micro_batch 1... at this micro_batch
    suggestions: list[dict] = field(default_factory=list)  # {"change": {...}, "required_gib": x, "text": "..."}
    margin_gib: float = 0.0  # kept free beyond the estimate when judging the fit

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("gpu_gib", "required_gib", "headroom_gib"):
            d[k] = round(d[k], 3)
        return d


def _targets(target_modules) -> tuple[str, ...]:
    if target_modules in (None, "all-linear", "all_linear"):
        return SEVEN
    names = (target_modules,) if isinstance(target_modules, str) else tuple(target_modules)
    unknown = [n for n in names if n not in SEVEN]
    if unknown:
        raise CorpusFtError(f"target_modules: unknown module(s) {unknown}; choose from {list(SEVEN)} or 'all-linear'")
    return names


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise CorpusFtError(f"{key}: expected one of {list(choices)}, got {value!r}")


def _layer_bytes(
    s: ModelShape,
    resid: int,
    targets: tuple[str, ...],
    lora_dropout: float = 0.0,
    cast_bytes: int = 2,
    mask_bytes: int = 1,
    proj_bytes: int = 2,
    dropped_bytes: int = 2,
) -> int:
    """Bytes per token one decoder layer saves for backward (SDPA/flash attention), its input excluded.

    Residual-stream tensors (the layer's state after attention, the two RMSNorm outputs) take
    `resid` bytes; projection outputs are bf16: q, k, v, attention output (+ fp32 log-sum-exp per
    head), gate, up and SwiGLU output. Each adapted projection (`targets`) also saves its own copy
    of its input: PEFT casts the input to the adapter's fp32 and autocast casts it back to bf16
    (`cast_bytes` 2; 4 without autocast, 0 for full fine-tuning). LoRA dropout > 0 adds a dropped
    bf16 copy and a mask per adapted input (bool on CUDA; the CPU keeps it in bf16, `mask_bytes` 2).
    fp32 training (the CPU without bf16) saves projections in fp32 (`proj_bytes` 4), shares the adapters'
    input with the base layer (`cast_bytes` 0) and drops into an fp32 copy with an fp32 mask (4 + 4).
    `corpus-ft bench estimate --saved-tensors` checks this count against what a real layer saves.
    """
    h, q, kv, f = s.hidden, s.heads * s.hd, s.kv_heads * s.hd, s.ffn
    adapted_inputs = sum(s.linears()[t][0] for t in targets)
    n = 3 * resid * h + proj_bytes * (2 * q + 2 * kv + 3 * f) + 4 * s.heads + cast_bytes * adapted_inputs
    if lora_dropout > 0:
        n += (dropped_bytes + mask_bytes) * adapted_inputs
    return n


def _flce_chunk_tokens(s: ModelShape, tokens: int) -> int:
    """Liger fused linear cross-entropy materialises logits for this many tokens at a time."""
    inc = math.ceil(s.vocab / s.hidden)
    return 1 << max(0, math.ceil(math.log2(max(1, math.ceil(tokens / inc)))))


def method_trainable(s: ModelShape, st: dict) -> int:
    """Trainable parameters of the PEFT methods without LoRA matrices (counted as PEFT 0.21 builds them).

    prefix: a key and a value per virtual token per layer (GQA: kv_heads x head_dim wide), or with
    prefix_projection the embedding + 2-layer MLP that produces them; prompt: one embedding per virtual
    token; ia3: one scale per output feature (per input feature for feed-forward modules).
    """
    n, kv = st["num_virtual_tokens"], s.kv_heads * s.hd
    if st["method"] == "prefix":
        if not st["prefix_projection"]:
            return n * s.layers * 2 * kv
        h, out = st["prefix_hidden_size"], s.layers * 2 * kv
        return n * kv + (kv * h + h) + (h * out + out)
    if st["method"] == "prompt":
        return n * s.hidden
    lin = s.linears()
    return s.layers * sum(
        lin[t][0] if t in st["ia3_feedforward_modules"] else lin[t][1] for t in st["ia3_target_modules"]
    )


def _parameter_bytes(s: ModelShape, st: dict, targets: tuple[str, ...]) -> dict[str, float]:
    """Bytes of weights, adapters, their gradients and optimizer states, and the trainable count."""
    method, precision, upcast, lora_r, optimizer = (
        st[k] for k in ("method", "precision", "upcast", "lora_r", "optimizer")
    )
    low = 4 if precision == "fp32" else 2  # the trainer loads lora/full bases in the compute dtype
    embed_b = 4 if (upcast or precision == "fp32") else 2  # prepare_model_for_kbit_training upcasts these
    nl = s.linear_params
    linear = nl * 0.5 + nl / 64 + nl / 64 / 256 * 4 if method == "qlora" else nl * low  # nf4 + absmax per 64 + per 256
    # embeddings, lm_head and norms are never quantised
    weights = linear + (s.embed_params + s.norm_params) * (embed_b if upcast or method == "qlora" else low)
    if method == "full":  # pure bf16/fp16 training: gradients and AdamW states in the weights' dtype
        trainable, train_b, adapters = s.num_params, low, 0.0
    elif method in ("prefix", "prompt", "ia3"):  # fp32 like LoRA's adapters
        trainable, train_b = method_trainable(s, st), 4
        adapters = trainable * train_b
    else:  # LoRA A and B, fp32 (PEFT casts adapters up)
        lin = s.linears()
        trainable, train_b = s.layers * sum(lora_r * (lin[t][0] + lin[t][1]) for t in targets), 4
        adapters = trainable * train_b
    state_b = {"adamw_torch": 2 * train_b, "paged_adamw_32bit": 8, "adamw_8bit": 2, "paged_adamw_8bit": 2}[optimizer]
    return {
        "weights": weights,
        "adapters": adapters,
        "gradients": trainable * train_b,
        "optimizer": trainable * state_b,
        "trainable": trainable,
        "layer_weights": linear / s.layers,
    }


def _saved_dtypes(st: dict, lora: bool) -> dict[str, int]:
    """Bytes of the tensors a layer saves, by how it computes: GPU autocast, CPU bf16 weights, or fp32."""
    if st["precision"] == "fp32":  # everything fp32; the adapters read the base layer's own input
        return {"cast_bytes": 0, "mask_bytes": 4, "proj_bytes": 4, "dropped_bytes": 4}
    if st["device"] == "cpu":  # bf16 weights, no autocast: PEFT's fp32 copy of each adapted input is kept
        return {"cast_bytes": 4 if lora else 0, "mask_bytes": 2}
    return {"cast_bytes": 2 if lora else 0}


def _activation_bytes(s: ModelShape, st: dict, targets: tuple[str, ...]) -> tuple[float, float]:
    """(activations, logits/loss buffers) live at the peak, in bytes, for the settings `st`."""
    method, nvt = st["method"], st["num_virtual_tokens"]
    # prompt tuning runs its virtual tokens through every layer and the loss; prefix tuning only attends to them
    seq, mb = st["seq_len"] + (nvt if method == "prompt" else 0), st["micro_batch"]
    keys = seq + (nvt if method == "prefix" else 0)
    tokens, fp32, lora = seq * mb, st["upcast"] or st["precision"] == "fp32", method in ("qlora", "lora")
    resid = 4 if fp32 else 2  # residual stream in fp32 after the upcast (fp32 norms) or in fp32 training
    per_token = _layer_bytes(
        s, resid, targets if lora else (), st["lora_dropout"] if lora else 0.0, **_saved_dtypes(st, lora)
    )
    if method == "ia3":  # each scaled output (input, for feed-forward modules) is saved for the scale's gradient
        lin = s.linears()
        per_token += 2 * sum(
            lin[t][0] if t in st["ia3_feedforward_modules"] else lin[t][1] for t in st["ia3_target_modules"]
        )
    layer = tokens * per_token
    if method == "prefix":  # the prefix's keys and values, expanded to the batch, in every layer
        layer += mb * nvt * 2 * s.kv_heads * s.hd * resid
    if st["attention"] == "eager":  # seq x seq probabilities per head: the fp32 softmax and its bf16 copy
        layer += mb * s.heads * seq * keys * 6
    # a 4-D mask: an additive bf16 one for eager, a bool one for SDPA without packing; none when packed padding-free
    mask = 0
    if st["attention"] == "eager" or not st["packing"]:
        mask = mb * seq * keys * (2 if st["attention"] == "eager" else 1)
    if st["liger"]:  # one chunk of logits at a time + the gradient of the hidden states
        logits = tokens * s.hidden * 2 + _flce_chunk_tokens(s, tokens) * s.vocab * (4 if fp32 else 2)
    else:  # micro_batch x seq x vocab, several fp32 copies (+ the bf16 logits when lm_head is bf16)
        logits = tokens * s.vocab * (4 * LOGIT_COPIES_FP32 if fp32 else 4 * LOGIT_COPIES_BF16 + 2)
    if not st["gradient_checkpointing"]:
        return mask + s.layers * NOCKPT_LAYERS * layer, logits
    saved = mask + tokens * s.layers * s.hidden * resid  # each layer's input
    if st["liger"]:
        return saved + CKPT_LAYERS * layer, logits
    # un-fused loss: the peak is at the loss (logits) or in the last layer's recompute, whichever is larger
    return saved + max(CKPT_LAYERS * layer - logits, 0.0), logits


def estimate(
    model: str | os.PathLike | ModelShape,
    *,
    method: str = "qlora",
    seq_len: int = 2048,
    micro_batch: int = 1,
    grad_accum: int = 1,
    lora_r: int = 16,
    target_modules="all-linear",
    gradient_checkpointing: bool = True,
    optimizer: str = "adamw_torch",
    precision: str = "bf16",
    liger: bool = True,
    packing: bool = True,
    num_gpus: int = 1,
    sharding: str = "none",
    lora_dropout: float = 0.0,
    upcast: bool = False,
    attention: str = "sdpa",
    num_virtual_tokens: int = 20,
    prefix_projection: bool = False,
    prefix_hidden_size: int = 512,
    ia3_target_modules=("k_proj", "v_proj", "down_proj"),
    ia3_feedforward_modules=("down_proj",),
    device: str = "cuda",
) -> Estimate:
    """Peak GPU memory of one training step, per GPU, for the trainer this project ships (`device="cpu"`: RAM).

    `upcast=True, liger=False` models the common guide recipe instead: prepare_model_for_kbit_training
    casts embeddings, norms and lm_head to fp32 and the loss materialises fp32 logits.
    """
    shape = load_shape(model)
    _check_choice("method", method, METHODS)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("precision", precision, ("bf16", "fp16", "fp32"))
    _check_choice("sharding", sharding, SHARDINGS)
    _check_choice("attention", attention, ATTENTIONS)
    _check_choice("device", device, ("cuda", "cpu"))
    for key, value in (
        ("seq_len", seq_len),
        ("micro_batch", micro_batch),
        ("grad_accum", grad_accum),
        ("lora_r", lora_r),
        ("num_gpus", num_gpus),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CorpusFtError(f"{key}: must be a positive integer, got {value!r}")
    if num_gpus > 1 and sharding == "none":
        raise CorpusFtError(f"num_gpus={num_gpus} with sharding='none': set sharding to 'ddp' or 'fsdp'")
    targets = _targets(target_modules)
    settings = dict(
        method=method,
        seq_len=seq_len,
        micro_batch=micro_batch,
        grad_accum=grad_accum,
        lora_r=lora_r,
        target_modules=list(targets) if target_modules not in (None, "all-linear") else "all-linear",
        gradient_checkpointing=bool(gradient_checkpointing),
        optimizer=optimizer,
        precision=precision,
        liger=bool(liger),
        packing=bool(packing),
        num_gpus=num_gpus,
        sharding=sharding,
        lora_dropout=lora_dropout,
        upcast=bool(upcast),
        attention=attention,
        num_virtual_tokens=num_virtual_tokens,
        prefix_projection=bool(prefix_projection),
        prefix_hidden_size=prefix_hidden_size,
        ia3_target_modules=list(_targets(ia3_target_modules)),
        ia3_feedforward_modules=list(_targets(ia3_feedforward_modules)),
        device=device,
    )
    notes: list[str] = []
    mem = _parameter_bytes(shape, settings, targets)
    trainable, layer_weights = mem.pop("trainable"), mem.pop("layer_weights")
    if optimizer.startswith("paged"):
        notes.append("paged optimizer states are counted on the GPU; under pressure they page to CPU memory")
    # Sharding: DDP adds gradient buckets; FSDP splits weights, grads and states, gathers one layer at a time.
    comm = 0.0
    if sharding == "ddp" and num_gpus > 1:
        comm = mem["gradients"]
    elif sharding == "fsdp" and num_gpus > 1:
        comm = 2 * layer_weights  # the gathered layer and the prefetched next one
        mem = {k: v / num_gpus for k, v in mem.items()}
        if method == "qlora":
            notes.append("FSDP + QLoRA stores the 4-bit weights in a bf16 container (bnb quant_storage)")
    if method in ("prefix", "prompt", "ia3"):
        notes.append(
            f"{method}: trainable parameters counted as PEFT builds them; its activation terms are "
            "derived, not in the GPU calibration grid"
        )
    if lora_dropout > 0 and method in ("qlora", "lora"):
        notes.append(
            f"lora_dropout={lora_dropout} keeps a dropped copy of every adapted input "
            "(counted exactly; not in the GPU grid)"
        )
    act, logits = _activation_bytes(shape, settings, targets)
    if attention == "eager":
        notes.append("eager attention keeps seq x seq probabilities per head and layer (not in the calibration grid)")
    # Dequantising a 4-bit weight to bf16 for each matmul: the largest one is live at a time.
    workspace = max(i * o for i, o in shape.linears().values()) * 2 if method == "qlora" else 0.0
    # Gradients appear as backward frees activations: LoRA's are live at the peak only when they
    # accumulate over micro-batches; full fine-tuning's can outgrow the activations they replace.
    grads = mem["gradients"]
    if grad_accum == 1:
        grads = max(0.0, grads - act - logits) if method == "full" else 0.0
    breakdown = {
        "weights": mem["weights"],
        "adapters": mem["adapters"],
        "gradients": grads,
        "optimizer": mem["optimizer"],
        "activations": act,
        "logits": logits,
        "buffers": workspace + comm,
    }
    peak = sum(breakdown.values())
    breakdown = {k: v / GIB for k, v in breakdown.items()}
    frac = RESERVED_SLACK[3] if not gradient_checkpointing else RESERVED_SLACK[2 if method == "qlora" else 1]
    reserved = peak / GIB + RESERVED_SLACK[0] + frac * (act + logits) / GIB
    context = CUDA_CONTEXT_GIB
    if device == "cpu":  # resident set: the tensors and the runtime; no caching allocator, no CUDA context
        reserved, context = peak / GIB + CPU_RUNTIME_GIB, 0.0
        notes.append(f"CPU: RAM = tensors + {CPU_RUNTIME_GIB:g} GiB of runtime (Python, torch, transformers, data)")
    if PRESETS.get(shape.name) is shape:
        notes.append(f"shape from the built-in preset {shape.name!r}")
    return Estimate(
        model.name if isinstance(model, ModelShape) else str(model),
        settings,
        shape,
        shape.num_params,
        trainable,
        breakdown,
        peak / GIB,
        reserved,
        context,
        notes,
    )


def _rerun(est: Estimate, **change) -> Estimate:
    return estimate(est.shape, **{**est.settings, **change})


def _largest(fits, lo: int, hi: int) -> int:
    """Largest n in [lo, hi] with fits(n) (monotone), or lo - 1 when none does."""
    if not fits(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def _suggestions(est: Estimate, budget: float, max_micro_batch: int) -> list[dict]:
    """Single changes that make the run fit, cheapest in speed and quality first."""
    st, out = est.settings, []
    candidates: list[tuple[dict, str]] = []
    if not st["gradient_checkpointing"]:
        candidates.append(({"gradient_checkpointing": True}, "turn gradient checkpointing on (~25-30% slower)"))
    if not st["liger"]:
        candidates.append(({"liger": True}, "use the Liger kernels (pip install liger-kernel): no full logits"))
    if st["upcast"]:
        candidates.append(({"upcast": False}, "keep embeddings and lm_head in bf16 (no fp32 upcast)"))
    if st["micro_batch"] > 1:  # the largest micro-batch that divides the current one and fits
        mb, ga = st["micro_batch"], st["grad_accum"]
        d = next((d for d in range(min(max_micro_batch, mb - 1), 1, -1) if mb % d == 0), 1)
        candidates.append(
            (
                {"micro_batch": d, "grad_accum": ga * mb // d},
                f"micro_batch {d} x grad_accum {ga * mb // d}: same effective batch, slower",
            )
        )
    if st["method"] == "lora":
        candidates.append(({"method": "qlora"}, "qlora instead of lora: 4-bit base weights"))
    if st["method"] == "full":
        candidates.append(({"method": "lora"}, "lora instead of full fine-tuning"))
        candidates.append(({"method": "qlora"}, "qlora instead of full fine-tuning"))
    if st["optimizer"] in ("adamw_torch", "paged_adamw_32bit"):
        candidates.append(({"optimizer": "paged_adamw_8bit"}, "8-bit paged AdamW (bitsandbytes)"))
    if st["lora_dropout"] > 0 and st["method"] in ("qlora", "lora"):
        candidates.append(({"lora_dropout": 0.0}, "lora_dropout 0: no dropped copies of the adapter inputs"))
    for change, text in candidates:
        required = _rerun(est, **change).required_gib
        if required <= budget:
            out.append({"change": change, "required_gib": round(required, 2), "text": text})
    # No single change is enough: everything at once.
    combo = {k: v for change, _ in candidates for k, v in change.items() if k != "method"}
    if st["method"] != "qlora":
        combo["method"] = "qlora"
    if not out and combo and (required := _rerun(est, **combo).required_gib) <= budget:
        out.append(
            {
                "change": combo,
                "required_gib": round(required, 2),
                "text": "all of: " + ", ".join(f"{k}={v}" for k, v in combo.items()),
            }
        )
    # Still nothing: the fewest GPUs of this size that fit it with FSDP.
    for n in (2, 4, 8, 16) if not out and st["num_gpus"] == 1 else ():
        change = {"num_gpus": n, "sharding": "fsdp"}
        if (required := _rerun(est, **change).required_gib) <= budget:
            out.append(
                {
                    "change": change,
                    "required_gib": round(required, 2),
                    "text": f"FSDP over {n} GPUs of this size (per GPU)",
                }
            )
            break
    return out


def check_fit(est: Estimate, gpu: str | int | float, *, margin_gib: float = 0.0) -> FitReport:
    """Does `est` fit on `gpu` (a name, a size or bytes)? If not: the largest batch/length that do and fixes."""
    gpu_gib = parse_gpu(gpu) / GIB
    budget = gpu_gib - margin_gib
    st = est.settings
    fits = est.required_gib <= budget
    max_mb = _largest(lambda n: _rerun(est, micro_batch=n).required_gib <= budget, 1, max(64, st["micro_batch"]))
    steps = _largest(lambda n: _rerun(est, seq_len=128 * n).required_gib <= budget, 1, max(1024, st["seq_len"] // 128))
    report = FitReport(
        gpu_gib,
        est.required_gib,
        fits,
        gpu_gib - est.required_gib,
        max(0, max_mb),
        128 * max(0, steps),
        margin_gib=margin_gib,
    )
    if not fits:
        report.suggestions = _suggestions(est, budget, report.max_micro_batch)
    return report


# The TrainConfig fields the estimator reads (`corpus-ft estimate` offers exactly these as options).
ESTIMATED_FIELDS = (
    "method",
    "seq_len",
    "micro_batch",
    "grad_accum",
    "lora_r",
    "target_modules",
    "lora_dropout",
    "num_virtual_tokens",
    "prefix_projection",
    "prefix_hidden_size",
    "ia3_target_modules",
    "ia3_feedforward_modules",
    "gradient_checkpointing",
    "optimizer",
    "precision",
    "liger",
    "packing",
    "attn_implementation",
    "num_gpus",
    "sharding",
    "gpu",
)
FASTEST_MARGIN = 0.10  # checkpointing goes off only when the run fits without it with this share of the GPU to spare


@dataclass
class Plan:
    """The estimator's one answer for a training config on a model: the settings it planned, the breakdown, the fit."""

    config: TrainConfig  # gradient_checkpointing, precision and liger resolved as a run on the device resolves them
    estimate: Estimate
    fit: FitReport | None  # None: no GPU to check against (none named, none visible)

    @property
    def device(self) -> str:
        return self.estimate.settings["device"]

    def to_dict(self) -> dict:
        return {**self.estimate.to_dict(), "fit": self.fit.to_dict() if self.fit else None}

    def headline(self) -> str:
        """One line, the same in `corpus-ft estimate` and `train`'s pre-flight: what it needs and whether it fits."""
        st, e = self.estimate.settings, self.estimate
        line = (
            f"{e.model}: {st['method']}, seq_len {st['seq_len']} x micro_batch {st['micro_batch']}, checkpointing "
            f"{'on' if st['gradient_checkpointing'] else 'off'}, liger {'on' if st['liger'] else 'off'}: "
            + (
                f"{st['precision']} on the CPU, tensors {e.peak_allocated_gib:.2f} GiB, RAM needed {e.required_gib:.2f} GiB"
                if self.device == "cpu"
                else f"peak allocated {e.peak_allocated_gib:.2f} GiB, GPU memory needed {e.required_gib:.2f} GiB"
            )
        )
        if self.fit is not None:
            where = " free RAM" if self.device == "cpu" else ""
            line += f"; {'fits' if self.fit.fits else 'does NOT fit'} in {self.fit.gpu_gib:.1f} GiB{where}"
            line += f" keeping {self.fit.margin_gib:g} GiB free" if self.fit.margin_gib else ""
        return line


def _estimate_kwargs(config: TrainConfig) -> dict:
    """estimate() keyword arguments from a resolved TrainConfig: every value comes from the config."""
    kw = {name: getattr(config, name) for name in ESTIMATED_FIELDS if name not in ("gpu", "attn_implementation")}
    return {**kw, "attention": config.attn_implementation}


def resolve_for_device(config: TrainConfig, device: str = "cuda") -> TrainConfig:
    """precision and liger as `train` resolves 'auto': on a GPU bf16 and Liger when liger-kernel is installed;
    on the CPU bf16 where it has native bf16 (`hardware.cpu_bf16`), else fp32, and no Liger (Triton kernels)."""
    import importlib.util

    config, _ = method_settings(config)
    update = {}
    if config.precision == "auto":
        if device == "cuda":
            update["precision"] = "bf16"
        else:  # a full fine-tune on the CPU keeps fp32 weights: every one of them is trained
            update["precision"] = "bf16" if config.method != "full" and cpu_bf16()[0] else "fp32"
    if config.liger == "auto":
        update["liger"] = device == "cuda" and importlib.util.find_spec("liger_kernel") is not None
    return config.model_copy(update=update)


def plan(
    config: TrainConfig,
    shape: ModelShape | None = None,
    *,
    gpu: str | int | float | None = None,
    margin_gib: float | None = None,
    upcast: bool = False,
    device: str = "cuda",
) -> Plan:
    """THE estimator entry point: `corpus-ft estimate`, train's pre-flight, `run` and bench all call it.

    `shape` defaults to `config.model`'s; the GPU is `gpu`, else `config.gpu`, else the visible one, else
    none (no fit verdict), with `margin_gib` kept free (default: EstimateConfig's). gradient_checkpointing 'auto' is off when the run fits without it with
    FASTEST_MARGIN to spare, else on (on without a GPU to check). `upcast` models the guide recipe.
    `device="cpu"` plans the process's RAM against the machine's free memory (MemAvailable) instead.
    """
    shape = shape if shape is not None else load_shape(config.model)
    gpu = gpu if gpu is not None else config.gpu
    if device == "cpu":
        budget = free_ram_bytes()
    else:
        budget = parse_gpu(gpu) if gpu else _visible_gpu_bytes()
    cfg = resolve_for_device(config, device)
    if cfg.gradient_checkpointing == "auto":
        on = True
        if budget is not None:
            without = estimate(
                shape,
                **_estimate_kwargs(cfg.model_copy(update={"gradient_checkpointing": False})),
                upcast=upcast,
                device=device,
            )
            on = without.required_gib > (budget / GIB) * (1 - FASTEST_MARGIN)
        cfg = cfg.model_copy(update={"gradient_checkpointing": on})
    est = estimate(shape, **_estimate_kwargs(cfg), upcast=upcast, device=device)
    est.model = str(config.model)
    margin = EstimateConfig().margin_gib if margin_gib is None else margin_gib
    fit = check_fit(est, budget, margin_gib=margin) if budget is not None else None
    return Plan(cfg, est, fit)


def _known_shape(model: str) -> ModelShape | None:
    """The model's shape, or None (with a warning) for a hub id whose config is not cached yet.

    Training may download such a model; the pre-flight must not block it for want of a config.
    """
    try:
        return load_shape(model)
    except CorpusFtError:
        text = str(model)
        if "/" in text and not Path(text).expanduser().exists() and not text.startswith((".", "/", "~")):
            warnings.warn(
                f"memory pre-flight skipped: no cached config.json for {text!r} and no preset; "
                "run `corpus-ft estimate` with a preset of the same shape to check the fit",
                stacklevel=2,
            )
            return None
        raise


def _visible_gpu_bytes() -> int | None:
    """Memory this process can use on the current CUDA GPU (free + the context it already holds), or None."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info()
    return int(free + CUDA_CONTEXT_GIB * GIB)


def format_no_fit(est: Estimate, report: FitReport) -> str:
    """The message a user reads when the run does not fit: the breakdown and the fixes."""
    parts = [
        f"{est.model} ({est.settings['method']}, seq_len {est.settings['seq_len']}, "
        f"micro_batch {est.settings['micro_batch']}) needs ~{report.required_gib:.1f} GiB, "
        f"the GPU has {report.gpu_gib:.1f} GiB",
        "breakdown: " + ", ".join(f"{k} {v:.2f}" for k, v in est.breakdown.items() if v > 0.005),
    ]
    if report.max_micro_batch:
        parts.append(f"largest micro_batch that fits: {report.max_micro_batch}")
    if report.max_seq_len:
        parts.append(f"largest seq_len that fits at micro_batch {est.settings['micro_batch']}: {report.max_seq_len}")
    if report.suggestions:
        parts.append(
            "settings that fit: " + "; ".join(f"{s['text']} (~{s['required_gib']:.1f} GiB)" for s in report.suggestions)
        )
    else:
        parts.append("no single setting makes it fit: use a bigger GPU, more GPUs with fsdp, or a smaller model")
    return "; ".join(parts)


def preflight(config: TrainConfig, say: Callable[[str], None] | None = None, *, device: str = "cuda") -> Plan | None:
    """Before training: plan, tell `say` the headline, and refuse (CorpusFtError, exit 3) a run that won't fit.

    Plans for `config.gpu` when set, else the visible CUDA GPU; None when there is no GPU to
    check against or the model's shape is unknown offline (an uncached hub id). `device="cpu"` plans
    RAM against the free memory and warns instead of refusing (free memory on a shared machine moves).
    """
    if device == "cuda" and not config.gpu and _visible_gpu_bytes() is None:
        return None
    try:
        shape = _known_shape(config.model)
    except CorpusFtError as e:
        if device != "cpu":
            raise
        # the RAM plan only advises a CPU run: a config the estimator cannot read (not Llama-style) skips it
        (say or (lambda _: None))(f"memory pre-flight skipped: {e}")
        return None
    if shape is None:
        return None
    p = plan(config, shape, device=device)
    if say is not None:
        say(p.headline())
    if p.fit is not None and not p.fit.fits:
        if device == "cpu":
            if say is not None:
                say("warning: the estimate exceeds the free RAM; " + format_no_fit(p.estimate, p.fit))
            return p
        raise CorpusFtError("does not fit: " + format_no_fit(p.estimate, p.fit), exit_code=NO_FIT_EXIT)
    return p


@with_run_lock("estimate", "run_dir")
def write_estimate(run_dir: str | os.PathLike, p: Plan) -> Path:
    """RUN_DIR/estimate.json, written atomically (what the trainer's summary compares its measured peak with)."""
    from corpus_ft.util import atomic_write_json

    return atomic_write_json(Path(run_dir) / "estimate.json", p.to_dict())


def _labels(st: dict) -> dict[str, str]:
    """What each breakdown key holds, for people."""
    return {
        "weights": "weights ("
        + {"qlora": "nf4 + double-quant constants, bf16 embeddings", "full": "trained"}.get(
            st["method"], "base, frozen"
        )
        + ")",
        "adapters": {
            "prefix": "prefix keys/values (fp32)",
            "prompt": "virtual-token embeddings (fp32)",
            "ia3": "IA3 scales (fp32)",
        }.get(st["method"], "LoRA adapters (fp32)"),
        "gradients": "gradients live at the peak",
        "optimizer": f"optimizer states ({st['optimizer']})",
        "activations": (
            "activations: checkpointed layer inputs + one layer recomputed"
            if st["gradient_checkpointing"]
            else "activations: every layer saved"
        ),
        "logits": "logits/loss: Liger fused CE chunks" if st["liger"] else "logits/loss: full fp32 logits",
        "buffers": "4-bit dequant / sharding buffers",
    }


def print_plan(p: Plan) -> None:
    """The breakdown as a rich table on stderr, then the headline, the fit verdict and the fixes."""
    from rich.console import Console
    from rich.table import Table

    est, report = p.estimate, p.fit
    st = est.settings
    title = (
        f"{est.model}: {st['method']}, seq_len {st['seq_len']} x micro_batch {st['micro_batch']}, "
        f"checkpointing {'on' if st['gradient_checkpointing'] else 'off'}, liger {'on' if st['liger'] else 'off'}"
    )
    table = Table(title=title)
    table.add_column("component")
    table.add_column("GiB", justify="right")
    labels = _labels(st)
    for name, gib in est.breakdown.items():
        table.add_row(labels.get(name, name), f"{gib:.2f}")
    table.add_row("[bold]peak allocated[/bold]", f"[bold]{est.peak_allocated_gib:.2f}[/bold]")
    table.add_row("allocator reserve (predicted)", f"{est.reserved_gib:.2f}")
    table.add_row("CUDA context", f"{est.cuda_context_gib:.2f}")
    table.add_row("[bold]GPU memory needed[/bold]", f"[bold]{est.required_gib:.2f}[/bold]")
    console = Console(stderr=True)
    console.print(table)
    console.print(f"parameters {est.num_params / 1e9:.2f} B, trainable {est.trainable_params / 1e6:.1f} M")
    for note in est.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(p.headline(), highlight=False, soft_wrap=True)
    if report is None:
        return
    if report.fits:
        console.print(
            f"[green]fits[/green] on {report.gpu_gib:.1f} GiB with {report.headroom_gib:.1f} GiB to spare; "
            f"largest micro_batch {report.max_micro_batch}, largest seq_len {report.max_seq_len}"
        )
        return
    console.print(
        f"[red]does not fit[/red] on {report.gpu_gib:.1f} GiB: needs {report.required_gib:.1f} GiB", highlight=False
    )
    if report.max_micro_batch:
        console.print(f"  largest micro_batch that fits: {report.max_micro_batch}")
    if report.max_seq_len:
        console.print(f"  largest seq_len that fits at micro_batch {st['micro_batch']}: {report.max_seq_len}")
    for s in report.suggestions:
        console.print(f"  fits with: {s['text']} (~{s['required_gib']:.1f} GiB)", highlight=False)
    if not report.suggestions:
        console.print("  no setting makes it fit: a bigger GPU, more GPUs with fsdp, or a smaller model")


def run_estimate(run_dir: str | os.PathLike, train_config: TrainConfig, config: EstimateConfig | None = None) -> Plan:
    """The recipe's estimate stage: plan the train config where it will train, write RUN_DIR/estimate.json.

    The GPU is `config.gpu`, else `train_config.gpu`, else the visible one; with none of them the run trains
    on this CPU, and estimate.json holds the plan `train`'s pre-flight makes there (`run_device`): precision,
    gradient checkpointing and the RAM they need. A run that does not fit is reported (`fit.fits` false), not
    raised: `train`'s pre-flight refuses it on a GPU and warns on the CPU.
    """
    config = config or EstimateConfig()
    built_tiny = Path(run_dir) / "tiny-model"
    if train_config.model == "tiny" and (built_tiny / "config.json").is_file():
        train_config = train_config.model_copy(update={"model": str(built_tiny)})
    device = run_device(config.gpu or train_config.gpu)
    p = plan(train_config, gpu=config.gpu, margin_gib=config.margin_gib, device=device)
    write_estimate(run_dir, p)
    return p


def run_device(gpu: str | int | float | None = None) -> str:
    """Where a run is planned: 'cuda' for a named or visible GPU, else 'cpu' (where `train` then runs)."""
    return "cuda" if gpu or _visible_gpu_bytes() is not None else "cpu"
