"""`corpus-ft evaluate` on a full fine-tune (`corpus-ft train --method full`): base vs a second model.

The run is `built_run` (conftest) with the tiny Llama fully fine-tuned for a few steps; the
held-out test split is text of the same corpus the model never trained on, so its perplexity
must fall when tuned, exactly as for the LoRA runs in test_evaluate.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus_ft.evaluate import EvalConfig, evaluate
from corpus_ft.util import CorpusFtError


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model's ops gain nothing from 2 threads on the shared 2-core machine; restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, built_run) -> Path:
    """built_run plus model/full/ from `train --method full` (the tiny Llama, 10 short steps)."""
    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import train

    run = tmp_path_factory.mktemp("full") / "run"
    shutil.copytree(built_run, run)
    train(
        run,
        TrainConfig(
            model="tiny",
            method="full",
            seq_len=256,
            micro_batch=4,
            grad_accum=1,
            learning_rate=1e-3,
            max_steps=10,
            eval_steps=10,
            save_steps=10,
            logging_steps=10,
        ),
        progress=False,
    )
    return run


KINDS4 = ("paragraphs", "qa", "keywords", "code_summary")


@pytest.mark.slow
def test_full_fine_tune_beats_its_base_on_held_out_perplexity(full_run):
    assert not (full_run / "model" / "adapter").exists() and (full_run / "model" / "full" / "config.json").is_file()
    s = evaluate(full_run, EvalConfig(test_sample=3, max_new_tokens=8, batch_size=4))
    base = json.loads((full_run / "model" / "train_config.json").read_text())["model"]
    assert s["base"] == str(Path(base).resolve()) == str((full_run / "tiny-model").resolve())
    assert s["tuned"]["kind"] == "full" and s["tuned"]["path"] == str(full_run / "model" / "full")
    assert s["adapter"] is None and s["tuned"]["max_abs_logit_diff"] > 0
    test = s["aggregate"]["test"]
    held = sum(min(3, len((full_run / "datasets" / k / "test.jsonl").read_text().splitlines())) for k in KINDS4)
    assert test["n"] == held >= 10 and test["tuned"]["ppl"] < test["base"]["ppl"], test
    out = full_run / "eval"
    assert {p.name for p in out.iterdir()} >= {
        "report.html",
        "report.md",
        "results.jsonl",
        "ratings.csv",
        "summary.json",
        "manifest.json",
    }
    md = (out / "report.md").read_text()
    assert f"- tuned model: full fine-tune `{full_run / 'model' / 'full'}`" in md
    assert "full fine-tune" in (out / "report.html").read_text()
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    for r in rows:  # both sides scored on the same tokens
        assert r["base"]["ref_tokens"] == r["tuned"]["ref_tokens"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "full" in manifest["inputs"] and "adapter" not in manifest["inputs"]


@pytest.mark.slow
def test_a_full_model_identical_to_its_base_is_an_error_not_a_tie(built_run, copy_run, tiny_model):
    run = copy_run(built_run)  # --adapter naming a plain model dir = a full model; here the base itself
    with pytest.raises(CorpusFtError, match="full fine-tune does not change the model .*identical"):
        evaluate(
            run, EvalConfig(adapter=tiny_model, base=str(tiny_model), test_sample=1, kinds=["qa"], max_new_tokens=2)
        )
    assert not (run / "eval").exists()


def test_a_full_model_without_its_training_config_needs_base(built_run, copy_run, tiny_model, tmp_path):
    run, full = copy_run(built_run), tmp_path / "elsewhere" / "full"
    shutil.copytree(tiny_model, full)  # no train_config.json beside it records the base
    with pytest.raises(CorpusFtError, match=r"train_config\.json: not found.*pass --base"):
        evaluate(run, EvalConfig(adapter=full, test_sample=1, kinds=["qa"]))
    assert not (run / "eval").exists()
