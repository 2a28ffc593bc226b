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


# --- D2: export and tiny-model never replace a folder corpus-ft did not write --------------------------


def test_d2_export_refuses_the_run_its_model_and_dot(tmp_path, monkeypatch):
    """D2: `export RUN --merge RUN` replaced the whole run with one GGUF, `--merge RUN/model` deleted the
    adapter and checkpoints, `--merge .` raised ValueError and left a full model in ..XXXX.tmp/."""
    run = tmp_path / "run"
    _write(run, {"units.parquet": b"PAR1", "model/adapter/adapter_config.json": "{}", "model/metrics.jsonl": "{}\n"})
    before = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    for target in (run, run / "model", run / "model" / "adapter"):
        r = cli("export", run, "--merge", target, "--quantize", "gguf-f16")
        assert r.exit_code == 2 and str(run) in r.output and "Traceback" not in r.output, r.output
    monkeypatch.chdir(run)
    r = cli("export", run, "--merge", ".")
    assert r.exit_code == 2 and "ValueError" not in r.output, r.output
    mine = tmp_path / "mine"
    _write(mine, {"thesis.tex": "my thesis\n"})
    r = cli("export", run, "--merge", mine)
    assert r.exit_code == 2 and "thesis.tex" in r.output and "did not write" in r.output, r.output
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"]


def test_d2_tiny_model_refuses_a_folder_with_the_users_files(tmp_path):
    """D2: `tiny-model DIR` wiped a non-empty DIR."""
    mine = tmp_path / "mine"
    _write(mine, {"photo.jpg": b"\xff\xd8"})
    r = cli("tiny-model", mine, "--vocab-size", "300", "--hidden-size", "32", "--layers", "1")
    assert r.exit_code == 2 and "photo.jpg" in r.output, r.output
    assert (mine / "photo.jpg").read_bytes() == b"\xff\xd8"
    out = tmp_path / "tiny"
    for _ in range(2):  # a new folder, then its own earlier output: both fine
        r = cli("tiny-model", out, "--vocab-size", "300", "--hidden-size", "32", "--layers", "1")
        assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "tiny"]
