"""`corpus-ft bench docs REPO…`: how clean the document parsers leave the text, on any repositories.

For each repository: ingest, build `paragraphs`, then count the records still carrying markup
(`markup_residue`), check that every prose line of every section sits on the source line it
came from, and show what the content policy left out. `--show N` prints N seeded records to
read by hand.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path

_WORD = re.compile(r"[^\W\d_]{4,}")
_SKIP = (
    "#",
    "Note:",
    "Warning:",
    "Tip:",
    "Important:",
    "See also:",
    "Added in",
    "Changed in",
    "Deprecated since",
    "Removed in",
)


def aligned_lines(text: str, start_line: int, source: list[str]) -> tuple[int, int]:
    """(prose lines checked, lines whose words are on the same source line) for one section.

    Headings, code, table rows and directive leads are skipped: their text is rewritten, not
    moved. A line counts as aligned when it shares a word of 4+ letters with its source line.
    """
    checked = aligned = 0
    fence = False
    for k, line in enumerate(text.split("\n")):
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        words = set(_WORD.findall(line.lower()))
        if fence or not words or line.startswith(_SKIP) or "|" in line:
            continue
        at = start_line + k
        checked += 1
        aligned += 0 < at <= len(source) and bool(words & set(_WORD.findall(source[at - 1].lower())))
    return checked, aligned


_TERM = re.compile(r"\w{3,}")


def _shares_words(line: str, source_line: str) -> bool:
    return bool(set(_TERM.findall(line.lower())) & set(_TERM.findall(source_line.lower())))


def _checkable(line: str) -> bool:
    return bool(_TERM.search(line)) and not line.lstrip().startswith(("```",) + _SKIP[1:]) and "|" not in line


def span_ok(text: str, start_line: int, end_line: int, source: list[str], crumb: str = "") -> bool | None:
    """Whether a chunk's first and last lines are on the source lines its span names (None: nothing
    checkable). `crumb` is the heading path a record may carry above or in place of its heading."""
    lines = [line for line in text.split("\n") if line.strip()]
    if crumb and lines and lines[0] == crumb:
        # the crumb replaced the heading line (compare its last heading), or sits above the chunk's first line
        firsts = [crumb.split(" > ")[-1], *lines[1:2]]
    else:
        firsts = lines[:1]
    if not lines or not 0 < start_line <= end_line <= len(source):
        return False if lines else None
    verdicts = []
    checkable = [f for f in firsts if _checkable(f)]
    if any(_shares_words(f, source[start_line - 1]) for f in checkable):
        verdicts.append(True)
    elif checkable and len(checkable) == len(firsts):  # (one of two uncheckable: cannot tell which is first)
        verdicts.append(False)
    if len(lines) > 1 and _checkable(lines[-1]):
        verdicts.append(_shares_words(lines[-1], source[end_line - 1]))
    return all(verdicts) if verdicts else None


def bench_docs(repo: str | Path, out: Path, show: int = 0, seed: int = 0) -> dict:
    """Ingest + paragraphs on one repository; residue, line alignment and category figures."""
    from corpus_ft.datasets import build_dataset, load_units
    from corpus_ft.datasets.quality import markup_residue
    from corpus_ft.ingest import ingest_repo

    repo = Path(repo)
    report = ingest_repo(repo, out)
    stats = build_dataset("paragraphs", out, force=True)
    records = [
        json.loads(line)
        for split in ("train", "validation", "test")
        for line in (out / "datasets" / "paragraphs" / f"{split}.jsonl").open(encoding="utf-8")
    ]
    residue = [r for r in records if markup_residue(r["text"])]
    checked = aligned = 0
    sources: dict[str, list[str]] = {}
    for u in load_units(out):
        if u["kind"] != "section" or u["language"] not in ("markdown", "rst"):
            continue
        if u["path"] not in sources:
            sources[u["path"]] = (repo / u["path"]).read_text(encoding="utf-8", errors="replace").split("\n")
        c, a = aligned_lines(u["text"], u["start_line"], sources[u["path"]])
        checked, aligned = checked + c, aligned + a
    spans = [
        span_ok(
            r["text"],
            r["source"]["start_line"],
            r["source"]["end_line"],
            sources[r["source"]["path"]],
            " > ".join(r["meta"].get("heading_path") or []),
        )
        for r in records
        if r["source"]["path"] in sources
    ]
    sample = random.Random(seed).sample(records, min(show, len(records)))
    warnings = report.get("warnings_by_kind", {})
    return {
        "repo": str(repo),
        "records": len(records),
        "residue": len(residue),
        "residue_rate": round(len(residue) / max(len(records), 1), 4),
        "residue_examples": [
            {"path": r["source"]["path"], "start_line": r["source"]["start_line"], "text": r["text"][:400]}
            for r in residue[:5]
        ],
        "prose_lines_checked": checked,
        "prose_lines_aligned": aligned,
        "alignment": round(aligned / max(checked, 1), 4),
        "record_spans_checked": sum(v is not None for v in spans),
        "record_spans_wrong": spans.count(False),
        "doc_warnings": {k: v for k, v in warnings.items() if k != "syntax"},
        "categories": report.get("categories", {}),
        "left_out_units": stats.get("left_out", {}),
        "removed": {k: v for k, v in stats["removed"].items() if v},
        "sample": [
            {
                "path": r["source"]["path"],
                "lines": [r["source"]["start_line"], r["source"]["end_line"]],
                "text": r["text"],
            }
            for r in sample
        ],
    }


def run(repos: list[Path], show: int = 0, seed: int = 0) -> list[dict]:
    """bench_docs for every repository, each in its own temporary run directory."""
    results = []
    for repo in repos:
        with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-docs-") as tmp:
            results.append(bench_docs(repo, Path(tmp) / "run", show=show, seed=seed))
    return results


def print_results(results: list[dict]) -> None:
    """One row per repository on stderr, then the sampled records."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title="corpus-ft bench docs")
    for col in (
        "repository",
        "paragraphs",
        "with markup",
        "lines on their source line",
        "records with a wrong span",
        "left out (units)",
    ):
        table.add_column(col, justify="left" if col in ("repository", "left out (units)") else "right")
    for r in results:
        table.add_row(
            Path(r["repo"]).name,
            str(r["records"]),
            f"{r['residue']} ({100 * r['residue_rate']:.1f}%)",
            f"{r['prose_lines_aligned']}/{r['prose_lines_checked']} ({100 * r['alignment']:.1f}%)",
            f"{r['record_spans_wrong']}/{r['record_spans_checked']}",
            ", ".join(f"{k} {v}" for k, v in r["left_out_units"].items()),
        )
    console.print(table)
    for r in results:
        for s in r["sample"]:
            console.rule(f"{Path(r['repo']).name}: {s['path']}:{s['lines'][0]}-{s['lines'][1]}")
            console.print(s["text"], markup=False, highlight=False)
