"""Several repositories in one run: each is ingested on its own, then their units are joined.

    ingest_repos([RepoSource(Path("docs-site"), "docs"), RepoSource(Path("billing"), "billing")], "runs/x")

Each repository keeps its own ingest (cache, report, manifest) under RUN/repos/<name>/, so a
change in one re-reads only that one; RUN/units.parquet joins them. In the joined file every
unit's `path` starts with its repository's name (`billing/README.md`) and its `id` is computed
from that path, so two repositories' README.md never share a path, an id or a split, and every
unit's `repo` column names where it came from. One repository is ingested exactly as before:
straight into RUN, paths relative to its root.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus_ft.util import CorpusFtError, with_run_lock

__all__ = ["RepoEntry", "RepoSource", "check_sources", "ingest_repos", "sources_key"]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class RepoEntry(BaseModel):
    """One entry of a recipe's `repos:` list (a plain string is its `path`)."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The repository's root directory.")
    name: str | None = Field(
        None,
        description="Names its units (`repo` column, path prefix); default: the directory's name. "
        "Two repositories with the same directory name need one each.",
    )
    include: list[str] = Field(default_factory=list, description="gitignore-style globs: only these are read.")
    exclude: list[str] = Field(default_factory=list, description="gitignore-style globs skipped in this repository.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not NAME.match(v):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names a directory and prefixes paths)")
        return v


@dataclass(frozen=True)
class RepoSource:
    """A repository to ingest, its name and its own include/exclude globs; `where` names it in errors."""

    path: Path
    name: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    where: str = ""


def default_name(path: Path) -> str:
    """The directory's name, with characters a name may not hold replaced by '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(os.path.realpath(path)).name).strip("-.")
    return name if name and NAME.match(name) else "repo"


def check_sources(sources: list[RepoSource], fix_name: str = "give each a name") -> list[RepoSource]:
    """Every repository exists, none is listed twice and no two share a name; the sources with names filled in.

    Errors (exit 2) name the entry (`repos[1].path`, `REPO #2`) and the fix; nothing has been written yet.
    """
    if not sources:
        raise CorpusFtError("no repository given; pass at least one repository directory")
    out, seen_paths, seen_names = [], {}, {}
    for i, s in enumerate(sources):
        where = s.where or f"repository #{i + 1}"
        if not s.path.exists():
            raise CorpusFtError(f"{where}: {s.path} does not exist; fix the path to the repository's root directory")
        if not s.path.is_dir():
            raise CorpusFtError(f"{where}: {s.path} is not a directory; pass the repository's root directory")
        real = os.path.realpath(s.path)
        if real in seen_paths:
            raise CorpusFtError(
                f"{where}: {s.path} is the same directory as {seen_paths[real]}; list each repository once"
            )
        seen_paths[real] = f"{where} ({s.path})"
        name = s.name or default_name(s.path)
        if name in seen_names:
            raise CorpusFtError(
                f"{where}: the name {name!r} ({s.path}) is already used by {seen_names[name]}; two repositories "
                f"need different names ({fix_name})"
            )
        seen_names[name] = f"{where} ({s.path})"
        out.append(RepoSource(Path(s.path), name, tuple(s.include), tuple(s.exclude), where))
    return out


def sources_key(sources: list[RepoSource]) -> list[dict]:
    """The sources as a manifest or stamp records them: a change of any makes the stages after ingest re-run."""
    return [
        {"name": s.name, "path": os.path.realpath(s.path), "include": list(s.include), "exclude": list(s.exclude)}
        for s in sources
    ]


def ingest_repos(
    sources: list[RepoSource],
    out_dir: str | os.PathLike,
    *,
    config=None,
    workers: int | None = None,
    progress: bool = False,
) -> dict:
    """Ingest one or several repositories into `out_dir`; returns the report (per repository under `repos`)."""
    from corpus_ft.ingest import _check_repo
    from corpus_ft.ingest.walk import check_output

    sources = check_sources(sources)
    out = Path(out_dir)
    if len(sources) == 1:
        return _ingest_one(sources[0], out, config=config, workers=workers, progress=progress)
    for s in sources:  # every check before the first write
        _check_repo(s.path)
        check_output(s.path, out)
    return _ingest_several(sources, out, config=config, workers=workers, progress=progress)


def _ingest_one(s: RepoSource, out: Path, *, config, workers, progress, **kw) -> dict:
    """One repository with its own include/exclude and name."""
    from corpus_ft.ingest import ingest_repo

    return ingest_repo(
        s.path,
        out,
        config=config,
        workers=workers,
        include=s.include,
        exclude=s.exclude,
        progress=progress,
        name=s.name,
        **kw,
    )


@with_run_lock("ingest", "out", create=True)
def _ingest_several(sources: list[RepoSource], out: Path, *, config, workers, progress) -> dict:
    """Each repository into RUN/repos/<name>/, then one units.parquet joining them (rewritten only on a change)."""
    from corpus_ft.ingest import IngestConfig
    from corpus_ft.util import atomic_write_json, is_up_to_date, write_manifest

    started = time.perf_counter()
    config = config or IngestConfig()
    reports = {}
    for s in sources:  # a run directory inside one repository is never read as its input
        reports[s.name] = _ingest_one(
            s, out / "repos" / s.name, config=config, workers=workers, progress=progress, skip_dirs=(out,)
        )
    inputs = {f"repos/{s.name}": out / "repos" / s.name / "units.parquet" for s in sources}
    manifest_config = {**config.model_dump(), "repos": sources_key(sources)}
    unchanged = all(r.get("cache", {}).get("unchanged") for r in reports.values())
    fresh = (
        (out / "units.parquet").is_file()
        and (out / "ingest_report.json").is_file()
        and is_up_to_date(out, inputs, manifest_config)
    )
    if not fresh:
        table = _join(sources, out)
        units_total = table.num_rows
    else:
        units_total = sum(r.get("units", 0) for r in reports.values())
    report = _joined_report(sources, reports)
    report.update(
        seconds=round(time.perf_counter() - started, 3),
        workers=max(r.get("workers", 1) for r in reports.values()),
        cache={
            "reused_files": sum(r["cache"]["reused_files"] for r in reports.values()),
            "parsed_files": sum(r["cache"]["parsed_files"] for r in reports.values()),
            "unchanged": unchanged and fresh,
        },
    )
    report["units"] = units_total
    atomic_write_json(out / "ingest_report.json", report)
    if not fresh:
        write_manifest(out, "ingest", inputs, manifest_config)
    return report


def _join(sources: list[RepoSource], out: Path):
    """RUN/units.parquet from each repository's units: paths prefixed with the name, ids from those paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus_ft.ingest.table import _DICTIONARY, read_units, schema, unit_id, with_repo
    from corpus_ft.util import atomic_file

    tables = []
    for s in sources:
        t = read_units(out / "repos" / s.name / "units.parquet")
        paths = [f"{s.name}/{p}" for p in t["path"].to_pylist()]
        keys = t.select(["start_line", "end_line", "kind", "name", "sha256"]).to_pylist()
        ids = [unit_id(p, k) for p, k in zip(paths, keys)]
        t = t.set_column(t.column_names.index("path"), "path", pa.array(paths, pa.string()))
        t = t.set_column(t.column_names.index("id"), "id", pa.array(ids, pa.string()))
        tables.append(with_repo(t, s.name).select(schema().names).cast(schema()))
    table = pa.concat_tables(tables)
    with atomic_file(out / "units.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=_DICTIONARY, row_group_size=16384)
    return table


def _prefixed(items: list[dict], name: str) -> list[dict]:
    return [{**item, "path": f"{name}/{item['path']}"} if "path" in item else dict(item) for item in items]


def _joined_report(sources: list[RepoSource], reports: dict[str, dict]) -> dict:
    """The per-repository reports summed (counts), concatenated (warnings, skipped files) and listed under `repos`."""
    first = reports[sources[0].name]
    out: dict = {
        "repo": first["repo"],  # readers that know one repository get the first
        "product": first.get("product"),
        "parser_version": first.get("parser_version"),
    }
    for key in ("files_seen", "files_ingested", "files_skipped", "dirs_skipped", "files_without_units"):
        out[key] = sum(r.get(key, 0) for r in reports.values())
    out["bytes_ingested"] = sum(r.get("bytes_ingested", 0) for r in reports.values())
    for key in (
        "skipped_by_reason",
        "units_by_kind",
        "units_by_language",
        "files_by_language",
        "encodings",
        "warnings_by_kind",
    ):
        total: Counter = Counter()
        for r in reports.values():
            total.update(r.get(key) or {})
        out[key] = dict(sorted(total.items()))
    categories: dict = {}
    for r in reports.values():
        for name, c in (r.get("categories") or {}).items():
            into = categories.setdefault(name, {**c, "files": 0, "units": 0, "bytes": 0})
            for k in ("files", "units", "bytes"):
                into[k] += c.get(k, 0)
    out["categories"] = categories
    out["warnings"] = [w for s in sources for w in _prefixed(reports[s.name].get("warnings") or [], s.name)]
    out["skipped"] = [w for s in sources for w in _prefixed(reports[s.name].get("skipped") or [], s.name)]
    out["repos"] = [
        {
            "name": s.name,
            "path": reports[s.name]["repo"],
            "product": reports[s.name].get("product"),
            "files_ingested": reports[s.name].get("files_ingested", 0),
            "files_skipped": reports[s.name].get("files_skipped", 0),
            "units": reports[s.name].get("units", 0),
            "units_by_kind": reports[s.name].get("units_by_kind") or {},
        }
        for s in sources
    ]
    return out
