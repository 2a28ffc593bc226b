"""Issue 14, ingest rows: a hostile repository never hangs, crashes or leaks out of the walk."""

from __future__ import annotations

import json
import os

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
    _write(tmp_path / "repo", {".gitignore": f"*.log\n{pattern}\n", "sub/.gitignore": f"{pattern}\nx.md\n",
                               "keep.md": "# Keep\n\nkept\n", "debug.log": "noise\n", "sub/x.md": "# X\n\nignored\n",
                               "sub/y.md": "# Y\n\nkept\n"})
    report = ingest_repo(tmp_path / "repo", tmp_path / "run", workers=1, exclude=[pattern])
    bad = {(w["path"], w["line"]) for w in report["warnings"] if w["kind"] == "bad_ignore_pattern"}
    assert bad == {(".gitignore", 2), ("sub/.gitignore", 1), ("ingest.exclude", len(IngestConfig().default_excludes) + 1)}
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["debug.log"] == "gitignored" and reasons["sub/x.md"] == "gitignored"  # the good lines still apply
    assert report["files_ingested"] >= 2 and (tmp_path / "run" / "units.parquet").is_file()


def test_a_run_directory_inside_the_repository_is_never_ingested(tmp_path):
    """An earlier run left in the repository was read back as documents (its card, jsonl, report)."""
    repo = tmp_path / "repo"
    _write(repo, {"guide.md": "# Guide\n\nHow the service is deployed and rolled back.\n"})
    ingest_repo(repo, repo / "runs" / "old", workers=1)  # an earlier run written inside the repo
    _write(repo, {"runs/old/datasets/qa/card.md": "# Card\n\ngenerated\n",
                  "stale/manifest.json": json.dumps({"stage": "build", "versions": {}, "inputs": {}})})
    report = ingest_repo(repo, tmp_path / "run", workers=1)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["runs/old/"] == "run_directory" and reasons["stale/"] == "run_directory"
    assert report["files_ingested"] == 1
