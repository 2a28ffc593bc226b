"""Read what build and ingest wrote, in the shape review needs: records with their split,
removed candidates, stats, and the source lines each record came from."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from corpus_ft.settings import KINDS
from corpus_ft.util import CorpusFtError, read_jsonl

SPLITS = ("train", "validation", "test")


@dataclass
class KindData:
    """One dataset kind: its records (each tagged with its split), removals and stats."""

    kind: str
    stats: dict
    records: list[tuple[str, dict]]  # (split, record)
    removed: list[dict] = field(default_factory=list)
    card: str = ""
    # (split, record) a build with --apply-review left out as rejected: kept so a rejection can be undone
    rejected: list[tuple[str, dict]] = field(default_factory=list)


@dataclass
class Unit:
    path: str
    language: str
    start_line: int
    end_line: int
    text: str


@dataclass
class Run:
    """Everything the review page shows for one run directory."""

    run_dir: Path
    kinds: dict[str, KindData]
    units: dict[str, Unit]  # unit id -> unit
    units_by_path: dict[str, list[Unit]]
    ingest_report: dict

    def record_index(self) -> dict[str, tuple[str, str, dict]]:
        """Record id -> (kind, split, record), for the web app's look-ups."""
        return {
            rec["id"]: (kind, split, rec) for kind, kd in self.kinds.items() for split, rec in kd.records + kd.rejected
        }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusFtError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); rebuild it with `corpus-ft build`") from None


def dataset_kinds(run_dir: str | os.PathLike) -> list[str]:
    """Kinds built in RUN_DIR/datasets (known kinds first, in pipeline order)."""
    root = Path(run_dir) / "datasets"
    if not root.is_dir():
        return []
    found = [
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any((p / f"{s}.jsonl").is_file() for s in SPLITS)
    ]
    return sorted(found, key=lambda k: (KINDS.index(k) if k in KINDS else len(KINDS), k))


def load_kind(run_dir: str | os.PathLike, kind: str) -> KindData:
    d = Path(run_dir) / "datasets" / kind
    records = []
    for split in SPLITS:
        if (d / f"{split}.jsonl").is_file():
            for n, rec in enumerate(read_jsonl(d / f"{split}.jsonl"), 1):
                if not (isinstance(rec, dict) and isinstance(rec.get("id"), str)):
                    raise CorpusFtError(
                        f'{d / f"{split}.jsonl"}: record {n} has no "id"; '
                        f"rebuild it with `corpus-ft build {kind} --run {run_dir}`"
                    )
                records.append((split, rec))
    stats = _read_json(d / "stats.json") if (d / "stats.json").is_file() else {}
    removed = read_jsonl(d / "removed.jsonl") if (d / "removed.jsonl").is_file() else []
    card = (d / "card.md").read_text(encoding="utf-8") if (d / "card.md").is_file() else ""
    return KindData(kind, stats, records, removed, card, _rejected(d / "rejected.jsonl", {r["id"] for _, r in records}))


def _rejected(path: Path, live: set[str]) -> list[tuple[str, dict]]:
    """rejected.jsonl ({"split", "record"} per line), without records the datasets hold again."""
    if not path.is_file():
        return []
    out = []
    for n, row in enumerate(read_jsonl(path), 1):
        rec = row.get("record") if isinstance(row, dict) else None
        if not (isinstance(rec, dict) and isinstance(rec.get("id"), str) and row.get("split") in SPLITS):
            raise CorpusFtError(f'{path}: line {n} is not {{"split", "record"}}; rebuild with `corpus-ft build`')
        if rec["id"] not in live:
            out.append((row["split"], rec))
    return out


def load_units(run_dir: str | os.PathLike) -> dict[str, Unit]:
    """Units by id from units.parquet (only the columns review shows); {} when absent."""
    path = Path(run_dir) / "units.parquet"
    if not path.is_file():
        return {}
    import pyarrow.parquet as pq

    cols = ["id", "path", "language", "start_line", "end_line", "text"]
    try:
        table = pq.read_table(path, columns=cols)
    except Exception as e:  # pyarrow raises several types for a bad or foreign file
        raise CorpusFtError(f"{path}: cannot read units ({e}); re-run `corpus-ft ingest`") from None
    return {
        row["id"]: Unit(
            row["path"], row["language"] or "", int(row["start_line"]), int(row["end_line"]), row["text"] or ""
        )
        for row in table.to_pylist()
    }


def load_run(run_dir: str | os.PathLike) -> Run:
    """Load a built run; a run without datasets is a clear error (exit 2)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CorpusFtError(f"{run_dir}: no such run directory; pass the directory `corpus-ft build` wrote")
    kinds = dataset_kinds(run_dir)
    if not kinds:
        raise CorpusFtError(
            f"{run_dir / 'datasets'}: no datasets to review (no <kind>/train.jsonl); "
            f"run `corpus-ft build all --run {run_dir}` first"
        )
    units = load_units(run_dir)
    by_path: dict[str, list[Unit]] = {}
    for u in units.values():
        by_path.setdefault(u.path, []).append(u)
    report_path = run_dir / "ingest_report.json"
    report = _read_json(report_path) if report_path.is_file() else {}
    return Run(run_dir, {k: load_kind(run_dir, k) for k in kinds}, units, by_path, report)


@lru_cache(maxsize=64)
def _shown_lines(text: str, path: str, language: str) -> tuple[str, ...]:
    """A unit's lines redacted whole, then sliced: a span cut out first would hide a key's BEGIN line."""
    from corpus_ft.redact import redact  # the page quotes the repo: keep its secrets out too

    return tuple(redact(text, filename=path, language=language).split("\n"))


def source_span(run: Run, source: dict) -> dict:
    """The source lines a record came from: path, line range, language and text (from units)."""
    path, start, end = source.get("path", ""), source.get("start_line"), source.get("end_line")
    unit = run.units.get(source.get("unit_id") or "")
    if unit is None and isinstance(start, int):  # fall back to a unit of that file covering the span
        unit = next(
            (u for u in run.units_by_path.get(path, []) if u.start_line <= start and (end or start) <= u.end_line), None
        )
    if unit is None:
        return {"path": path, "start_line": start, "end_line": end, "language": "", "text": None}
    lines = _shown_lines(unit.text, unit.path, unit.language)
    s = max((start or unit.start_line) - unit.start_line, 0)
    e = min((end or unit.end_line) - unit.start_line + 1, len(lines))
    text = "\n".join(lines[s:e])
    return {
        "path": path or unit.path,
        "start_line": unit.start_line + s,
        "end_line": unit.start_line + e - 1,
        "language": unit.language,
        "text": text,
    }


def ingested_paths(run: Run) -> dict[str, str]:
    """Every path ingest saw -> what became of it: "N units" or "skipped: reason (detail)"."""
    from corpus_ft.redact import redact_path  # a secret in a file name must not reach the page

    out = {redact_path(p): f"{len(us)} unit(s)" for p, us in run.units_by_path.items()}
    for e in run.ingest_report.get("skipped") or []:
        if isinstance(e, dict) and isinstance(e.get("path"), str):
            why = str(e.get("reason") or "?") + (f" ({e['detail']})" if e.get("detail") else "")
            out.setdefault(redact_path(e["path"]), f"skipped: {why}")
    return out


def record_text(rec: dict, roles: tuple[str, ...] = ("system", "user", "assistant")) -> str:
    """The text a record trains on (all of it for lengths; without the shared system prompt
    for search and keywords, where it would match every record)."""
    if isinstance(rec.get("text"), str):
        return rec["text"]
    return "\n".join(
        m.get("content", "") for m in rec.get("messages") or [] if isinstance(m, dict) and m.get("role") in roles
    )


CONTENT_ROLES = ("user", "assistant")
