"""Optional parts of the install: the core ingests, builds and reviews; training needs an extra."""

from __future__ import annotations

import importlib.util

from corpus_ft.util import CorpusFtError

# extra -> the top-level modules it brings (pyproject.toml [project.optional-dependencies])
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "transformers", "peft", "trl", "accelerate", "gguf", "rouge_score"),
    "bench": ("matplotlib",),
}


def missing(extra: str) -> list[str]:
    """The modules of `extra` that are not installed."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, what: str) -> None:
    """Refuse `what` up front, naming the extra to install, instead of an ImportError mid-run."""
    absent = missing(extra)
    if absent:
        torch_first = " (install the torch build for your machine first)" if "torch" in absent else ""
        raise CorpusFtError(
            f"{what} needs the '{extra}' extra ({', '.join(absent)} not installed): "
            f"pip install 'corpus-ft[{extra}]'{torch_first}"
        )
