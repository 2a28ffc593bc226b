"""Stage 4, estimate: GPU memory (or a CPU run's RAM) of a fine-tune from the model's shape, before any weight loads.

`memory` holds the estimator (breakdown, fit check, suggestions, pre-flight); `shapes` reads a
model's shape from a local config.json, the HF cache or a named preset. Other stages import
what is below (`plan`, `preflight`, ...), never the modules.
"""

from corpus_ft.estimate.hardware import FORCE_ENV, cpu_bf16, free_ram_bytes
from corpus_ft.estimate.memory import (
    ESTIMATED_FIELDS,
    NO_FIT_EXIT,
    EstimateConfig,
    Plan,
    format_no_fit,
    plan,
    preflight,
    print_plan,
    run_estimate,
)
from corpus_ft.estimate.shapes import ModelShape, load_shape
from corpus_ft.gpus import GIB, parse_gpu

__all__ = [
    "ESTIMATED_FIELDS",
    "FORCE_ENV",
    "cpu_bf16",
    "free_ram_bytes",
    "GIB",
    "NO_FIT_EXIT",
    "EstimateConfig",
    "ModelShape",
    "Plan",
    "format_no_fit",
    "load_shape",
    "parse_gpu",
    "plan",
    "preflight",
    "print_plan",
    "run_estimate",
]
