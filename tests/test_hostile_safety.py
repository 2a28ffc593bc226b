"""Issue 24, data-loss and filesystem rows: a command deletes only what it created, never a user's files."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.ingest import ingest_repo

CLI = [sys.executable, "-m", "corpus_ft.cli"]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _write(root: Path, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())


DOC = {"guide.md": "# Guide\n\nHow the service is deployed and rolled back.\n"}
USER_FILES = {  # names today's stale-temp cleaner took for its own
    ".chapter1.tex.tmp": "my thesis, chapter 1\n",
    ".cache/app/.state.tmp": "an app's state\n",
    "photos/.album.old-999999-1/IMG.jpg": b"\xff\xd8 a photo",
    "notes/.draft.md.tmp.bak": "a draft\n",
}


def test_d1_ingest_into_a_folder_keeps_the_users_temp_looking_files(tmp_path):
    """D1: `ingest REPO --out DIR` deleted .chapter1.tex.tmp, .cache/app/.state.tmp and photos/.album.old-999999-1/."""
    _write(tmp_path / "repo", DOC)
    out = tmp_path / "mine"
    _write(out, USER_FILES)
    ingest_repo(tmp_path / "repo", out, workers=1)
    for rel, data in USER_FILES.items():
        p = out / rel
        assert p.is_file(), f"{rel} was deleted"
        assert p.read_bytes() == (data if isinstance(data, bytes) else data.encode())
    assert (out / "units.parquet").is_file()
