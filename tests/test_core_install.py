"""The core install (no `train` extra) ingests, builds and reviews; training commands name the extra.

A fresh venv whose site-packages hold every installed package except those of the `train` and `bench`
extras stands in for `pip install corpus-ft` without them (the README's full check is a real fresh
venv; this one costs seconds, not a resolver run).
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from corpus_ft.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
# distributions of the optional extras, as their top-level modules and dist-info names start
OPTIONAL = {*EXTRAS["train"], *EXTRAS["bench"], "bitsandbytes", "tensorboard", "rouge_score", "liger_kernel"}
OPTIONAL_DIST = {"torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "tensorboard", "matplotlib"}
OPTIONAL_DIST |= {"rouge_score", "gguf", "liger_kernel"}


def _core_python(tmp: Path) -> Path:
    """A venv that sees the test environment's packages minus the optional extras."""
    filtered = tmp / "core" / "site-packages"  # dill tells installed modules from builtins by this name
    filtered.mkdir(parents=True)
    source = Path(next(p for p in site.getsitepackages() if p.endswith("site-packages")))
    for entry in source.iterdir():
        top = entry.name.split("-")[0].split(".")[0].lower().replace("-", "_")
        if top in OPTIONAL or top in OPTIONAL_DIST or entry.name.startswith("__editable__"):
            continue
        if entry.suffix == ".pth":
            continue
        (filtered / entry.name).symlink_to(entry)
    venv = tmp / "core-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (target,) = venv.glob("lib/python*/site-packages")
    (target / "core.pth").write_text(f"import site; site.addsitedir({str(filtered)!r})\n")
    return venv / "bin" / "python"


@pytest.mark.slow
def test_core_install_ingests_builds_and_serves_review_without_torch(tmp_path):
    python = _core_python(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = subprocess.run([str(python), "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "torch" in probe.stderr  # the extra really is absent

    run = tmp_path / "run"
    cli = [str(python), "-m", "corpus_ft.cli"]
    for args in (
        ["ingest", str(ROOT / "sample_corpus"), "--out", str(run)],
        ["build", "all", "--run", str(run), "--json"],
        ["review", str(run)],
    ):
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((run / "datasets" / "qa" / "stats.json").read_text())
    assert stats["splits"]["train"] > 0
    assert (run / "review" / "index.html").stat().st_size > 0

    server = subprocess.Popen(
        [*cli, "review", str(run), "--serve", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if "http://" in line:
                url = line[line.index("http://") :].split()[0]
        assert url, "the review server never said where it listens"
        with urllib.request.urlopen(url + "api/records?kind=qa", timeout=30) as response:
            body = json.loads(response.read())
        assert body["total"] == stats["splits"]["train"] + stats["splits"]["validation"] + stats["splits"]["test"]
    finally:
        server.terminate()
        server.wait(timeout=30)

    refused = subprocess.run([*cli, "train", str(run)], env=env, capture_output=True, text=True)
    assert refused.returncode == 2
    assert "pip install 'corpus-ft[train]'" in refused.stderr and "Traceback" not in refused.stderr


def test_package_data_ships_every_non_python_file():
    """An installed (non-editable) corpus-ft has every template, script and style sheet of the source tree."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["corpus_ft"]
    package = ROOT / "corpus_ft"
    files = [p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    unshipped = [
        str(p.relative_to(package))
        for p in files
        if not any(fnmatch.fnmatch(str(p.relative_to(package)), g) or fnmatch.fnmatch(p.name, g) for g in globs)
    ]
    assert files and not unshipped
