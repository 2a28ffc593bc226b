"""Review before training: a static report, a local web app to accept/reject/edit records,
a terminal sample view, and the decisions log the builder and trainer honour."""

from __future__ import annotations

import os
from pathlib import Path

from corpus_ft.decisions import append_decision, apply_decisions, load_decisions, read_decisions


def write_report(run_dir: str | os.PathLike, **kwargs) -> Path:
    """Write RUN_DIR/review/index.html (matplotlib is imported only when a report is made)."""
    from corpus_ft.review.report import write_report as _write

    return _write(run_dir, **kwargs)


__all__ = ["append_decision", "apply_decisions", "load_decisions", "read_decisions", "write_report"]
