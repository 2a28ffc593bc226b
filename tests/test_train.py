"""The trainer on the CPU with the real tiny Llama: data mixing and masks, outputs, bad input, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_fixtures import make_run

from corpus_ft.cli import main
from corpus_ft.train.config import TrainConfig

FAST = dict(
    model="tiny",
    seq_len=128,
    micro_batch=4,
    grad_accum=1,
    learning_rate=3e-3,
    eval_steps=5,
    save_steps=5,
    logging_steps=1,
    method="lora",
)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """units.parquet, datasets/{paragraphs,qa} and the tiny model at run/tiny-model (what `model: tiny` uses)."""
    return make_run(tmp_path_factory.mktemp("train") / "run")


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    return dst


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- config and data (no training) -------------------------------------------------------


def test_config_rejects_unknown_kind_and_bad_sizes():
    from pydantic import ValidationError

    assert TrainConfig().method == "qlora" and TrainConfig().lora_r == 16 and TrainConfig().seq_len == 2048
    for bad in ({"mix": {"faq": 1.0}}, {"mix": {"qa": 0.0}}, {"gpu": "lots"}, {"lora_r": 0}, {"lora_rank": 8}):
        with pytest.raises(ValidationError):
            TrainConfig(**bad)


def test_mix_repeats_and_samples_by_weight():
    from corpus_ft.train.data import mix

    by_kind = {"qa": [{"id": f"q{i}"} for i in range(10)], "paragraphs": [{"id": f"p{i}"} for i in range(10)]}
    out = mix(by_kind, {"qa": 2.0, "paragraphs": 0.5}, seed=1)
    ids = [r["id"] for r in out]
    assert sum(i.startswith("q") for i in ids) == 20 and sum(i.startswith("p") for i in ids) == 5
    assert all(ids.count(f"q{i}") == 2 for i in range(10))
    assert ids == [r["id"] for r in mix(by_kind, {"qa": 2.0, "paragraphs": 0.5}, seed=1)]
    assert ids != [r["id"] for r in mix(by_kind, {"qa": 2.0, "paragraphs": 0.5}, seed=2)]


def test_loss_masks_assistant_turns_and_trains_every_paragraph_token(base_run):
    from transformers import AutoTokenizer

    from corpus_ft.train.data import tokenize

    tok = AutoTokenizer.from_pretrained(base_run / "tiny-model")
    msgs = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do I restart billing?"},
        {"role": "assistant", "content": "Run make restart-billing."},
    ]
    r = tokenize({"messages": msgs}, tok, assistant_only_loss=True)
    trained = tok.decode([t for t in r["labels"] if t != -100])
    assert trained == "Run make restart-billing.<|end|>\n"
    assert "restart billing?" not in trained
    p = tokenize({"text": "The billing service runs on port 8000."}, tok, assistant_only_loss=True)
    assert p["labels"] == p["input_ids"] and tok.decode(p["input_ids"]).endswith("<|end|>")


def test_review_decisions_drop_rejected_and_use_edits(run):
    from transformers import AutoTokenizer

    from corpus_ft.decisions import append_decision
    from corpus_ft.train.data import load_datasets

    append_decision(run, "qa-0000", "qa", "reject")
    append_decision(run, "paragraphs-0001", "paragraphs", "edit", {"text": "Zebra zebra zebra edited text."})
    tok = AutoTokenizer.from_pretrained(run / "tiny-model")
    train_ds, eval_ds, summary = load_datasets(run, TrainConfig(**FAST), tok)
    assert summary["qa"]["train"] == 37 and summary["qa"]["review"] == {"rejected": 1, "edited": 0}
    assert summary["paragraphs"]["review"]["edited"] == 1
    texts = [tok.decode(ids) for ids in train_ds["input_ids"]]
    assert any("Zebra zebra zebra edited text." in t for t in texts)
    assert not any("port 8001" in t for t in texts)  # paragraphs-0001's original text
    assert len(train_ds) == 75 and len(eval_ds) == 20


def test_rows_longer_than_seq_len_are_counted_and_said(run, caplog):
    """A row cut at seq_len, or dropped because its answer lay past the cut, is never silent."""
    from transformers import AutoTokenizer

    from corpus_ft.train.data import load_datasets

    tok = AutoTokenizer.from_pretrained(run / "tiny-model")
    _, _, summary = load_datasets(run, TrainConfig(**FAST), tok)
    assert summary["truncation"]["train"]["cut"] == 0 and summary["truncation"]["train"]["rows"] == 76
    with caplog.at_level("WARNING", logger="corpus_ft.train.data"):
        train_ds, _, summary = load_datasets(run, TrainConfig(**{**FAST, "seq_len": 16}), tok)
    t = summary["truncation"]["train"]
    assert t["rows"] == 76 and t["cut"] > 0 and len(train_ds) == t["rows"] - t["dropped"]
    assert max(len(ids) for ids in train_ds["input_ids"]) == 16
    assert "longer than seq_len=16" in caplog.text and "raise train.seq_len" in caplog.text


# --- bad input: refused with a clear message, nothing written ----------------------------


def test_missing_datasets_refused(tmp_path):
    (tmp_path / "run").mkdir()
    r = cli("train", tmp_path / "run", "--method", "lora")
    assert r.exit_code == 2 and "no dataset built" in r.output and "corpus-ft build" in r.output
    r = cli("train", tmp_path / "nowhere")
    assert r.exit_code == 2 and "run directory not found" in r.output


def test_empty_or_unbuilt_kind_refused(run):
    (run / "datasets" / "qa" / "train.jsonl").write_text("")
    r = cli("train", run, "--method", "lora", "--max-steps", "1")
    assert r.exit_code == 2 and "qa/train.jsonl: no training records" in r.output
    r = cli("train", run, "--method", "lora", "--mix", "keywords=1")
    assert r.exit_code == 2 and "datasets/keywords: not found" in r.output
    r = cli("train", run, "--mix", "faq=1")
    assert r.exit_code == 2 and "train.mix" in r.output and "unknown dataset kind" in r.output
    assert not (run / "model").exists()


def test_model_dir_without_config_json_refused(run, tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"")
    r = cli("train", run, "--model", tmp_path / "weights", "--method", "lora")
    assert r.exit_code == 2 and "no config.json" in r.output
    r = cli("train", run, "--model", "not a model", "--method", "lora")
    assert r.exit_code == 2 and "not a hub id" in r.output
    r = cli("train", run, "--model", "example-org/never-downloaded-7b", "--method", "lora")
    assert r.exit_code == 2 and "not in the Hugging Face cache" in r.output


def test_too_little_gpu_memory_refused_before_loading(run, tmp_path):
    """An 8B shape (config.json only, no weights) planned for a 1 GiB GPU: refused by the estimator, exit 3."""
    from transformers import LlamaConfig

    LlamaConfig(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
    ).save_pretrained(tmp_path / "llama8b")
    r = cli("train", run, "--model", tmp_path / "llama8b", "--gpu", "1GiB")
    assert r.exit_code == 3, r.output
    assert "does not fit" in r.output and "GiB" in r.output
    assert not (run / "model" / "checkpoints").exists()


def test_save_steps_must_be_multiple_of_eval_steps(run):
    r = cli("train", run, "--method", "lora", "--eval-steps", "4", "--save-steps", "6", "--max-steps", "1")
    assert r.exit_code == 2 and "save_steps (6) must be a multiple of train.eval_steps (4)" in r.output


# --- training ------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_writes_adapter_metrics_and_export_merges(run, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.train.trainer import COMPLETE, train

    result = train(run, TrainConfig(**FAST, max_steps=20), progress=False)
    out = run / "model"
    assert result["steps"] == 20 and result["output"] == str(out / "adapter")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    evals = [r["eval_loss"] for r in rows if "eval_loss" in r]
    assert len(evals) == 4 and evals[-1] < evals[0] - 0.3, evals
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    assert all(r["tokens_per_s"] > 0 for r in rows if "loss" in r and r["step"] > 1)
    assert result["eval_loss"] == min(evals)
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert all((c / COMPLETE).is_file() for c in (out / "checkpoints").glob("checkpoint-*"))
    saved = TrainConfig(**json.loads((out / "train_config.json").read_text()))
    from corpus_ft.estimate import cpu_bf16

    cpu_precision = "bf16" if cpu_bf16()[0] else "fp32"  # bf16 only where the CPU has it natively
    assert saved.precision == cpu_precision and saved.gradient_checkpointing is False
    assert saved.model.endswith("tiny-model")
    cfg = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str((run / "tiny-model").resolve()) and cfg["r"] == 16

    # the adapter loads in plain PEFT, and the merged export computes the same logits
    tok = AutoTokenizer.from_pretrained(out / "adapter")
    ids = tok("The billing service runs on port", return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"], dtype=torch.float32)
    tuned = PeftModel.from_pretrained(base, out / "adapter").eval()
    r = cli("export", run, "--merge", tmp_path / "merged", "--dtype", "fp32")
    assert r.exit_code == 0, r.output
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, tuned(ids).logits, atol=1e-4, rtol=1e-4)
        untouched = AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"], dtype=torch.float32)
        assert not torch.allclose(untouched(ids).logits, tuned(ids).logits, atol=1e-3)  # the adapter changed it
    r = cli("export", run, "--merge", tmp_path / "merged-bf16")
    assert r.exit_code == 0 and AutoModelForCausalLM.from_pretrained(tmp_path / "merged-bf16").dtype == torch.bfloat16


@pytest.mark.slow
def test_qlora_on_cpu_trains_4bit_with_a_warning(run, caplog):
    """bitsandbytes' CPU backend really trains a 4-bit base: allowed, with a warning that LoRA is faster."""
    from corpus_ft.train.trainer import train

    cfg = TrainConfig(**{**FAST, "method": "qlora"}, max_steps=4, mix={"qa": 1.0})
    with caplog.at_level("WARNING"):
        result = train(run, cfg, progress=False)
    assert "QLoRA on the CPU" in caplog.text and "--method lora" in caplog.text
    rows = [json.loads(x) for x in (run / "model" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert losses[-1] < losses[0], losses
    assert (run / "model" / "adapter" / "adapter_model.safetensors").is_file() and result["method"] == "qlora"


@pytest.mark.slow
def test_full_finetune_and_non_llama_architecture(run, tmp_path, caplog):
    """A GPT-2 built locally, with no chat template, trains through the same path, here fully fine-tuned
    (at a learning rate that draws the forgetting warning)."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from corpus_ft.model.chat import DEFAULT_CHAT_TEMPLATE

    tok = AutoTokenizer.from_pretrained(run / "tiny-model")
    gpt2 = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tok),
            n_embd=64,
            n_layer=2,
            n_head=2,
            n_positions=256,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
        )
    )
    gpt2.save_pretrained(tmp_path / "gpt2")
    tok.chat_template = None  # a base model without a chat template gets corpus-ft's default
    tok.save_pretrained(tmp_path / "gpt2")
    with caplog.at_level("WARNING"):
        r = cli(
            "train",
            run,
            "--model",
            tmp_path / "gpt2",
            "--method",
            "full",
            "--max-steps",
            "4",
            "--seq-len",
            "128",
            "--eval-steps",
            "2",
            "--save-steps",
            "2",
            "--lr",
            "1e-3",
            "--json",
        )
    assert r.exit_code == 0, r.output
    assert "full fine-tuning at learning rate 0.001" in caplog.text and "1e-5..2e-5 is usual" in caplog.text
    assert json.loads(r.stdout)["output"].endswith("model/full")
    assert (run / "model" / "full" / "config.json").is_file()
    assert json.loads((run / "model" / "full" / "config.json").read_text())["model_type"] == "gpt2"
    assert AutoTokenizer.from_pretrained(run / "model" / "full").chat_template == DEFAULT_CHAT_TEMPLATE
    r = cli("export", run, "--merge", tmp_path / "exported")
    assert r.exit_code == 0 and json.loads((tmp_path / "exported" / "config.json").read_text())["dtype"] == "bfloat16"


@pytest.mark.slow
def test_dora_adapter(run):
    from corpus_ft.train.trainer import train

    train(run, TrainConfig(**FAST, use_dora=True, max_steps=2, mix={"qa": 1.0}), progress=False)
    cfg = json.loads((run / "model" / "adapter" / "adapter_config.json").read_text())
    assert cfg["use_dora"] is True and cfg["peft_type"] == "LORA"


def test_max_steps_cap_bounds_a_long_pass_and_never_extends_a_short_one(run, caplog):
    """The CPU profile's "one pass capped at 60 steps": a small dataset trains its one pass, not 60 passes."""
    from corpus_ft.train.trainer import train

    fast = {**FAST, "mix": {"qa": 1.0}, "eval_steps": 100, "save_steps": 100}
    whole = train(run, TrainConfig(**fast, max_steps_cap=10_000), progress=False)
    assert 2 < whole["steps"] < 100, "one pass over the qa records, not 10,000 steps"
    with caplog.at_level("WARNING", logger="corpus_ft.train.trainer"):
        capped = train(run, TrainConfig(**fast, max_steps_cap=2), progress=False)
    assert capped["steps"] == 2 and "stopping at train.max_steps_cap=2" in caplog.text


@pytest.mark.slow
def test_bench_train_tiny_compares_both_recipes(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_FT_CACHE", str(tmp_path))
    out = tmp_path / "rows.jsonl"
    r = cli(
        "bench",
        "train",
        "--model-shape",
        "tiny",
        "--seq",
        "64",
        "--micro-batch",
        "2",
        "--steps",
        "2",
        "--json",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [x["recipe"] for x in rows] == ["guide", "corpus-ft"] and all(x["tok_s"] > 0 for x in rows)
    assert rows[0]["ckpt"] is True and rows[1]["ckpt"] is False  # the CPU never checkpoints
    assert rows[1]["speedup_vs_guide"] > 0 and len(out.read_text().splitlines()) == 2


@pytest.mark.slow
def test_bench_train_on_a_real_model_dir_compares_speed_loss_and_rss(base_run, tmp_path):
    """`--model DIR`: both recipes train the model's own weights on the same text rows, each in a fresh process."""
    r = cli(
        "bench",
        "train",
        "--model",
        base_run / "tiny-model",
        "--seq",
        "64",
        "--micro-batch",
        "2",
        "--steps",
        "1",
        "--warmup",
        "1",
        "--json",
        "--out",
        tmp_path / "rows.jsonl",
    )
    assert r.exit_code == 0, r.output
    guide, ours = json.loads(r.stdout)
    assert (guide["recipe"], ours["recipe"]) == ("guide", "corpus-ft") and guide["weights"] == "real"
    assert guide["method"] == "lora" and ours["ckpt"] is False  # the CPU's defaults: LoRA, no checkpointing
    # same rows (sample-corpus text), same weights: the mean losses agree though the data order differs
    assert 0 < guide["loss"] < 20 and abs(ours["loss"] - guide["loss"]) < 0.05 * guide["loss"]
    for row in (guide, ours):  # each side's own process: its peak is above what it held before the model loaded
        assert row["tok_s"] > 0 and 0 < row["rss_before_gib"] < row["peak_rss_gib"] < 16
    assert ours["speedup_vs_guide"] > 0 and ours["memory_vs_guide"] > 0
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2


def test_packed_records_do_not_attend_to_each_other(base_run):
    """Two records packed in one row give the second record exactly the logits it has alone."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.train.trainer import pack_rows

    tok = AutoTokenizer.from_pretrained(base_run / "tiny-model")
    a, b = tok("The billing service runs on port 8000.")["input_ids"], tok("Restart search with make.")["input_ids"]
    ds = Dataset.from_dict({"input_ids": [a, b], "labels": [a, b]})
    packed, _, collator = pack_rows(TrainConfig(seq_len=64), tok, ds)
    assert len(packed) == 1  # both records fit one 64-token row
    batch = collator([packed[0]])
    assert "attention_mask" not in batch and batch["position_ids"][0].tolist().count(0) == 2
    assert (batch["labels"][0][batch["position_ids"][0] == 0] == -100).all()
    model = AutoModelForCausalLM.from_pretrained(base_run / "tiny-model", dtype=torch.float32).eval()
    # no KV cache, as in training: transformers reads packed records from position_ids only without one
    with torch.no_grad():
        row = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = {len(a): model(torch.tensor([a])).logits[0], len(b): model(torch.tensor([b])).logits[0]}
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist()
    first, second = row[: starts[1]], row[starts[1] :]
    torch.testing.assert_close(first, alone[len(first)], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(second, alone[len(second)], atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_tokens_counted_over_every_packed_row(run):
    """num_tokens (and so tokens/s) counts all rows of a packed micro-batch, not one."""
    from corpus_ft.train.trainer import train

    train(run, TrainConfig(**{**FAST, "micro_batch": 2}, max_steps=2, mix={"paragraphs": 1.0}), progress=False)
    rows = [json.loads(x) for x in (run / "model" / "metrics.jsonl").read_text().splitlines()]
    first = next(r for r in rows if r["step"] == 1 and "num_tokens" in r)
    assert first["num_tokens"] > 128  # two rows of up to 128 tokens, each well filled by ~45-token paragraphs


@pytest.mark.slow
def test_recipe_settings_with_command_line_overrides(run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: t\nrepo: {tmp_path}\nmodel: tiny\n"
        "train: {method: lora, lora_dropout: 0.0, learning_rate: 0.01, seq_len: 128, max_steps: 50}\n"
    )
    r = cli("train", run, "--recipe", recipe, "--max-steps", "2", "--eval-steps", "2", "--save-steps", "2", "--json")
    assert r.exit_code == 0, r.output
    saved = json.loads((run / "model" / "train_config.json").read_text())
    assert (saved["lora_dropout"], saved["learning_rate"], saved["seq_len"]) == (0.0, 0.01, 128)  # from the recipe
    assert saved["max_steps"] == 2 and json.loads(r.stdout)["steps"] == 2  # the option wins
    r = cli("train", run, "--recipe", recipe, "--lora-r", "0")
    assert r.exit_code == 2 and "train.lora_r" in r.output
