"""`corpus-ft bench ingest`: speed against `ctags -R` on the same tree, and recall against ast and ctags."""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
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


def bench_ingest(
    repo_dir: str | Path, *, workers: int | None = None, exclude=(), recall: bool = True, repeat: int = 5
) -> dict:
    """`ctags -R`, a full ingest and an unchanged re-run, timed on the same tree.

    ctags, the `corpus-ft ingest` command (a fresh process: interpreter start and imports
    included, what a user waits for) and `ingest_repo` in this process run in turns, `repeat`
    times each, and each keeps its best time: a shared machine's noise weighs on all alike, and
    one noisy turn cannot set the ratio.
    """
    import os

    from corpus_ft.ingest import ingest_repo

    ctags = shutil.which("ctags")
    if ctags is None:
        raise CorpusFtError("ctags is not on PATH; install Universal Ctags (apt-get install universal-ctags)")
    repo = Path(repo_dir)
    with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-") as tmp:
        tags = Path(tmp) / "tags"
        ctags_runs, cli_runs, full_runs, floor_runs = [], [], [], []
        command = [sys.executable, "-m", "corpus_ft", "ingest", str(repo), "--out"]
        options = [*(["--workers", str(workers)] if workers else []), *(f"--exclude={g}" for g in exclude)]
        for turn in range(max(1, repeat)):
            ctags_runs.append(
                _timed(
                    lambda: subprocess.run([ctags, "-R", "-f", str(tags), str(repo)], check=False, capture_output=True)
                )
            )
            cli_out = Path(tmp) / f"cli{turn}"
            cli_runs.append(
                _timed(lambda: subprocess.run([*command, str(cli_out), *options], check=True, capture_output=True))
            )
            out = Path(tmp) / f"run{turn}"
            full_runs.append(_timed(lambda: ingest_repo(repo, out, workers=workers, exclude=exclude)))
            if turn == 0:
                code_files = _code_files(repo, out)
            floor_runs.append(_timed(lambda: _parse_only(code_files, full_runs[0][2]["workers"])))
        report = full_runs[0][2]
        full_wall, full_cpu = min(r[0] for r in full_runs), min(r[1] for r in full_runs)
        reruns = [_timed(lambda: ingest_repo(repo, out, workers=workers, exclude=exclude)) for _ in range(3)]
        from corpus_ft.ingest.table import read_units

        table = read_units(out / "units.parquet")
        result = {
            "repo": str(repo.resolve()),
            "cpus": os.cpu_count(),
            "workers": report["workers"],
            "files_seen": report["files_seen"],
            "files_ingested": report["files_ingested"],
            "mb_ingested": round(report["bytes_ingested"] / 1e6, 2),
            "units": report["units"],
        }
        result["turns"] = [
            {
                "ctags_wall_s": round(c[0], 3),
                "command_wall_s": round(m[0], 3),
                "in_process_wall_s": round(f[0], 3),
                "parse_only_wall_s": round(p[0], 3),
            }
            for c, m, f, p in zip(ctags_runs, cli_runs, full_runs, floor_runs)
        ]
        ctags_wall = min(r[0] for r in ctags_runs)
        ctags_cpu = min(r[1] for r in ctags_runs)
        rerun_wall, rerun_cpu = min(r[0] for r in reruns), min(r[1] for r in reruns)
        result["ctags"] = {"wall_s": round(ctags_wall, 3), "cpu_s": round(ctags_cpu, 3)}
        cli_wall, cli_cpu = min(r[0] for r in cli_runs), min(r[1] for r in cli_runs)
        # the ratio turn by turn (each against the ctags run just before it), as a check on the best-of figure
        result["median_turn_x_ctags_wall"] = {
            name: round(statistics.median(r[0] / c[0] for c, r in zip(ctags_runs, runs)), 2)
            for name, runs in (("full_command", cli_runs), ("full", full_runs))
        }
        for name, wall, cpu in (
            ("full_command", cli_wall, cli_cpu),
            ("full", full_wall, full_cpu),
            ("unchanged_rerun", rerun_wall, rerun_cpu),
        ):
            result[name] = {
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "files_per_s": round(report["files_seen"] / wall, 1),
                "mb_per_s": round(report["bytes_ingested"] / 1e6 / wall, 2),
                "x_ctags_wall": round(wall / ctags_wall, 2),
                "x_ctags_cpu": round(cpu / max(ctags_cpu, 1e-9), 2),
            }
        floor_wall = min(r[0] for r in floor_runs)
        solo_cpu = min(_timed(lambda: _parse_only(code_files, 1))[1] for _ in range(2))
        result["tree_sitter_parse_only"] = {
            "wall_s": round(floor_wall, 3),
            "x_ctags_wall": round(floor_wall / ctags_wall, 2),
            "one_process_cpu_s": round(solo_cpu, 3),
            "x_ctags_cpu": round(solo_cpu / max(ctags_cpu, 1e-9), 2),
            "note": (
                "read and tree-sitter-parse every code file in the same number of worker processes, nothing "
                "else (no units, no output): the floor under 'full' on this machine"
            ),
        }
        if recall:
            from corpus_ft.ingest.recall import ctags_recall, python_recall

            result["recall"] = {
                "python_vs_ast": python_recall(repo, table),
                "others_vs_ctags": ctags_recall(repo, table),
            }
    try:
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return result


def _code_files(repo: Path, run: Path) -> list[tuple[str, str]]:
    """(path, grammar) of every file a full ingest parsed with tree-sitter."""
    import json

    from corpus_ft.ingest.code import GRAMMARS

    index = json.loads((run / ".cache" / "ingest" / "files.json").read_text())["files"]
    files = []
    for rel, (_, _, _, record) in sorted(index.items()):
        language = "tsx" if rel.endswith(".tsx") else record.get("language")
        if record.get("status") == "ingested" and language in GRAMMARS:
            files.append((str(repo / rel), language))
    return files


def _parse_files(files: list[tuple[str, str]]) -> int:
    from corpus_ft.ingest.code import parser_for

    for path, language in files:
        with open(path, "rb") as f:
            parser_for(language)[0].parse(f.read())
    return len(files)


def _parse_only(files: list[tuple[str, str]], workers: int) -> int:
    """Read and parse every file with tree-sitter and nothing else, in `workers` forked processes."""
    if workers == 1:
        return _parse_files(files)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    batches = [files[i :: workers * 16] for i in range(workers * 16)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return sum(pool.map(_parse_files, batches))


def print_bench(result: dict) -> None:
    """The figures as a rich table on stderr."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(
        title=f"bench ingest: {result['repo']} ({result['files_seen']} files, {result['mb_ingested']} MB "
        f"ingested, {result['units']} units; {result['cpus']} CPUs, {result['workers']} workers, "
        f"load {result.get('load_average')})",
        title_justify="left",
    )
    for col in ("run", "wall s", "CPU s", "files/s", "MB/s", "x ctags (wall)", "x ctags (CPU)"):
        table.add_column(col, justify="right" if col != "run" else "left")
    table.add_row("ctags -R", str(result["ctags"]["wall_s"]), str(result["ctags"]["cpu_s"]), "", "", "1.0", "1.0")
    labels = {
        "full_command": "full: corpus-ft ingest",
        "full": "full: in this process",
        "unchanged_rerun": "unchanged re-run",
    }
    for name, label in labels.items():
        r = result[name]
        table.add_row(
            label,
            str(r["wall_s"]),
            str(r["cpu_s"]),
            str(r["files_per_s"]),
            str(r["mb_per_s"]),
            str(r["x_ctags_wall"]),
            str(r["x_ctags_cpu"]),
        )
    console.print(table)
    console.print(
        "best of " + str(len(result["turns"])) + " turns each; turns (ctags / command / in process / "
        "parse only): "
        + ", ".join(
            f"{t['ctags_wall_s']}/{t['command_wall_s']}/{t['in_process_wall_s']}/{t['parse_only_wall_s']} s"
            for t in result["turns"]
        )
    )
    median = result["median_turn_x_ctags_wall"]
    console.print(f"median of the turns' own ratios: command {median['full_command']}x, in process {median['full']}x")
    floor = result["tree_sitter_parse_only"]
    console.print(
        f"read + tree-sitter parse alone, same workers, nothing else: {floor['wall_s']} s = "
        f"{floor['x_ctags_wall']} x ctags (wall); in one process {floor['one_process_cpu_s']} CPU s = "
        f"{floor['x_ctags_cpu']} x ctags CPU"
    )
    rec = result.get("recall")
    if rec:
        py, other = rec["python_vs_ast"], rec["others_vs_ctags"]
        console.print(f"recall python vs ast (name and line span): {py['found']}/{py['expected']} = {py['recall']}")
        console.print(
            f"recall vs ctags (functions and methods): {other['found']}/{other['expected']} = {other['recall']}"
        )
        for lang, v in other["by_language"].items():
            console.print(f"  {lang}: {v['found']}/{v['expected']} = {v['recall']}")
