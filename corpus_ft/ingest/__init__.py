"""Ingest: a repository of documents and code -> RUN_DIR/units.parquet + ingest_report.json.

`ingest_repo` walks the tree (walk.py), reads each file in worker processes (parse.py: docs.py
for documents, code.py for tree-sitter), reuses cached results for unchanged files
(cache.py) and writes every output atomically. Importing this package stays light: pyarrow,
tree-sitter and the document readers load only when a run needs them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from pathlib import Path

from corpus_ft.ingest.config import IngestConfig
from corpus_ft.ingest.parse import PARSER_VERSION, parse_batch
from corpus_ft.ingest.cache import FileIndex
from corpus_ft.ingest.table import UNIT_COLUMNS
from corpus_ft.ingest.walk import Candidate, walk
from corpus_ft.util import CorpusFtError, atomic_write_json, manifest

__all__ = ["IngestConfig", "ingest_repo", "UNIT_COLUMNS"]



def ingest_repo(repo_dir: str | os.PathLike, out_dir: str | os.PathLike, *, config: IngestConfig | None = None,
                workers: int | None = None, include=(), exclude=(), progress: bool = False) -> dict:
    """Turn every readable document and source file under `repo_dir` into units; returns the report."""
    started = time.perf_counter()
    repo, out = Path(repo_dir), Path(out_dir)
    _check_repo(repo)
    config = (config or IngestConfig()).model_copy(deep=True)
    config.include = [*config.include, *([include] if isinstance(include, str) else include)]
    config.exclude = [*config.exclude, *([exclude] if isinstance(exclude, str) else exclude)]
    workers = max(1, workers or os.cpu_count() or 1)
    settings = {"max_line_length": config.max_line_length, "read_pdf": config.read_pdf,
                "read_docx": config.read_docx, "min_section_chars": config.min_section_chars}
    fingerprint = hashlib.sha256(json.dumps([PARSER_VERSION, settings, _grammar_versions(), _reader_source_hash()])
                                 .encode()).hexdigest()[:16]

    walked = walk(repo, config, skip_dirs=(out,))
    index = FileIndex(out, fingerprint)
    by_rel = {c.rel: c for c in walked.files}
    records, skipped, todo = {}, list(walked.skipped), []
    for c in walked.files:
        if c.size > config.max_file_bytes:
            skipped.append((c.rel, "too_large", f"{c.size} bytes (max_file_bytes {config.max_file_bytes})"))
        elif c.size == 0:
            skipped.append((c.rel, "empty", "0 bytes"))
        elif (rec := index.lookup(c)) is not None:
            records[c.rel] = rec
        else:
            todo.append(c)
    reused = sorted(records)
    skipped.sort()
    if not todo and set(reused) == set(index.files) and index.skipped == [list(s) for s in skipped] \
            and (previous := _previous_report(out, config)) is not None:
        # nothing changed: units.parquet already holds what this run would write
        previous.update(seconds=round(time.perf_counter() - started, 3), workers=workers,
                        cache={"reused_files": len(reused), "parsed_files": 0, "unchanged": True})
        atomic_write_json(out / "ingest_report.json", previous)
        return previous

    # imported before the workers fork, so they inherit pyarrow instead of each importing it
    import pyarrow as pa
    import pyarrow.compute as pc

    from corpus_ft.ingest.table import by_path, read_units, write_units

    known = {c.rel: index.files[c.rel][3]["sha"] for c in todo if c.rel in index.files}
    new_records, tables = _parse_all(todo, settings, workers, progress, config.parallel_min_bytes, known)
    touched = [rel for rel, rec in new_records.items() if rec["status"] == "unchanged"]
    for rel in touched:  # touched, same bytes: keep the previous outcome and units
        new_records[rel] = index.files[rel][3]
    records.update(new_records)
    reused += touched
    if reused:
        previous_units = read_units(out / "units.parquet")
        tables.append(previous_units.filter(pc.is_in(previous_units["path"], pa.array(reused))))
    table = by_path(tables)
    report = _report(repo, walked, skipped, records, table)
    report.update(seconds=round(time.perf_counter() - started, 3), workers=workers,
                  cache={"reused_files": len(reused), "parsed_files": len(todo) - len(touched), "unchanged": False})
    write_units(out / "units.parquet", table)
    atomic_write_json(out / "ingest_report.json", report)
    m = manifest("ingest", {}, config.model_dump())
    m["inputs"] = {"repo": {"path": str(repo.resolve()), "files": len(records),
                            "sha256": _inputs_hash(records, skipped)}}
    atomic_write_json(out / "manifest.json", m)
    index.save(by_rel, records, skipped)
    return report


def _check_repo(repo: Path) -> None:
    if not repo.exists():
        raise CorpusFtError(f"{repo}: no such directory; pass the repository to ingest")
    if not repo.is_dir():
        raise CorpusFtError(f"{repo}: not a directory; pass the repository's root directory")
    try:
        next(os.scandir(repo), None)
    except OSError as e:
        raise CorpusFtError(f"{repo}: cannot read the directory ({e.strerror}); check its permissions") from None


def _grammar_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("tree-sitter", "tree-sitter-python", "tree-sitter-javascript", "tree-sitter-typescript",
                 "tree-sitter-java", "tree-sitter-go", "tree-sitter-c", "tree-sitter-cpp", "tree-sitter-rust",
                 "tree-sitter-ruby", "tree-sitter-c-sharp"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _reader_source_hash() -> str:
    """Hash of the readers' own code, so an upgraded corpus-ft never reuses units its old code made."""
    h = hashlib.sha256()
    for name in ("parse.py", "read.py", "docs.py", "code.py", "table.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()


def _parse_all(todo: list[Candidate], settings: dict, workers: int, progress: bool,
               min_bytes: int = 0, known: dict[str, str] | None = None) -> tuple[dict, list]:
    """Parse files in `workers` processes (big files first, so no worker is left with the tail)."""
    known = known or {}
    jobs = [(c.rel, c.path, c.language, known.get(c.rel)) for c in sorted(todo, key=lambda c: (-c.size, c.rel))]
    if not jobs:
        return {}, []
    small = sum(c.size for c in todo) < min_bytes  # forking workers would cost more than it saves
    # 32 batches a worker: the last one to finish leaves the other idle for ~0.1 s, not ~0.3 s
    n_batches = 1 if workers == 1 or len(jobs) < 8 or small else min(len(jobs), workers * 32)
    batches = [jobs[i::n_batches] for i in range(n_batches)]
    records, tables = {}, []
    with _progress(len(jobs), progress) as advance:
        def collect(batch_records: dict, table) -> None:
            records.update(batch_records)
            tables.append(table)
            advance(len(batch_records))

        if n_batches == 1:
            collect(*parse_batch(jobs, settings))
        else:
            for job in _run_pool(batches, settings, workers, collect):
                # a worker died (a crash inside a parser): alone in a pool, the file that does it is found
                if _run_pool([[job]], settings, 1, collect):
                    collect({job[0]: {"sha": "", "status": "skipped", "reason": "parse_error", "warnings": [],
                                      "detail": "the parser process crashed on this file", "language": job[2],
                                      "encoding": "", "units": []}}, None)
    return records, [t for t in tables if t is not None]


def _run_pool(batches: list[list], settings: dict, workers: int, collect) -> list:
    """Parse batches in worker processes; returns the jobs of batches whose worker died."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    left = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(parse_batch, batch, settings): batch for batch in batches}
        for future in as_completed(futures):
            try:
                collect(*future.result())
            except BrokenProcessPool:
                left.extend(futures[future])
    return left


@contextlib.contextmanager
def _progress(total: int, show: bool):
    """A rich progress bar on stderr when asked for; yields a function that advances it."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("reading files", total=total)
        yield lambda n: bar.advance(task, n)


def _inputs_hash(records: dict[str, dict], skipped: list) -> str:
    """One hash of the files read (paths and contents) and of those skipped, for the manifest."""
    h = hashlib.sha256()
    for rel in sorted(records):
        h.update(f"{rel}\0{records[rel].get('sha', '')}\n".encode())
    for item in skipped:
        h.update(("\0".join(item) + "\n").encode())
    return h.hexdigest()


def _previous_report(out: Path, config: IngestConfig) -> dict | None:
    """The last report when the last run used the same configuration and its outputs are all there."""
    try:
        m = json.loads((out / "manifest.json").read_text())
        report = json.loads((out / "ingest_report.json").read_text())
    except (OSError, ValueError):
        return None
    same = json.loads(json.dumps(config.model_dump())) == m.get("config")
    return report if same and (out / "units.parquet").is_file() else None


def _report(repo: Path, walked, skipped: list, records: dict[str, dict], table) -> dict:
    """Counts a person reads to trust the run: files seen, read and skipped (with reasons), units, warnings."""
    import pyarrow.compute as pc

    skipped = sorted(skipped + [(rel, r["reason"], r["detail"]) for rel, r in records.items()
                                if r["status"] != "ingested"])
    ingested = {rel: r for rel, r in records.items() if r["status"] == "ingested"}
    warnings = [{"path": rel, **w} for rel in sorted(ingested) for w in ingested[rel]["warnings"]]

    def counts(column: str) -> dict[str, int]:
        return {d["values"]: d["counts"] for d in sorted(pc.value_counts(table[column]).to_pylist(),
                                                         key=lambda d: d["values"])}

    files = [p for p, _, _ in skipped if not p.endswith("/")]
    return {
        "repo": str(repo.resolve()),
        "parser_version": PARSER_VERSION,
        "files_seen": len(walked.files) + sum(1 for p, _, _ in walked.skipped if not p.endswith("/")),
        "files_ingested": len(ingested),
        "files_skipped": len(files),
        "dirs_skipped": len(skipped) - len(files),
        "files_without_units": sum(1 for r in ingested.values() if not r.get("n_units")),
        "bytes_ingested": sum(c.size for c in walked.files if c.rel in ingested),
        "skipped_by_reason": dict(sorted(Counter(reason for _, reason, _ in skipped).items())),
        "units": table.num_rows,
        "units_by_kind": counts("kind"),
        "units_by_language": counts("language"),
        "files_by_language": dict(sorted(Counter(r["language"] for r in ingested.values()).items())),
        "encodings": dict(sorted(Counter(r["encoding"] or "binary document" for r in ingested.values()).items())),
        "warnings_by_kind": dict(sorted(Counter(w["kind"] for w in warnings).items())),
        "warnings": warnings,
        "skipped": [{"path": p, "reason": reason, "detail": detail} for p, reason, detail in skipped],
    }
