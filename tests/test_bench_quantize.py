"""`corpus-ft bench quantize` and `export --quantize` on the tiny Llama: the plumbing, every form, real bitsandbytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_fixtures import make_run

from corpus_ft.cli import main
from corpus_ft.train.config import TrainConfig


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory) -> Path:
    """A LoRA run trained a few steps, with a test split and a domain queries file."""
    from corpus_ft.train.trainer import train

    run = make_run(tmp_path_factory.mktemp("quantize") / "run", n=16)
    for kind in ("qa", "paragraphs"):
        d = run / "datasets" / kind
        shutil.copy(d / "validation.jsonl", d / "test.jsonl")
    (run / "units.parquet").unlink()  # tokenizer text only (the model is built), not evaluate's columns
    train(
        run,
        TrainConfig(
            model="tiny",
            method="lora",
            seq_len=128,
            micro_batch=4,
            grad_accum=1,
            learning_rate=3e-3,
            max_steps=3,
            eval_steps=3,
            save_steps=3,
            mix={"qa": 1.0},
        ),
        progress=False,
    )
    (run / "queries.jsonl").write_text(
        json.dumps(
            {
                "id": "q1",
                "query": "How do I restart the billing service?",
                "reference": "Run make restart-billing.",
                "keywords": ["restart-billing"],
            }
        )
        + "\n"
    )
    return run


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.slow
def test_bench_quantize_measures_every_form_side_by_side(tuned_run):
    r = cli(
        "bench",
        "quantize",
        tuned_run,
        "--queries",
        tuned_run / "queries.jsonl",
        "--test-sample",
        "1",
        "--max-new-tokens",
        "3",
        "--batch-size",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    out = tuned_run / "bench" / "quantize"
    assert json.loads((out / "results.json").read_text()) == result
    forms = {row["form"]: row for row in result["results"]}
    assert list(forms) == ["fp32", "bf16", "int8", "nf4", "gguf-f16", "gguf-q8_0"] and result["queries"] == 1
    for row in forms.values():
        assert row["ppl"] > 1 and row["ppl_tokens"] > 0 and row["keyword_recall"] is not None and row["new_tokens"] > 0
        if row["form"].startswith("gguf-"):  # no GGUF runtime here: no latency figures, the table says why
            assert row["tokens_per_s"] is row["ttft_s"] is row["load_s"] is None
            assert row["latency_note"] == "no GGUF runtime installed"
        else:
            assert row["load_s"] > 0 and row["ttft_s"] > 0 and row["tokens_per_s"] > 0 and row["latency_note"] is None
    # the same merged weights: bf16 and 8-bit stay close to fp32's perplexity; each form stores fewer bytes
    assert forms["bf16"]["ppl"] == pytest.approx(forms["fp32"]["ppl"], rel=0.05)
    assert forms["int8"]["ppl"] == pytest.approx(forms["fp32"]["ppl"], rel=0.05)
    assert forms["fp32"]["weights_mib"] > forms["bf16"]["weights_mib"] > forms["nf4"]["weights_mib"]
    # the GGUF files read back: F16 scores as fp32 does, Q8_0 within its quantization error; Q8_0 is the smaller file
    assert forms["gguf-f16"]["ppl"] == pytest.approx(forms["fp32"]["ppl"], rel=0.01)
    assert forms["gguf-q8_0"]["ppl"] == pytest.approx(forms["fp32"]["ppl"], rel=0.05)
    assert forms["gguf-q8_0"]["weights_mib"] < forms["gguf-f16"]["weights_mib"]
    assert forms["gguf-f16"]["weights_mib"] == pytest.approx((out / "gguf-f16.gguf").stat().st_size / 2**20, abs=0.06)
    report = (out / "report.md").read_text()
    assert "| nf4 |" in report and "plot.svg" in report
    assert "| gguf-q8_0 |" in report and "no GGUF runtime installed" in report
    assert (out / "plot.svg").read_text().lstrip().startswith("<?xml")


def test_bench_quantize_unknown_form_refused(tuned_run):
    r = cli("bench", "quantize", tuned_run, "--forms", "fp32,int3")
    assert r.exit_code == 2 and "unknown form(s) ['int3']" in r.output


@pytest.mark.slow
def test_export_quantize_nf4_loads_back_4bit(tuned_run, tmp_path):
    from transformers import AutoModelForCausalLM

    r = cli("export", tuned_run, "--merge", tmp_path / "nf4", "--quantize", "nf4")
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "nf4" / "config.json").read_text())
    assert cfg["quantization_config"]["bnb_4bit_quant_type"] == "nf4"
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "nf4")
    assert model.is_loaded_in_4bit
    assert json.loads((tmp_path / "nf4" / "manifest.json").read_text())["config"]["quantize"] == "nf4"
