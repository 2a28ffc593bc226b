"""The measurements the estimator is held to, and its residuals against them (`corpus-ft bench estimate`)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from corpus_ft.estimate import memory as estimate_module
from corpus_ft.estimate.memory import estimate
from corpus_ft.util import CorpusFtError

GRID = Path(__file__).resolve().parents[2] / "docs" / "calibration" / "h100-memory-grid.jsonl"
# One measured run per line (what `corpus-ft bench train` should write for a re-measure).
GRID_KEYS = ("model", "method", "seq", "mb", "ckpt", "load_gib", "peak_alloc_gib", "peak_reserved_gib")

# The reference points (seq 2048, LoRA r16 on all seven projections, checkpointing on).
# kind "load": weights after loading; "peak": peak allocated during training.
REFERENCE_POINTS = [
    dict(what="load", model="llama-3-8b", method="qlora", gib=5.38),
    dict(what="load", model="llama-3-8b", method="lora", gib=15.02),
    dict(what="load", model="llama-3.2-1b", method="qlora", gib=0.96),
    dict(what="peak", model="llama-3-8b", method="qlora", micro_batch=1, upcast=True, liger=False, gib=12.75),
    dict(what="peak", model="llama-3-8b", method="qlora", micro_batch=4, upcast=True, liger=False, gib=27.59),
    dict(what="peak", model="llama-3.2-1b", method="qlora", micro_batch=4, upcast=True, liger=False, gib=18.36),
    dict(what="peak", model="llama-3-8b", method="qlora", micro_batch=1, gib=6.98),
    dict(what="peak", model="llama-3-8b", method="qlora", micro_batch=4, gib=10.38),
    dict(what="peak", model="llama-3.2-1b", method="qlora", micro_batch=4, gib=3.01),
    dict(what="peak", model="llama-3-8b", method="lora", micro_batch=4, liger=False, gib=31.32),
]


def read_grid(path: str | Path = GRID) -> list[dict]:
    """The measured rows (the first line, `_about`, describes the stack and is skipped)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusFtError(f"{path}: calibration grid not found")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusFtError(f"{path}:{n}: not JSON ({e})") from None
            if "_about" in row:
                continue
            missing = [k for k in GRID_KEYS if k not in row]
            if missing:
                raise CorpusFtError(f"{path}:{n}: missing {missing}; a grid row needs {list(GRID_KEYS)}")
            rows.append(row)
    return rows


def _err(pred: float, meas: float) -> float:
    return round(100 * (pred / meas - 1), 2)


def grid_residuals(path: str | Path = GRID) -> list[dict]:
    """Predicted vs measured peak allocated and reserved for every grid row, in GiB and %."""
    out = []
    for r in read_grid(path):
        e = estimate(
            r["model"], method=r["method"], seq_len=r["seq"], micro_batch=r["mb"], gradient_checkpointing=r["ckpt"]
        )
        out.append(
            {
                "model": r["model"],
                "method": r["method"],
                "seq": r["seq"],
                "mb": r["mb"],
                "ckpt": r["ckpt"],
                "alloc_measured": r["peak_alloc_gib"],
                "alloc_predicted": round(e.peak_allocated_gib, 3),
                "alloc_err_pct": _err(e.peak_allocated_gib, r["peak_alloc_gib"]),
                "reserved_measured": r["peak_reserved_gib"],
                "reserved_predicted": round(e.reserved_gib, 3),
                "reserved_err_pct": _err(e.reserved_gib, r["peak_reserved_gib"]),
                "load_measured": r["load_gib"],
                "load_predicted": round(e.breakdown["weights"], 3),
            }
        )
    return out


def reference_residuals() -> list[dict]:
    """Predicted vs the issue's reference points (guide recipe with fp32 upcast, and the bf16 + Liger stack)."""
    out = []
    for p in REFERENCE_POINTS:
        kwargs = {k: v for k, v in p.items() if k not in ("what", "model", "gib")}
        e = estimate(p["model"], **kwargs)
        pred = e.breakdown["weights"] if p["what"] == "load" else e.peak_allocated_gib
        out.append({**p, "predicted": round(pred, 3), "err_pct": _err(pred, p["gib"])})
    return out


@contextlib.contextmanager
def _constant(name: str, value: float):
    old = getattr(estimate_module, name)
    setattr(estimate_module, name, value)
    try:
        yield
    finally:
        setattr(estimate_module, name, old)


def _peak(r: dict, name: str, value: float) -> float:
    """Predicted peak allocated for a grid row or a run row (`run_rows`) with one constant set to `value`."""
    with _constant(name, value):
        if "settings" in r:
            return estimate(r["shape"], **r["settings"]).peak_allocated_gib
        return estimate(
            r["model"], method=r["method"], seq_len=r["seq"], micro_batch=r["mb"], gradient_checkpointing=r["ckpt"]
        ).peak_allocated_gib


def fit_constant(name: str, rows: list[dict]) -> float:
    """Least-squares value (relative error) of a constant the peak is linear in, over `rows`."""
    zero = [_peak(r, name, 0.0) for r in rows]
    a = [(_peak(r, name, 1.0) - z) / r["peak_alloc_gib"] for r, z in zip(rows, zero)]
    b = [(r["peak_alloc_gib"] - z) / r["peak_alloc_gib"] for r, z in zip(rows, zero)]
    return sum(x * y for x, y in zip(a, b)) / sum(x * x for x in a)


def refit(path: str | Path = GRID) -> dict[str, float]:
    """The activation constants refitted on the whole grid: what to paste into estimate.py after a re-measure."""
    import numpy as np

    rows = read_grid(path)
    fitted = {
        "CKPT_LAYERS": round(fit_constant("CKPT_LAYERS", [r for r in rows if r["ckpt"]]), 3),
        "NOCKPT_LAYERS": round(fit_constant("NOCKPT_LAYERS", [r for r in rows if not r["ckpt"]]), 3),
    }
    # reserved - allocated = s0 + s_k * activations, k by (checkpointed lora, checkpointed qlora, not checkpointed)
    x, y = [], []
    for r in rows:
        e = estimate(
            r["model"], method=r["method"], seq_len=r["seq"], micro_batch=r["mb"], gradient_checkpointing=r["ckpt"]
        )
        act = e.breakdown["activations"] + e.breakdown["logits"]
        k = 3 if not r["ckpt"] else 2 if r["method"] == "qlora" else 1
        x.append([1.0 if i == 0 else act if i == k else 0.0 for i in range(4)])
        y.append(r["peak_reserved_gib"] - r["peak_alloc_gib"])
    w = np.array([1 / r["peak_reserved_gib"] for r in rows])
    slack = np.linalg.lstsq(np.array(x) * w[:, None], np.array(y) * w, rcond=None)[0]
    fitted["RESERVED_SLACK"] = tuple(round(float(v), 3) for v in slack)
    return fitted


def cross_shape_holdout(path: str | Path = GRID) -> list[dict]:
    """Refit CKPT_LAYERS on one model's checkpointed rows, predict the other's: does the physics transfer?"""
    rows = [r for r in read_grid(path) if r["ckpt"]]
    out = []
    for train in sorted({r["model"] for r in rows}):
        layers = fit_constant("CKPT_LAYERS", [r for r in rows if r["model"] == train])
        held = [r for r in rows if r["model"] != train]
        worst = max(abs(_err(_peak(r, "CKPT_LAYERS", layers), r["peak_alloc_gib"])) for r in held)
        out.append(
            {
                "fitted_on": train,
                "ckpt_layers": round(layers, 3),
                "held_out": sorted({r["model"] for r in held}),
                "held_out_worst_err_pct": worst,
            }
        )
    return out


def print_residuals(rows: list[dict], refs: list[dict], holdout: list[dict] | None = None) -> None:
    """Both residual tables, rich, on stderr."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(title="estimate vs measured grid (GiB; H100, bf16 + Liger stack)")
    for col in (
        "model",
        "method",
        "seq",
        "mb",
        "ckpt",
        "alloc meas",
        "alloc pred",
        "err %",
        "reserved meas",
        "reserved pred",
        "err %",
    ):
        grid.add_column(col, justify="right")
    for r in rows:
        grid.add_row(
            r["model"],
            r["method"],
            str(r["seq"]),
            str(r["mb"]),
            "on" if r["ckpt"] else "off",
            f"{r['alloc_measured']:.2f}",
            f"{r['alloc_predicted']:.2f}",
            f"{r['alloc_err_pct']:+.1f}",
            f"{r['reserved_measured']:.2f}",
            f"{r['reserved_predicted']:.2f}",
            f"{r['reserved_err_pct']:+.1f}",
        )
    ref = Table(title="estimate vs the issue's reference points (seq 2048, r16, checkpointing)")
    for col in ("what", "model", "method", "settings", "measured", "predicted", "err %"):
        ref.add_column(col, justify="right")
    for p in refs:
        settings = ", ".join(f"{k}={p[k]}" for k in ("micro_batch", "upcast", "liger") if k in p)
        ref.add_row(
            p["what"],
            p["model"],
            p["method"],
            settings,
            f"{p['gib']:.2f}",
            f"{p['predicted']:.2f}",
            f"{p['err_pct']:+.1f}",
        )
    console = Console(stderr=True, width=140)
    console.print(grid)
    console.print(ref)
    for h in holdout or []:
        console.print(
            f"cross-shape check: CKPT_LAYERS fitted on {h['fitted_on']} alone = {h['ckpt_layers']}; "
            f"worst error on {', '.join(h['held_out'])}: {h['held_out_worst_err_pct']:.1f}%"
        )
    console.print(f"refitted on this grid: {refit()}", highlight=False)
    console.print(
        f"constants in use: CKPT_LAYERS={estimate_module.CKPT_LAYERS} NOCKPT_LAYERS={estimate_module.NOCKPT_LAYERS} "
        f"LOGIT_COPIES_FP32={estimate_module.LOGIT_COPIES_FP32} LOGIT_COPIES_BF16={estimate_module.LOGIT_COPIES_BF16} "
        f"RESERVED_SLACK={estimate_module.RESERVED_SLACK}",
        highlight=False,
    )


def measure_saved_bytes(shape, tokens: int = 256, lora_dropout: float = 0.0) -> float:
    """Bytes per token one decoder layer saves for backward, counted exactly with saved-tensor hooks.

    Runs one real transformers LlamaDecoderLayer (bf16, SDPA, HF's un-fused RMSNorm/RoPE/SwiGLU)
    with PEFT LoRA r16 on the seven projections, on the CPU; the layer's input is included and
    the weights are not. Needs no GPU: what autograd saves does not depend on the device.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from corpus_ft.estimate.shapes import load_shape

    s = load_shape(shape)
    config = LlamaConfig(
        hidden_size=s.hidden,
        intermediate_size=s.ffn,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        head_dim=s.hd,
        num_hidden_layers=1,
        vocab_size=256,
        tie_word_embeddings=True,
        attn_implementation="sdpa",
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model = get_peft_model(
        model, LoraConfig(r=16, lora_alpha=32, lora_dropout=lora_dropout, target_modules="all-linear")
    )
    model.train()
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    inner = model.base_model.model.model
    x = torch.randn(1, tokens, s.hidden, dtype=torch.bfloat16, requires_grad=True)
    positions = torch.arange(tokens)[None]
    rope = inner.rotary_emb(x, positions)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        inner.layers[0](x, position_embeddings=rope, attention_mask=None, position_ids=positions)
    return sum(saved.values()) / tokens


def saved_bytes_report(models=("llama-3.2-1b", "llama-3-8b"), tokens: int = 128) -> list[dict]:
    """Measured saved bytes per token per layer (CPU, un-fused kernels) next to the estimator's count."""
    from corpus_ft.estimate.memory import SEVEN, _layer_bytes
    from corpus_ft.estimate.shapes import load_shape

    out = []
    for name in models:
        s = load_shape(name)
        plain, dropped = measure_saved_bytes(s, tokens), measure_saved_bytes(s, tokens, lora_dropout=0.05)
        # on the CPU there is no autocast (PEFT's fp32 casts of the adapter inputs stay fp32, 4 bytes)
        # and dropout keeps its mask in bf16 (2 bytes; CUDA's native dropout keeps a bool)
        predicted = 2 * s.hidden + _layer_bytes(s, 2, SEVEN, cast_bytes=4)
        predicted_dropout = 2 * s.hidden + _layer_bytes(s, 2, SEVEN, 0.05, cast_bytes=4, mask_bytes=2)
        out.append(
            {
                "model": name,
                "measured": plain,
                "predicted": predicted,
                "err_pct": _err(predicted, plain),
                "measured_dropout_0.05": dropped,
                "predicted_dropout_0.05": predicted_dropout,
                "dropout_err_pct": _err(predicted_dropout, dropped),
            }
        )
    return out


def run_rows(runs: list[str | Path]) -> list[dict]:
    """One row per trained run: its resolved settings, its model's shape and the GPU peaks metrics.jsonl recorded."""
    from corpus_ft.estimate import plan
    from corpus_ft.estimate.memory import _estimate_kwargs
    from corpus_ft.train.config import TrainConfig

    rows = []
    for run in map(Path, runs):
        cfg_path, metrics = run / "model" / "train_config.json", run / "model" / "metrics.jsonl"
        if not (cfg_path.is_file() and metrics.is_file()):
            raise CorpusFtError(
                f"{run}: no model/train_config.json and model/metrics.jsonl; pass run directories "
                "that `corpus-ft train` finished"
            )
        logged = [json.loads(x) for x in metrics.read_text(encoding="utf-8").splitlines() if x.strip()]
        peaks = [r for r in logged if "peak_allocated_gib" in r]
        if not peaks:
            raise CorpusFtError(
                f"{metrics}: no GPU peak recorded (a CPU run records peak_rss_gib, which the GPU "
                "estimator does not model); pass runs trained on a GPU"
            )
        config = TrainConfig.model_validate(json.loads(cfg_path.read_text(encoding="utf-8")))
        p = plan(config)
        rows.append(
            {
                "run": str(run),
                "shape": p.estimate.shape,
                "settings": _estimate_kwargs(p.config),
                "ckpt": bool(p.config.gradient_checkpointing),
                "predicted": p.estimate.peak_allocated_gib,
                "peak_alloc_gib": max(r["peak_allocated_gib"] for r in peaks),
                "peak_reserved_gib": max(r["peak_reserved_gib"] for r in peaks),
            }
        )
    return rows


def from_runs(runs: list[str | Path]) -> dict:
    """Residuals of the estimator on real training runs, and the activation constants refitted on them."""
    rows = run_rows(runs)
    out = [
        {
            "run": r["run"],
            "model": r["shape"].name,
            "ckpt": r["ckpt"],
            "alloc_measured": r["peak_alloc_gib"],
            "alloc_predicted": round(r["predicted"], 3),
            "alloc_err_pct": _err(r["predicted"], r["peak_alloc_gib"]),
        }
        for r in rows
    ]
    refit = {
        name: round(fit_constant(name, subset), 3)
        for name, subset in (
            ("CKPT_LAYERS", [r for r in rows if r["ckpt"]]),
            ("NOCKPT_LAYERS", [r for r in rows if not r["ckpt"]]),
        )
        if subset
    }
    return {"runs": out, "refit": refit, "in_use": {k: getattr(estimate_module, k) for k in refit}}
