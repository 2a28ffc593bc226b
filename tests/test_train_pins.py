"""What the trainer relies on in TRL/transformers, checked so that an upgrade fails here, loudly, and
every run's measured peak memory set against its estimate.json."""

from __future__ import annotations

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
    assert any(s.operator == "<" for s in trl.specifier), "trl needs an upper bound: the trainer touches its internals"


def test_trl_still_counts_tokens_the_way_corpus_ft_corrects():
    """CorpusFtTrainer.compute_loss multiplies TRL's one-row token count by the packed rows. If TRL changes how
    it counts (or renames `_total_train_tokens`/`_metrics`), that correction is wrong: re-check it, then the pin."""
    from trl import SFTTrainer

    src = inspect.getsource(SFTTrainer.compute_loss)
    assert 'inputs["position_ids"].size(1)' in src
    assert re.search(r"self\._total_train_tokens \+= num_tokens_in_batch", src)
    assert 'self._metrics[mode]["num_tokens"] = [self._total_train_tokens]' in src


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
    # on the CPU the trainer's own RAM plan is compared with the measured peak (estimate.json sizes a GPU)
    assert mem["peak_rss_gib"] >= peaks[-1] and "measured peak RSS" in mem["line"] and "estimated" in mem["line"]
    assert json.loads((run / "model" / "train_result.json").read_text())["memory"] == mem


def test_trl_collator_that_packed_rows_extend_still_behaves_as_relied_on():
    """PackedRowsCollator subclasses a collator TRL does not export (trl.trainer.sft_trainer); it relies on
    `torch_call` returning labels and per-record position_ids. This fails when TRL moves or changes it."""
    from corpus_ft.train.trainer import PackedRowsCollator

    out = PackedRowsCollator(pad_token_id=0, return_position_ids=True).torch_call(
        [{"input_ids": [5, 6, 7, 8], "seq_lengths": [2, 2]}, {"input_ids": [9, 10, 11], "seq_lengths": [3]}]
    )
    assert "attention_mask" not in out
    assert out["position_ids"].tolist() == [[0, 1, 0, 1], [0, 1, 2, 0]]
    assert out["labels"].tolist()[0] == [-100, 6, -100, 8]
