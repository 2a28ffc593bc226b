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

from corpus_ft.ingest.cache import FileIndex
from corpus_ft.ingest.config import IngestConfig
from corpus_ft.ingest.language import text_language
from corpus_ft.ingest.parse import PARSER_VERSION, parse_batch
from corpus_ft.ingest.policy import (
    CATEGORIES,
    EXCLUDED_BY_DEFAULT,
    corpus_language,
    default_category,
    people_list,
    translations,
)
from corpus_ft.ingest.product import product_name
from corpus_ft.ingest.table import UNIT_COLUMNS, UnitsWriter, by_path, columns_table, read_units, units_table
from corpus_ft.ingest.walk import Candidate, check_output, walk
from corpus_ft.util import CorpusFtError, atomic_file, atomic_write_json, manifest, with_run_lock

__all__ = [
    "CATEGORIES",
    "EXCLUDED_BY_DEFAULT",
    "IngestConfig",
    "UNIT_COLUMNS",
    "corpus_language",
    "default_category",
    "ingest_repo",
    "people_list",
    "product_name",
    "repo_name",
    "text_language",
    "translations",
]


@with_run_lock("ingest", "out_dir", create=True)
def ingest_repo(
    repo_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    config: IngestConfig | None = None,
    workers: int | None = None,
    include=(),
    exclude=(),
    progress: bool = False,
    name: str | None = None,
    skip_dirs=(),
) -> dict:
    """Turn every readable document and source file under `repo_dir` into units; returns the report.

    Every unit carries `name` in its `repo` column (default: the directory's name); `skip_dirs` are
    left out of the walk besides `out_dir` (the run directory of a several-repository ingest).
    """
    started = time.perf_counter()
    repo, out = Path(repo_dir), Path(out_dir)
    _check_repo(repo)
    check_output(repo, out)
    name = name or repo_name(repo)
    config = (config or IngestConfig()).model_copy(deep=True)
    config.include = [*config.include, *([include] if isinstance(include, str) else include)]
    config.exclude = [*config.exclude, *([exclude] if isinstance(exclude, str) else exclude)]
    workers = max(1, workers or os.cpu_count() or 1)
    settings = {
        "max_line_length": config.max_line_length,
        "read_pdf": config.read_pdf,
        "read_docx": config.read_docx,
        "min_section_chars": config.min_section_chars,
    }
    fingerprint = hashlib.sha256(
        json.dumps([PARSER_VERSION, settings, _grammar_versions(), _reader_source_hash()]).encode()
    ).hexdigest()[:16]

    walked = walk(repo, config, skip_dirs=(out, *skip_dirs))
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
    if (
        not todo
        and set(reused) == set(index.files)
        and index.skipped == [list(s) for s in skipped]
        and (previous := _previous_report(out, config, name)) is not None
    ):
        # nothing changed: units.parquet already holds what this run would write
        previous.update(
            seconds=round(time.perf_counter() - started, 3),
            workers=workers,
            cache={"reused_files": len(reused), "parsed_files": 0, "unchanged": True},
        )
        atomic_write_json(out / "ingest_report.json", previous)
        return previous

    known = {c.rel: index.files[c.rel][3]["sha"] for c in todo if c.rel in index.files}
    last_units = _PreviousUnits(out / "units.parquet")
    chunks = _chunks(todo)
    touched = []
    with atomic_file(out / "units.parquet") as tmp:
        writer = UnitsWriter(
            tmp, [chunk[0].rel for chunk in chunks], last_units.of(reused) if reused else None, repo=name
        )

        def collect(i: int, chunk_records: dict, payloads: list) -> None:
            tables = [_as_table(p) for p in payloads if p is not None]
            same = [rel for rel, rec in chunk_records.items() if rec["status"] == "unchanged"]
            for rel in same:  # touched, same bytes: keep the previous outcome and units
                chunk_records[rel] = index.files[rel][3]
            if same:
                tables.append(last_units.of(same))
            touched.extend(same)
            records.update(chunk_records)
            writer.add(i, tables[0] if len(tables) == 1 else by_path(tables))  # by_path([]) is the empty table

        try:
            _parse_all(chunks, settings, workers, progress, config.parallel_min_bytes, known, collect)
            table = writer.close()
        except BaseException:
            writer.abort()
            raise
    reused += touched
    report = _report(repo, walked, skipped, records, table)
    report["repo_name"] = name
    report.update(
        seconds=round(time.perf_counter() - started, 3),
        workers=workers,
        cache={"reused_files": len(reused), "parsed_files": len(todo) - len(touched), "unchanged": False},
    )
    atomic_write_json(out / "ingest_report.json", report)
    m = manifest("ingest", {}, {**config.model_dump(), "repo_name": name})
    m["inputs"] = {
        "repo": {"path": str(repo.resolve()), "files": len(records), "sha256": _inputs_hash(records, skipped)}
    }
    atomic_write_json(out / "manifest.json", m)
    index.save(by_rel, records, skipped)
    return report


def repo_name(repo: str | os.PathLike) -> str:
    """A repository's default name: its directory's name (of the resolved path, so `.` has one)."""
    return Path(repo).resolve().name or "repo"


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
    for name in (
        "tree-sitter",
        "tree-sitter-python",
        "tree-sitter-javascript",
        "tree-sitter-typescript",
        "tree-sitter-java",
        "tree-sitter-go",
        "tree-sitter-c",
        "tree-sitter-cpp",
        "tree-sitter-rust",
        "tree-sitter-ruby",
        "tree-sitter-c-sharp",
        "markdown-it-py",
        "mdit-py-plugins",
        "docutils",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _reader_source_hash() -> str:
    """Hash of the readers' own code, so an upgraded corpus-ft never reuses units its old code made."""
    h = hashlib.sha256()
    for name in (
        "parse.py",
        "read.py",
        "docs.py",
        "markdown.py",
        "mdx.py",
        "asciidoc.py",
        "rst.py",
        "policy.py",
        "code.py",
        "codefacts.py",
        "table.py",
    ):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()


CHUNK_BYTES = 256 * 1024


def _chunks(todo: list[Candidate]) -> list[list[Candidate]]:
    """Contiguous, path-ordered runs of files of about CHUNK_BYTES each (at least 1/256 of the whole).

    The runs depend on the files only, never on the worker count, so the output is the same
    file however many workers parse it.
    """
    target = max(CHUNK_BYTES, sum(c.size for c in todo) // 256)
    chunks, current, size = [], [], 0
    for c in todo:  # already in path order
        current.append(c)
        size += c.size
        if size >= target:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


def _parse_all(
    chunks: list[list[Candidate]],
    settings: dict,
    workers: int,
    progress: bool,
    min_bytes: int,
    known: dict[str, str],
    collect,
) -> None:
    """Parse every chunk, in `workers` processes when there is enough to parse; `collect(i, records, payloads)`
    takes each chunk's outcome as it finishes (in any order)."""
    jobs = [[(c.rel, c.path, c.language, known.get(c.rel)) for c in chunk] for chunk in chunks]
    sizes = [sum(c.size for c in chunk) for chunk in chunks]
    parallel = workers > 1 and len(jobs) > 1 and sum(sizes) >= min_bytes  # below that, forking costs more
    with _progress(sum(map(len, jobs)), progress) as advance:

        def done(i: int, records: dict, payloads: list) -> None:
            collect(i, records, payloads)
            advance(len(records))

        if not parallel:
            for i, batch in enumerate(jobs):
                records, payload = parse_batch(batch, settings)
                done(i, records, [payload])
            return
        _warm_parsers({c.language for chunk in chunks for c in chunk})  # the forked workers inherit them
        # chunks holding a big file go first, so none is left running alone at the end; the rest in
        # path order, so the writer can write them as they come
        big = 2 * max(CHUNK_BYTES, sum(sizes) // 256)
        order = sorted(range(len(jobs)), key=lambda i: (sizes[i] < big, i))
        for i in _run_pool([(i, jobs[i]) for i in order], settings, workers, done):
            # A worker died (a crash inside a parser) and broke the pool: every chunk still queued
            # failed with it. Alone, a chunk either goes through or holds the crash.
            if _run_pool([(i, jobs[i])], settings, 1, done):
                done(i, *_isolate(jobs[i], settings))


def _isolate(batch: list, settings: dict) -> tuple[dict, list]:
    """Parse each file of a batch that crashes its worker in a process of its own: only the file
    that crashes is lost, reported as a parse_error."""
    records, payloads = {}, []

    def keep(_, file_records: dict, file_payloads: list) -> None:
        records.update(file_records)
        payloads.extend(file_payloads)

    for job in batch:
        if _run_pool([(0, [job])], settings, 1, keep):
            records[job[0]] = {
                "sha": "",
                "status": "skipped",
                "reason": "parse_error",
                "warnings": [],
                "detail": "the parser process crashed on this file",
                "language": job[2],
                "encoding": "",
                "n_units": 0,
            }
    return records, payloads


def _warm_parsers(languages: set) -> None:
    from corpus_ft.ingest.code import GRAMMARS, parser_for

    if "c" in languages:
        languages = languages | {"cpp"}  # a .h file may hold C++
    for language in languages & set(GRAMMARS):
        parser_for(language)
    if languages & {"markdown", "mdx", "asciidoc"}:
        from corpus_ft.ingest.markdown import parser

        parser()
    if languages & {"rst", "markdown", "mdx"}:  # MyST's eval-rst reads reST too
        from corpus_ft.ingest import rst

        rst._lookups()
        rst._settings()


def _run_pool(batches: list[tuple[int, list]], settings: dict, workers: int, done) -> list[int]:
    """Parse (index, batch) pairs in worker processes; returns the indexes of batches whose worker died."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    failed = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(parse_batch, batch, settings): i for i, batch in batches}
        for future in as_completed(futures):
            try:
                records, payload = future.result()
            except BrokenProcessPool:
                failed.append(futures[future])
                continue
            done(futures[future], records, [payload])
    return sorted(failed)


def _as_table(payload):
    """A worker's units (column buffers, or rows when they hold over 2 GiB of text) as an Arrow table."""
    return columns_table(payload) if isinstance(payload, dict) else units_table(payload)


class _PreviousUnits:
    """The last run's units.parquet, read once and only when some of its units are kept."""

    def __init__(self, path: Path):
        self.path, self.table = path, None

    def of(self, paths: list[str]):
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.table is None:
            self.table = read_units(self.path)
        return self.table.filter(pc.is_in(self.table["path"], pa.array(sorted(paths))))


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


def _previous_report(out: Path, config: IngestConfig, name: str) -> dict | None:
    """The last report when the last run used the same configuration and name and its outputs are all there."""
    try:
        m = json.loads((out / "manifest.json").read_text())
        report = json.loads((out / "ingest_report.json").read_text())
    except (OSError, ValueError):
        return None
    same = json.loads(json.dumps({**config.model_dump(), "repo_name": name})) == m.get("config")
    return report if same and (out / "units.parquet").is_file() else None


def _report(repo: Path, walked, skipped: list, records: dict[str, dict], table) -> dict:
    """Counts a person reads to trust the run: files seen, read and skipped (with reasons), units, warnings."""
    import pyarrow.compute as pc

    skipped = sorted(
        skipped + [(rel, r["reason"], r["detail"]) for rel, r in records.items() if r["status"] != "ingested"]
    )
    ingested = {rel: r for rel, r in records.items() if r["status"] == "ingested"}
    from corpus_ft.redact import redact, redact_path  # the report is shown and read back: a warning quotes
    # a file's line (a bad ignore pattern), so it is redacted as text, and every name as a path

    warnings = [
        {k: (redact if k == "message" else redact_path)(v) if isinstance(v, str) else v for k, v in w.items()}
        for w in list(getattr(walked, "warnings", []))
        + [{"path": redact_path(rel), **w} for rel in sorted(ingested) for w in ingested[rel]["warnings"]]
    ]

    def counts(column: str) -> dict[str, int]:
        return {
            d["values"]: d["counts"]
            for d in sorted(pc.value_counts(table[column]).to_pylist(), key=lambda d: d["values"])
        }

    files = [p for p, _, _ in skipped if not p.endswith("/")]
    return {
        "repo": str(repo.resolve()),
        "product": product_name(repo),  # from package metadata and the README's title; questions name it
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
        "categories": _categories(walked, ingested, counts("category")),
        "warnings_by_kind": dict(sorted(Counter(w["kind"] for w in warnings).items())),
        "warnings": warnings,
        "skipped": [
            {"path": redact_path(p), "reason": reason, "detail": redact_path(detail)} for p, reason, detail in skipped
        ],
    }


def _categories(walked, ingested: dict[str, dict], units: dict[str, int]) -> dict[str, dict]:
    """What share of the repository each category is, and whether datasets use it by default (and why not)."""
    from corpus_ft.ingest.policy import CATEGORIES, EXCLUDED_BY_DEFAULT, WHY

    sizes = {c.rel: c.size for c in walked.files}
    out = {}
    for name in CATEGORIES:
        files = [rel for rel, r in ingested.items() if r.get("category") == name]
        if not files and not units.get(name):
            continue
        used = name not in EXCLUDED_BY_DEFAULT
        out[name] = {
            "files": len(files),
            "units": units.get(name, 0),
            "bytes": sum(sizes.get(f, 0) for f in files),
            "used": used,
            "why": "" if used else f"left out by default ({WHY[name]}); `datasets.include: [{name}]` keeps it",
        }
    return out
