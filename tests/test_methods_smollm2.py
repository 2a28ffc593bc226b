"""Every training method on the real SmolLM2-135M-Instruct: trains in a real process, is killed with
SIGKILL once its first checkpoint is complete, resumes with --resume from what it left on disk,
finishes, evaluates (generation and perplexity through evaluate's own code) and exports: merged
where the method allows it, refused with the reason where it trains virtual tokens instead of weights."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_fixtures import write_datasets

from corpus_ft.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHORT = dict(
    seq_len=64,
    micro_batch=2,
    grad_accum=1,
    learning_rate=1e-3,
    max_steps=4,
    save_steps=2,
    eval_steps=2,
    logging_steps=1,
    early_stopping_patience=0,
    save_total_limit=3,
    mix={"qa": 1.0},
    packing=False,
    lora_r=4,
    lora_alpha=8,
    num_virtual_tokens=4,
)
METHODS = {  # name -> the settings beside SHORT that select it
    "lora": dict(method="lora"),
    "dora": dict(method="lora", use_dora=True),
    "qlora": dict(method="qlora"),
    "full": dict(method="full", learning_rate=1e-5),
    "ia3": dict(method="ia3"),
    "prefix": dict(method="prefix"),
    "prompt": dict(method="prompt"),
}
PEFT_TYPE = {
    "lora": "LORA",
    "dora": "LORA",
    "qlora": "LORA",
    "ia3": "IA3",
    "prefix": "PREFIX_TUNING",
    "prompt": "PROMPT_TUNING",
}


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """qa records about a made-up service; the held-out split doubles as the test split evaluate samples."""
    run = write_datasets(tmp_path_factory.mktemp("smol-methods") / "run", n=20, kinds=("qa",))
    d = run / "datasets" / "qa"
    shutil.copy(d / "validation.jsonl", d / "test.jsonl")
    return run


def _train_proc(run: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "corpus_ft", "train", str(run), "--config", str(config), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
    )


def _kill_after_first_checkpoint(proc: subprocess.Popen, ckpts: Path) -> int:
    """SIGKILL the training process as soon as one checkpoint is complete; the step it holds."""
    from corpus_ft.train.trainer import COMPLETE

    deadline = time.monotonic() + 600
    while not any((c / COMPLETE).is_file() for c in ckpts.glob("checkpoint-*")):
        if proc.poll() is not None:
            pytest.fail(
                f"training ended (rc {proc.returncode}) before a checkpoint was complete:\n{proc.stderr.read()[-3000:]}"
            )
        assert time.monotonic() < deadline, "no complete checkpoint in 10 minutes"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    return max(int(c.name.split("-")[1]) for c in ckpts.glob("checkpoint-*") if (c / COMPLETE).is_file())


def _logits(model, ids):
    import torch

    with torch.no_grad():
        return model(ids).logits


@pytest.mark.slow
@pytest.mark.parametrize("name", list(METHODS))
def test_method_on_smollm2_survives_kill_resumes_evaluates_exports(base_run, tmp_path, smollm2, name):
    import torch

    from corpus_ft.evaluate import evaluate
    from corpus_ft.evaluate.config import EvalConfig

    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    settings = {**SHORT, **METHODS[name], "model": str(smollm2)}
    config = tmp_path / "train.json"  # JSON is YAML: `train --config` reads it
    config.write_text(json.dumps(settings))

    # 1. a real training process, killed with SIGKILL once its first checkpoint is on disk
    killed_at = _kill_after_first_checkpoint(_train_proc(run, config), run / "model" / "checkpoints")
    assert 2 <= killed_at < 4
    assert not (run / "model" / "adapter").exists() and not (run / "model" / "full").exists()

    # 2. --resume continues from that checkpoint and finishes: the killed process left only its files, so
    # the CLI in this process resumes from disk alone (a new process would add ~8 s of imports per method)
    r = CliRunner().invoke(main, ["train", str(run), "--config", str(config), "--json", "--resume"])
    assert r.exit_code == 0, (r.output[-3000:], r.exception)
    result = json.loads(r.stdout)
    assert result["resumed_from"].endswith(f"checkpoint-{killed_at}") and result["steps"] == 4
    assert result["train_loss"] == result["train_loss"]  # not NaN
    tuned_dir = run / "model" / ("full" if name == "full" else "adapter")
    if name != "full":
        adapter_cfg = json.loads((tuned_dir / "adapter_config.json").read_text())
        assert adapter_cfg["peft_type"] == PEFT_TYPE[name]
        assert adapter_cfg.get("use_dora", False) is (name == "dora")

    # 3. evaluate: greedy answers and perplexity for base and tuned (prefix/prompt generate through PEFT's cache)
    summary = evaluate(run, EvalConfig(test_sample=2, max_new_tokens=4, batch_size=2, kinds=["qa"]))
    assert summary["tuned"]["max_abs_logit_diff"] > 0  # the tuned model is not the base
    rows = [json.loads(x) for x in (run / "eval" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for r in rows:
        assert r["tuned"]["answer"].strip() and r["tuned"]["ppl"] > 1 and r["base"]["ppl"] > 1

    # 4. export: merged where the method changes weights, refused with the reason where it does not
    merged = tmp_path / "merged"
    r = CliRunner().invoke(main, ["export", str(run), "--merge", str(merged), "--dtype", "fp32"])
    if name in ("prefix", "prompt"):
        assert r.exit_code == 2 and "trains virtual tokens, not weights" in r.output
        assert "cannot be merged" in r.output and not merged.exists()
        return
    assert r.exit_code == 0, r.output
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged)
    ids = tok("How do I restart the billing service?", return_tensors="pt")["input_ids"]
    out_model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
    if name == "full":
        reference = AutoModelForCausalLM.from_pretrained(tuned_dir, dtype=torch.float32).eval()
    else:  # base + adapter through PEFT in fp32: what the merged weights must compute
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32)
        reference = PeftModel.from_pretrained(base, tuned_dir).eval()
    torch.testing.assert_close(_logits(out_model, ids), _logits(reference, ids), atol=2e-3, rtol=1e-3)
