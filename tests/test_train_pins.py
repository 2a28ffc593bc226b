"""What the trainer relies on in TRL/transformers, checked so that an upgrade fails here, loudly, and
every run's measured peak memory set against its estimate.json."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import tomllib
from train_fixtures import make_run

from corpus_ft.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def test_installed_trl_is_inside_the_pinned_range():
    from importlib.metadata import version

    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    trl = next(Requirement(d) for d in deps if Requirement(d).name == "trl")
    assert trl.specifier.contains(version("trl")), f"trl {version('trl')} is outside {trl.specifier}"


def _private_uses(path: Path) -> list[str]:
    """`import`s of TRL submodules and `x._name` attribute uses in one module, as `file:line: what`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found += [f"{path.name}:{node.lineno}: import {n}" for n in names if n.startswith("trl.")]
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_train_code_uses_only_what_trl_exports():
    """The trainer stays on TRL's public surface: `from trl import ...` only, and no `x._private` attribute
    anywhere in corpus_ft/train (TRL's and transformers' objects are most of what it touches there)."""
    found = [f for path in sorted((ROOT / "corpus_ft" / "train").glob("*.py")) for f in _private_uses(path)]
    assert not found, "private API in corpus_ft/train:\n" + "\n".join(found)


def test_no_module_imports_a_trl_submodule():
    """Outside the trainer too (the chat template's generation markers), TRL is used through `from trl import`."""
    found = [
        f for path in sorted((ROOT / "corpus_ft").rglob("*.py")) for f in _private_uses(path) if ": import trl." in f
    ]
    assert not found, "TRL submodule imports:\n" + "\n".join(found)


def test_the_private_api_scan_finds_what_it_forbids(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from trl.trainer.sft_trainer import DataCollatorForLanguageModeling\nimport trl.data_utils\n"
        "def f(trainer):\n    trainer._total_train_tokens += 1\n    return trainer.__class__, trainer.state\n"
    )
    assert _private_uses(bad) == [
        "bad.py:1: import trl.trainer.sft_trainer",
        "bad.py:2: import trl.data_utils",
        "bad.py:4: ._total_train_tokens",
    ]


def test_transformers_calls_on_save_right_after_writing_a_checkpoint():
    """The completion marker is written from the public `on_save` hook; it must come after the checkpoint's files."""
    from transformers import Trainer

    src = inspect.getsource(Trainer)
    assert re.search(
        r"self\._save_checkpoint\(model, trial\)\n\s+self\.control = self\.callback_handler\.on_save\(", src
    )


def test_a_run_records_peak_memory_and_compares_it_with_estimate_json(tmp_path):
    from corpus_ft.estimate import run_estimate
    from corpus_ft.train.trainer import train

    run = make_run(tmp_path / "run")
    config = TrainConfig(
        model="tiny",
        method="lora",
        seq_len=128,
        micro_batch=4,
        grad_accum=1,
        max_steps=3,
        eval_steps=3,
        save_steps=3,
        logging_steps=1,
    )
    run_estimate(run, config)
    result = train(run, config, progress=False)
    rows = [json.loads(x) for x in (run / "model" / "metrics.jsonl").read_text().splitlines()]
    peaks = [r["peak_rss_gib"] for r in rows]  # the CPU's measure; a GPU run records peak_allocated/reserved_gib
    assert all(0.05 < p < 64 for p in peaks) and peaks == sorted(peaks)
    mem = result["memory"]
    # on the CPU the trainer's own RAM plan is compared with the measured peak
    assert mem["peak_rss_gib"] >= peaks[-1] and "measured peak RSS" in mem["line"] and "estimated" in mem["line"]
    assert json.loads((run / "model" / "train_result.json").read_text())["memory"] == mem


def test_packed_rows_collator_restarts_positions_and_counts_real_tokens():
    """The project's own collator over `trl.pack_dataset` rows: per-record position_ids, no attention_mask,
    no label at a record's first token, right padding, and the real (unpadded) token count for tokens/s."""
    from corpus_ft.train.trainer import TOKENS, PackedRowsCollator, batch_tokens

    out = PackedRowsCollator(pad_token_id=0)(
        [{"input_ids": [5, 6, 7, 8], "seq_lengths": [2, 2]}, {"input_ids": [9, 10, 11], "seq_lengths": [3]}]
    )
    assert "attention_mask" not in out
    assert out["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, 11, 0]]
    assert out["position_ids"].tolist() == [[0, 1, 0, 1], [0, 1, 2, 0]]
    assert out["labels"].tolist() == [[-100, 6, -100, 8], [-100, 10, 11, -100]]
    assert batch_tokens(out) == 7 and TOKENS not in out  # taken out: the model never sees it
