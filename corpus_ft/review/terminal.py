"""`corpus-ft review RUN_DIR --sample N`: a quick look at records in the terminal, each beside
the source lines it came from, with code highlighted."""

from __future__ import annotations

import os
import random

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from corpus_ft.decisions import flag, load_decisions
from corpus_ft.redact import strip_control
from corpus_ft.review.data import Run, load_run, source_span


def _safe(text) -> str:
    """Repository text never drives the terminal: escapes and control characters are dropped."""
    return strip_control(str(text))[0]


LEXERS = {"c_sharp": "csharp", "text": "text", "rst": "rst"}
FLAG_STYLE = {"accepted": "green", "rejected": "red", "edited": "yellow", "undecided": "dim"}


def _content(text: str):
    """Fenced code renders highlighted through Markdown; anything else as literal text."""
    text = _safe(text)
    return Markdown(text) if "```" in text else Text(text)


def _source(src: dict):
    if src["text"] is None:
        return Text("source unit not found in units.parquet", style="dim")
    return Syntax(
        _safe(src["text"]),
        LEXERS.get(src["language"], src["language"] or "text"),
        line_numbers=True,
        start_line=src["start_line"] or 1,
        word_wrap=True,
        theme="ansi_dark",
    )


def record_panel(run: Run, split: str, rec: dict, state: str) -> Panel:
    """One record beside its source span."""
    src = source_span(run, rec.get("source") or {})
    if rec.get("messages"):
        body = Group(
            *[
                part
                for m in rec["messages"]
                for part in (Text(_safe(m.get("role", "?")), style="bold cyan"), _content(m.get("content", "")))
            ]
        )
    else:
        body = _content(rec.get("text", ""))
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(
        body,
        Panel(
            _source(src),
            title=_safe(f"{src['path']}:{src['start_line']}-{src['end_line']}"),
            title_align="left",
            border_style="dim",
        ),
    )
    title = Text.assemble((_safe(rec["id"]), "bold"), f" · {_safe(split)} · ", (state, FLAG_STYLE[state]))
    return Panel(grid, title=title, title_align="left")


def print_sample(run_dir: str | os.PathLike, n: int = 3, *, console: Console | None = None, seed: int = 0) -> None:
    """Print `n` records per kind (a fixed random sample, so two runs show the same ones)."""
    console = console or Console()
    run = load_run(run_dir)
    decisions = load_decisions(run.run_dir)
    for kind, kd in run.kinds.items():
        console.print(Rule(f"{kind} · {len(kd.records)} records"))
        for split, rec in random.Random(seed).sample(kd.records, min(n, len(kd.records))):
            console.print(record_panel(run, split, rec, flag(decisions.get(rec["id"]))))
