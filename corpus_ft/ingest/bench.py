"""`corpus-ft bench ingest`: speed against `ctags -R` on the same tree, and recall against ast and ctags."""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from corpus_ft.util import CorpusFtError


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process and its finished children, result)."""
    wall, cpu = time.perf_counter(), _cpu()
    result = fn()
    return time.perf_counter() - wall, _cpu() - cpu, result


def bench_ingest(repo_dir: str | Path, *, workers: int | None = None, exclude=(), recall: bool = True) -> dict:
    """Full ingest, unchanged re-run and `ctags -R` timed in one process, best of a few runs each."""
    import os

    from corpus_ft.ingest import ingest_repo

    ctags = shutil.which("ctags")
    if ctags is None:
        raise CorpusFtError("ctags is not on PATH; install Universal Ctags (apt-get install universal-ctags)")
    repo = Path(repo_dir)
    with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-") as tmp:
        tags = Path(tmp) / "tags"
        ctags_runs = [_timed(lambda: subprocess.run([ctags, "-R", "-f", str(tags), str(repo)], check=False,
                                                    capture_output=True)) for _ in range(2)]
        out = Path(tmp) / "run"
        full_wall, full_cpu, report = _timed(lambda: ingest_repo(repo, out, workers=workers, exclude=exclude))
        reruns = [_timed(lambda: ingest_repo(repo, out, workers=workers, exclude=exclude)) for _ in range(3)]
        from corpus_ft.ingest.table import read_units

        table = read_units(out / "units.parquet")
        result = {"repo": str(repo.resolve()), "cpus": os.cpu_count(), "workers": report["workers"],
                  "files_seen": report["files_seen"], "files_ingested": report["files_ingested"],
                  "mb_ingested": round(report["bytes_ingested"] / 1e6, 2), "units": report["units"]}
        ctags_wall = min(r[0] for r in ctags_runs)
        ctags_cpu = min(r[1] for r in ctags_runs)
        rerun_wall, rerun_cpu = min(r[0] for r in reruns), min(r[1] for r in reruns)
        result["ctags"] = {"wall_s": round(ctags_wall, 3), "cpu_s": round(ctags_cpu, 3)}
        for name, wall, cpu in (("full", full_wall, full_cpu), ("unchanged_rerun", rerun_wall, rerun_cpu)):
            result[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                            "files_per_s": round(report["files_seen"] / wall, 1),
                            "mb_per_s": round(report["bytes_ingested"] / 1e6 / wall, 2),
                            "x_ctags_wall": round(wall / ctags_wall, 2), "x_ctags_cpu": round(cpu / max(ctags_cpu, 1e-9), 2)}
        floor_wall, floor_cpu, _ = _timed(lambda: _parse_only(repo, table))
        result["tree_sitter_parse_only"] = {
            "cpu_s": round(floor_cpu, 3), "x_ctags_cpu": round(floor_cpu / max(ctags_cpu, 1e-9), 2),
            "note": "one process, tree-sitter parse of every code file and nothing else: the floor for 'full'"}
        if recall:
            from corpus_ft.ingest.recall import ctags_recall, python_recall

            result["recall"] = {"python_vs_ast": python_recall(repo, table), "others_vs_ctags": ctags_recall(repo, table)}
    try:
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return result


def _parse_only(repo: Path, table) -> int:
    """Parse each code file once with tree-sitter (no extraction), to show what parsing alone costs."""
    from corpus_ft.ingest.code import GRAMMARS, parser_for

    files = dict(zip(table["path"].to_pylist(), table["language"].to_pylist()))
    n = 0
    for rel, language in sorted(files.items()):
        if language == "typescript" and rel.endswith(".tsx"):
            language = "tsx"
        if language in GRAMMARS:
            parser_for(language)[0].parse((repo / rel).read_bytes())
            n += 1
    return n


def print_bench(result: dict) -> None:
    """The figures as a rich table on stderr."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"bench ingest: {result['repo']} ({result['files_seen']} files, {result['mb_ingested']} MB "
                        f"ingested, {result['units']} units; {result['cpus']} CPUs, {result['workers']} workers, "
                        f"load {result.get('load_average')})", title_justify="left")
    for col in ("run", "wall s", "CPU s", "files/s", "MB/s", "x ctags (wall)", "x ctags (CPU)"):
        table.add_column(col, justify="right" if col != "run" else "left")
    table.add_row("ctags -R", str(result["ctags"]["wall_s"]), str(result["ctags"]["cpu_s"]), "", "", "1.0", "1.0")
    for name in ("full", "unchanged_rerun"):
        r = result[name]
        table.add_row(name.replace("_", " "), str(r["wall_s"]), str(r["cpu_s"]), str(r["files_per_s"]),
                      str(r["mb_per_s"]), str(r["x_ctags_wall"]), str(r["x_ctags_cpu"]))
    console.print(table)
    floor = result["tree_sitter_parse_only"]
    console.print(f"tree-sitter parse alone (one process, no extraction): {floor['cpu_s']} CPU s = "
                  f"{floor['x_ctags_cpu']} x ctags CPU")
    rec = result.get("recall")
    if rec:
        py, other = rec["python_vs_ast"], rec["others_vs_ctags"]
        console.print(f"recall python vs ast (name and line span): {py['found']}/{py['expected']} = {py['recall']}")
        console.print(f"recall vs ctags (functions and methods): {other['found']}/{other['expected']} = {other['recall']}")
        for lang, v in other["by_language"].items():
            console.print(f"  {lang}: {v['found']}/{v['expected']} = {v['recall']}")
