"""The Makefile, run for real in a temporary copy of the checkout: it never calls a stale result up to date
(a SET= change and a queries edit re-run exactly the stages they affect), a failed make leaves nothing
behind, and values in SET=, REPO=, PROFILE= reach corpus-ft without a shell or make evaluating them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_ft.recipe import load_recipe
from corpus_ft.run import run_recipe
from tests.make_fixtures import ROOT, tiny_recipe, write_queries, write_repo

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")


def _checkout(tmp: Path) -> Path:
    """The files make reads, copied; a fresh `.venv/.installed` so that the venv target is satisfied."""
    co = tmp / "checkout"
    co.mkdir()
    shutil.copy(ROOT / "Makefile", co)
    shutil.copy(ROOT / "pyproject.toml", co)
    shutil.copy(ROOT / "constraints.txt", co)
    shutil.copytree(ROOT / "recipes", co / "recipes")
    (co / ".venv").mkdir()
    (co / ".venv" / ".installed").touch()
    return co


def _make(co: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAKEFLAGS": "", "PYTHONPATH": str(ROOT), "HOME": str(home or co)}
    env.pop("MAKELEVEL", None)
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"CORPUS_FT={sys.executable} -m corpus_ft.cli"],
        cwd=co,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _status(out: str) -> dict[str, str]:
    """{stage: "ran" | "up to date"} from the summary lines `corpus-ft run` prints."""
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("ingest", "datasets", "review", "estimate", "train", "evaluate"):
            if parts[1] == "ran":
                found[parts[0]] = "ran"
            elif parts[1:3] == ["up", "to"]:
                found[parts[0]] = "up to date"
    return found


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A checkout to run make in, a small repository, its queries and a tiny-model recipe (nothing run yet)."""
    tmp = tmp_path_factory.mktemp("make")
    repo = write_repo(tmp / "repo")
    queries = write_queries(tmp / "queries.yaml")
    recipe = tiny_recipe(tmp / "small.yaml", repo, tmp / "run", queries)
    return _checkout(tmp), recipe, queries, tmp / "run"


@pytest.fixture(scope="module")
def made(small):
    """`small` run once through every stage (in this process: torch is imported once)."""
    run_recipe(load_recipe(small[1]), echo=lambda _: None)
    return small


@pytest.mark.slow
def test_a_set_change_and_a_queries_edit_rerun_exactly_the_stages_they_affect(made):
    """Two real make processes that train/evaluate the tiny model (~20 s each on 2 idle cores, more loaded).

    The old Makefile compared file times only: it called `train` up to date after SET="train.lora_r=8"
    and `evaluate` up to date after the queries file changed."""
    co, recipe, queries, run = made
    same = _make(co, "evaluate", f"RECIPE={recipe}")
    assert same.returncode == 0, same.stderr
    assert "ran" not in _status(same.stderr).values(), same.stderr

    changed = _make(co, "train", f"RECIPE={recipe}", "SET=train.lora_r=8")
    assert changed.returncode == 0, changed.stderr
    assert _status(changed.stderr) == {
        "ingest": "up to date",
        "datasets": "up to date",
        "estimate": "ran",  # the memory plan depends on the rank
        "train": "ran",
    }, changed.stderr
    assert json.loads((run / "model" / "train_config.json").read_text())["lora_r"] == 8

    write_queries(queries, answer="9101")  # the file a user edits most
    edited = _make(co, "evaluate", f"RECIPE={recipe}", "SET=train.lora_r=8")
    assert edited.returncode == 0, edited.stderr
    status = _status(edited.stderr)
    assert status["train"] == "up to date" and status["evaluate"] == "ran", edited.stderr
    assert "9101" in (run / "eval" / "results.jsonl").read_text()


@pytest.mark.slow
def test_a_failed_make_leaves_no_stamp_or_temp_file(made, tmp_path):
    """The old Makefile's `all` target left RUN_DIR/.stamps/all.tmp behind when the run failed."""
    co, recipe, _, run = made
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    checkout_before = sorted(p.relative_to(co) for p in co.rglob("*"))
    refused = _make(co, "train", f"RECIPE={recipe}", "SET=train.lora_r=eight")  # refused before any stage
    assert refused.returncode == 2 and "train.lora_r: Input should be a valid integer" in refused.stderr
    failed = _make(co, "all", f"RECIPE={recipe}", "SET=train.seq_len=16")  # fails in the train stage
    assert failed.returncode != 0 and "seq_len" in failed.stderr, failed.stderr
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    assert sorted(p.relative_to(co) for p in co.rglob("*")) == checkout_before


# --- values from the command line are data, never code (make, then bash, then corpus-ft) ---------


def test_a_shell_command_in_set_is_not_run(small, tmp_path):
    co, recipe, _, _ = small
    home = tmp_path / "home"
    home.mkdir()
    for value in (
        "train.lora_r=8; touch $HOME/pwned",
        "train.lora_r=8 `touch $HOME/pwned`",
        "train.lora_r=$(touch $HOME/pwned)",
        "train.lora_r=$(shell touch pwned)",  # make's own function syntax
    ):
        r = _make(co, "estimate", f"RECIPE={recipe}", f"SET={value}", home=home)
        assert r.returncode == 2, (value, r.stderr)
        assert "train.lora_r" in r.stderr and "valid integer" in r.stderr, r.stderr
        assert not (home / "pwned").exists() and not (co / "pwned").exists(), value


def test_a_backtick_in_repo_or_profile_is_not_run(small, tmp_path):
    co, recipe, _, _ = small
    home = tmp_path / "home"
    home.mkdir()
    r = _make(co, "ingest", f"RECIPE={recipe}", "REPO=/nowhere`touch $HOME/pwned`", home=home)
    assert r.returncode == 2 and "nowhere" in r.stderr, r.stderr
    r = _make(co, "ingest", f"RECIPE={recipe}", "PROFILE=cpu$(touch $HOME/pwned)", home=home)
    assert r.returncode == 2 and "no such profile" in r.stderr, r.stderr
    assert not (home / "pwned").exists()


def test_quotes_in_set_and_odd_repository_and_file_names_work(small, tmp_path):
    """An apostrophe in SET, a REPO path with a space, a newline and a colon, files named `a:b.md` and `k;l.md`:
    the old Makefile passed SET through the shell and listed every repository file as a prerequisite."""
    co, recipe, _, _ = small
    repo = tmp_path / "my repo:\nv2"
    write_repo(repo)
    (repo / "docs" / "a:b.md").write_text("# Colons\n\nThe colon page says the billing port is 9100.\n")
    (repo / "docs" / "k;l.md").write_text("# Semicolons\n\nThe semicolon page says restarts take ten seconds.\n")
    r = _make(co, "ingest", f"RECIPE={recipe}", f"REPO={repo}", "SET=description=It's_mine evaluate.queries=null")
    assert r.returncode == 0, r.stderr
    assert _status(r.stderr) == {"ingest": "ran"}, r.stderr
    info = subprocess.run(
        [sys.executable, "-m", "corpus_ft.cli", "recipe-info", str(recipe), "--repo", str(repo), "--field", "run_dir"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    run = Path(info.stdout.strip())
    import pandas as pd

    paths = set(pd.read_parquet(run / "units.parquet")["path"])
    assert {"docs/a:b.md", "docs/k;l.md"} <= paths
