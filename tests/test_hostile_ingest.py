"""Issue 14, ingest rows: a hostile repository never hangs, crashes or leaks out of the walk."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from corpus_ft.ingest import IngestConfig, ingest_repo
from corpus_ft.ingest.walk import walk


def _write(root, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())


def test_directory_links_pointing_at_each_other_end(tmp_path):
    """Row 1: a/tob -> ../b and b/toa -> ../a used to walk forever (100% CPU, memory growing)."""
    _write(tmp_path, {"a/one.md": "# One\n\ntext\n", "b/two.md": "# Two\n\ntext\n"})
    os.symlink("../b", tmp_path / "a" / "tob")
    os.symlink("../a", tmp_path / "b" / "toa")
    result = walk(tmp_path, IngestConfig())
    assert [c.rel for c in result.files] == ["a/one.md", "b/two.md"]  # each file once, by its real path
    reasons = {p: r for p, r, _ in result.skipped}
    assert reasons == {"a/tob/": "symlink_duplicate", "b/toa/": "symlink_duplicate"}


@pytest.mark.parametrize("pattern", ["foo\\", "[z-a]"])
def test_gitignore_line_that_cannot_compile_is_reported_and_skipped(tmp_path, pattern):
    """Row 2: a line git accepts but the matcher rejects was a traceback (exit 1, nothing written)."""
    _write(
        tmp_path / "repo",
        {
            ".gitignore": f"*.log\n{pattern}\n",
            "sub/.gitignore": f"{pattern}\nx.md\n",
            "keep.md": "# Keep\n\nkept\n",
            "debug.log": "noise\n",
            "sub/x.md": "# X\n\nignored\n",
            "sub/y.md": "# Y\n\nkept\n",
        },
    )
    report = ingest_repo(tmp_path / "repo", tmp_path / "run", workers=1, exclude=[pattern])
    bad = {(w["path"], w["line"]) for w in report["warnings"] if w["kind"] == "bad_ignore_pattern"}
    assert bad == {
        (".gitignore", 2),
        ("sub/.gitignore", 1),
        ("ingest.exclude", len(IngestConfig().default_excludes) + 1),
    }
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["debug.log"] == "gitignored" and reasons["sub/x.md"] == "gitignored"  # the good lines still apply
    assert report["files_ingested"] >= 2 and (tmp_path / "run" / "units.parquet").is_file()


def test_a_run_directory_inside_the_repository_is_never_ingested(tmp_path):
    """An earlier run left in the repository was read back as documents (its card, jsonl, report)."""
    repo = tmp_path / "repo"
    _write(repo, {"guide.md": "# Guide\n\nHow the service is deployed and rolled back.\n"})
    ingest_repo(repo, repo / "runs" / "old", workers=1)  # an earlier run written inside the repo
    _write(
        repo,
        {
            "runs/old/datasets/qa/card.md": "# Card\n\ngenerated\n",
            "stale/manifest.json": json.dumps({"stage": "build", "versions": {}, "inputs": {}}),
        },
    )
    report = ingest_repo(repo, tmp_path / "run", workers=1)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["runs/old/"] == "run_directory" and reasons["stale/"] == "run_directory"
    assert report["files_ingested"] == 1


CLI = [sys.executable, "-m", "corpus_ft.cli"]
DOCS = {
    f"docs/page{i}.md": f"# Page {i}\n\n## Setup\n\nThe service {i} reads its settings from the config file "
    f"and restarts on change.\n\n## Rollback\n\nRoll back service {i} with the deploy tool.\n"
    for i in range(6)
}


def test_a_second_writer_gets_a_clear_message_not_a_race(tmp_path):
    """Row 8: two `build all` at once both exited 0 with splits from different seeds and left .tmp dirs."""
    _write(tmp_path / "repo", DOCS)
    run = tmp_path / "run"
    ingest_repo(tmp_path / "repo", run, workers=1)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\nfrom corpus_ft.util import run_lock\n"
                f"with run_lock({str(run)!r}, 'build'):\n    print('held', flush=True)\n    time.sleep(60)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run(CLI + ["build", "all", "--run", str(run)], capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stderr
        assert f"in use by corpus-ft build (pid {holder.pid}" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr and not (run / "datasets").exists()
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait(10)
    again = subprocess.run(CLI + ["build", "all", "--run", str(run)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr


def test_stale_temp_files_of_a_killed_writer_are_cleaned_at_start(tmp_path):
    """Row 9: `.units.parquet.*.tmp` and `datasets/.*.tmp` from a kill -9 stayed forever."""
    _write(tmp_path / "repo", DOCS)
    run = tmp_path / "run"
    ingest_repo(tmp_path / "repo", run, workers=1)
    stale = [  # a dead process's token: pid 999999999 (beyond pid_max)
        run / ".units.parquet.cft-999999999-k3j2h1ab.tmp",
        run / "datasets" / ".qa.cft-999999999-a1b2c3de.tmp" / "train.jsonl",
        run / "datasets" / ".paragraphs.cft-999999999-17abcdef.old" / "stats.json",
        run / ".ingest_report.json.cft-999999999-x9aaaaaa.tmp",
    ]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 10_000)
    (run / "datasets" / "notes.tmp.md").write_text("a user's file, not ours\n")
    ingest_repo(tmp_path / "repo", run, workers=1)
    leftovers = sorted(p.name for p in run.rglob("*") if ".tmp" in p.name or ".old" in p.name)
    assert leftovers == ["notes.tmp.md"], leftovers


def test_killed_ingest_leaves_nothing_after_the_next_run(tmp_path):
    """Row 9 for real: kill -9 in the middle of writing units.parquet, then run again."""
    big = {
        f"src/m{i}.py": "".join(f"def f{j}():\n    '''Doc {j}.'''\n    return {j}\n\n" for j in range(400))
        for i in range(40)
    }
    _write(tmp_path / "repo", big)
    run = tmp_path / "run"
    proc = subprocess.Popen(
        CLI + ["ingest", str(tmp_path / "repo"), "--out", str(run), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(run.glob(".units.parquet.*.tmp")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    ingest_repo(tmp_path / "repo", run, workers=1)
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert (run / "units.parquet").is_file()


def _nested_classes(n: int) -> str:
    lines = []
    for i in range(n):
        ind = "    " * i
        lines += [
            f"{ind}class C{i}:",
            f'{ind}    """Level {i} of the nesting."""',
            f"{ind}    def m{i}(self):",
            f"{ind}        return {i}",
        ]
    return "\n".join(lines) + "\n"


def test_deeply_nested_definitions_make_linear_unit_text(tmp_path):
    """Row 5: 500 nested classes (507 KB) made 169 MB of unit text and a 418 MB removed.jsonl."""
    import ast

    import pyarrow.parquet as pq

    from corpus_ft.datasets import build_dataset

    src = _nested_classes(150)
    _write(tmp_path / "repo", {"deep.py": src, "docs/a.md": "# A\n\nSome prose about the service and its setup.\n"})
    run = tmp_path / "run"
    ingest_repo(tmp_path / "repo", run, workers=1)
    units = pq.read_table(run / "units.parquet").to_pylist()
    code = [u for u in units if u["path"] == "deep.py"]
    assert len(code) == 300  # every class and method is still a unit (recall unchanged)
    total = sum(len(u["text"]) for u in code)
    assert total <= 3 * len(src), f"{total} bytes of unit text for a {len(src)}-byte file"
    outer = next(u for u in code if u["name"] == "C0")
    assert "def m0(self)" in outer["text"] and "C0.C1 (lines 5-600) is a unit of its own" in outer["text"]
    ast.parse(outer["text"])  # what stands for the nested class is still code
    stats = build_dataset("code_summary", run, generator="heuristic", max_chars=200)
    removed = (run / "datasets" / "code_summary" / "removed.jsonl").read_text().splitlines()
    assert stats["removed"]["too_long"] > 0
    row = json.loads(removed[0])
    assert set(row) >= {"id", "reason", "source", "preview"} and "record" not in row and len(row["preview"]) <= 200
    # a row is its id, reason, source and a 200-character preview (~400 bytes), never the whole record
    assert (run / "datasets" / "code_summary" / "removed.jsonl").stat().st_size < 450 * len(removed)


def test_terminal_escapes_and_nul_never_reach_a_dataset(tmp_path):
    """Row 10: escapes and NULs in repository text reached train.jsonl."""
    from corpus_ft.datasets import build_dataset

    filler = "".join(
        f"Line {i} of plain prose about the reconciliation service and its nightly job.\n" for i in range(120)
    )  # pushes the NUL past the 8 KiB that binary sniffing reads
    files = {
        f"docs/p{i}.md": f"# Page {i}\n\n## Escapes\n\nBefore \x1b[2J\x1b[H spoofed \x1b]0;title\x07 after, "
        f"for page {i} of the operations guide, which says how the nightly reconciliation job is started, "
        f"watched and stopped, and whom to call when it fails.\n\n## More\n\n{filler}NUL \x00 here.\n"
        for i in range(4)
    }
    _write(tmp_path / "repo", files)
    run = tmp_path / "run"
    ingest_repo(tmp_path / "repo", run, workers=1)
    stats = build_dataset("paragraphs", run)
    out = run / "datasets" / "paragraphs"
    data = b"".join((out / f"{s}.jsonl").read_bytes() for s in ("train", "validation", "test"))
    assert b"spoofed" in data
    assert not re.search(rb"\\u00[01][0-9a-f]|\\u007f|[\x00-\x08\x0b-\x1f]", data)
    assert stats["control_characters_removed"] >= 4 * 4
    assert f"removed from unit text: {stats['control_characters_removed']}." in (out / "card.md").read_text()
