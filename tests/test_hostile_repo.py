"""Issue 14's hostile repository end to end (the checks of `corpus-ft bench hostile`, in process):
every file accounted for, nothing read from outside the root, no planted secret past units.parquet,
no control character in a dataset or on the terminal."""

from __future__ import annotations

import io
import json

from rich.console import Console

from corpus_ft.bench.hostile import build_repo, inspect_run
from corpus_ft.datasets import build_all
from corpus_ft.ingest import ingest_repo
from corpus_ft.review import write_report
from corpus_ft.review.terminal import print_sample


def test_hostile_repository_is_ingested_built_and_reviewed_safely(tmp_path):
    cases = build_repo(tmp_path / "repo", tmp_path / "outside", scale=1)
    run = tmp_path / "run"
    report = ingest_repo(tmp_path / "repo", run, workers=2)
    stats = build_all(run)
    write_report(run)
    buf = io.StringIO()
    print_sample(run, 3, console=Console(file=buf, width=160, color_system=None))
    checks = inspect_run(tmp_path / "repo", run, json.loads(json.dumps(report)), buf.getvalue())
    assert checks["unaccounted"] == [], "every file becomes units or a reported skip"
    assert checks["outside_reads"] == [] and checks["leaks"] == [] and checks["control_characters"] == []
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    for path, reason in {
        "blob.py": "binary",
        "bundle.js": "minified",
        "huge.md": "too_large",
        "pipe.md": "not_regular_file",
        "outside.md": "symlink_outside_root",
        "outside_dir/": "symlink_outside_root",
        "a/tob/": "symlink_duplicate",
        "b/toa/": "symlink_duplicate",
        "runs/old/": "run_directory",
        "bad\\udcffname.md": "bad_file_name",
        "bad-bom.md": "decode_error",
    }.items():
        assert reasons.get(path) == reason, (path, reasons.get(path), cases.get(path))
    assert {w["path"] for w in report["warnings"] if w["kind"] == "bad_ignore_pattern"} == {
        ".gitignore",
        "sub/.gitignore",
        "leaks/.gitignore",  # its bad line holds a token: the warning quotes it redacted
    }
    assert stats["paragraphs"]["control_characters_removed"] >= 5
    assert stats["paragraphs"]["redactions"]["secret_keyword"] >= 1
    assert checks["output_bytes"] < 4 * sum(
        p.stat().st_size
        for p in (tmp_path / "repo").rglob("*")
        if p.is_file() and not p.is_symlink() and p.name != "pipe.md"
    )
