"""IA3, prefix and prompt tuning: trained, saved, resumed, evaluated and exported on the tiny Llama;
combinations that cannot work refused at validation; the estimator's counts against PEFT's own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from train_fixtures import make_run

from corpus_ft.cli import main
from corpus_ft.train.config import TrainConfig, method_settings

NEW = ("ia3", "prefix", "prompt")
FAST = dict(
    model="tiny",
    seq_len=128,
    micro_batch=4,
    grad_accum=1,
    learning_rate=3e-2,
    max_steps=4,
    eval_steps=2,
    save_steps=2,
    logging_steps=1,
    early_stopping_patience=0,
    save_total_limit=3,
    mix={"qa": 1.0},
)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("methods") / "run", n=24)
    for kind in ("qa", "paragraphs"):  # evaluate samples the test split: give it the held-out records
        d = run / "datasets" / kind
        shutil.copy(d / "validation.jsonl", d / "test.jsonl")
    return run


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    return dst


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- validation: refused with the reason, before anything loads ---------------------------------


@pytest.mark.parametrize(
    "settings, says",
    [
        (dict(method="prefix", packing=True), "cannot pack records"),
        (dict(method="prompt", packing=True), "set packing: false"),
        (dict(method="prefix", gradient_checkpointing=True), "PREFIX_TUNING does not work with gradient checkpointing"),
        (dict(method="prompt", attn_implementation="flash_attention_2"), "use sdpa"),
        (dict(method="ia3", use_dora=True), "use_dora is a LoRA option"),
        (
            dict(method="ia3", ia3_target_modules=["k_proj"], ia3_feedforward_modules=["down_proj"]),
            "must also be in ia3_target_modules",
        ),
    ],
)
def test_unsupported_combinations_refused(settings, says):
    with pytest.raises(ValidationError, match=says):
        TrainConfig(**settings)


def test_prompt_methods_default_to_unpacked_and_prefix_to_no_checkpointing():
    """The validator changes nothing; `method_settings` derives the values and says why."""
    assert TrainConfig(method="prefix").packing is True  # what the recipe (here: the default) said
    (prefix, why), (prompt, _), (lora, _) = (
        method_settings(TrainConfig(method=m)) for m in ("prefix", "prompt", "lora")
    )
    assert (prefix.packing, prefix.gradient_checkpointing) == (False, False)
    assert (prompt.packing, prompt.gradient_checkpointing) == (False, "auto")
    assert lora.packing is True
    reasons = {c["key"]: c["reason"] for c in why}
    assert "virtual tokens" in reasons["packing"] and "prefix tuning" in reasons["gradient_checkpointing"]


def test_each_method_has_its_own_default_learning_rate_and_a_set_one_wins():
    """Unset, the rate suits the method: a full fine-tune steps 20x smaller than LoRA (against forgetting),
    the few-parameter methods much larger (2e-4 barely moved a prefix on SmolLM2: README "Benchmarks")."""
    methods = ("lora", "qlora", "full", "ia3", "prefix", "prompt")
    rates = {m: method_settings(TrainConfig(method=m))[0].learning_rate for m in methods}
    assert rates == {"lora": 2e-4, "qlora": 2e-4, "full": 1e-5, "ia3": 3e-3, "prefix": 1e-2, "prompt": 3e-2}
    assert TrainConfig(method="lora").learning_rate is None  # unset stays unset in the config: resolved, not rewritten
    full, changes = method_settings(TrainConfig(method="full", learning_rate=5e-5))
    assert full.learning_rate == 5e-5 and not [c for c in changes if c["key"] == "learning_rate"]
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        TrainConfig(method="prompt", learning_rate=3.0)


def test_cli_refuses_packed_prefix_before_loading(run):
    r = cli("train", run, "--method", "prefix", "--packing", "--max-steps", "1")
    assert r.exit_code == 2 and "cannot pack records" in r.output and not (run / "model").exists()


# --- the estimator counts what PEFT builds ------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        dict(method="prefix"),
        dict(method="prefix", prefix_projection=True),
        dict(method="prompt", num_virtual_tokens=7),
        dict(method="ia3"),
    ],
)
def test_estimated_trainable_parameters_match_peft(base_run, settings):
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from corpus_ft.estimate import plan
    from corpus_ft.train.trainer import peft_config

    cfg = TrainConfig(model=str(base_run / "tiny-model"), **settings)
    model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=torch.float32)
    built = get_peft_model(model, peft_config(cfg, cfg.model))
    counted = sum(p.numel() for p in built.parameters() if p.requires_grad)
    est = plan(cfg, gpu="24GiB").estimate
    assert est.trainable_params == counted > 0
    assert est.breakdown["optimizer"] * 2**30 == pytest.approx(8 * counted)  # AdamW: two fp32 states


@pytest.mark.parametrize("projection", [False, True])
def test_prefix_init_zero_starts_every_key_and_value_at_zero(base_run, projection):
    """prefix_init: zero (the default) starts every layer's prefix keys and values at 0, through the
    projection MLP too; random is PEFT's own start (README "Benchmarks": what each does on SmolLM2)."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from corpus_ft.train.trainer import peft_config

    model_dir = str(base_run / "tiny-model")

    def prefix_kv(init: str) -> torch.Tensor:
        cfg = TrainConfig(model=model_dir, method="prefix", prefix_projection=projection, prefix_init=init)
        built = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), peft_config(cfg, model_dir))
        with torch.no_grad():  # every layer's prefix keys and values, flattened, as the attention receives them
            return built.prompt_encoder["default"](torch.arange(cfg.num_virtual_tokens).unsqueeze(0))

    assert TrainConfig(method="prefix").prefix_init == "zero"
    assert torch.count_nonzero(prefix_kv("zero")) == 0 and torch.count_nonzero(prefix_kv("random")) > 0


def test_prompt_tuning_without_text_starts_from_real_token_embeddings(base_run):
    """PEFT's RANDOM init draws N(0, 1) vectors, far off the embedding scale (on SmolLM2 it cost the answers
    their ROUGE-L and raised general-text perplexity); without prompt_init_text each virtual token starts
    as a real vocabulary token's embedding."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from corpus_ft.train.trainer import peft_config

    model_dir = str(base_run / "tiny-model")
    cfg = TrainConfig(model=model_dir, method="prompt", num_virtual_tokens=6)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    vocab = model.get_input_embeddings().weight.detach().clone()
    built = get_peft_model(model, peft_config(cfg, model_dir))
    with torch.no_grad():
        virtual = built.prompt_encoder["default"](torch.arange(6).unsqueeze(0))[0]
    assert all(any(torch.equal(v, row) for row in vocab) for v in virtual)


def test_prefix_memory_grows_with_virtual_tokens_and_prompt_tokens_lengthen_the_sequence(base_run):
    from corpus_ft.estimate import plan

    model = str(base_run / "tiny-model")
    few, many = (
        plan(TrainConfig(model=model, method="prefix", num_virtual_tokens=n), gpu="24GiB").estimate for n in (8, 256)
    )
    assert many.breakdown["activations"] > few.breakdown["activations"]
    prompt = plan(TrainConfig(model=model, method="prompt", num_virtual_tokens=64), gpu="24GiB").estimate
    ia3 = plan(TrainConfig(model=model, method="ia3", packing=False), gpu="24GiB").estimate
    assert prompt.breakdown["logits"] > ia3.breakdown["logits"]  # 64 more positions through the loss


# --- train, resume, evaluate, export ----------------------------------------------------------


def _adapter_tensors(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(run / "model" / "adapter" / "adapter_model.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("method", NEW)
def test_method_trains_resumes_evaluates_and_exports(run, tmp_path, method):
    import torch

    from corpus_ft.evaluate import evaluate
    from corpus_ft.evaluate.config import EvalConfig
    from corpus_ft.train.trainer import COMPLETE, train

    cfg = TrainConfig(**FAST, method=method)
    first = train(run, cfg, progress=False)
    assert first["steps"] == 4 and first["method"] == method
    adapter_cfg = json.loads((run / "model" / "adapter" / "adapter_config.json").read_text())
    assert adapter_cfg["peft_type"] == {"ia3": "IA3", "prefix": "PREFIX_TUNING", "prompt": "PROMPT_TUNING"}[method]
    done = _adapter_tensors(run)

    # as after a kill at step 3: the step-4 checkpoint and the final adapter never made it to disk
    shutil.rmtree(run / "model" / "checkpoints" / "checkpoint-4")
    shutil.rmtree(run / "model" / "adapter")
    assert (run / "model" / "checkpoints" / "checkpoint-2" / COMPLETE).is_file()
    again = train(run, cfg, resume=True, progress=False)
    assert again["resumed_from"].endswith("checkpoint-2") and again["steps"] == 4
    resumed = _adapter_tensors(run)
    assert resumed.keys() == done.keys()
    for name in done:
        torch.testing.assert_close(resumed[name], done[name], atol=2e-5, rtol=1e-4)

    (run / "units.parquet").unlink()  # the fixture's units hold tokenizer text only, not evaluate's columns
    summary = evaluate(run, EvalConfig(test_sample=2, max_new_tokens=4, batch_size=2, kinds=["qa"]))
    assert summary["tuned"]["max_abs_logit_diff"] > 0
    rows = [json.loads(x) for x in (run / "eval" / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["tuned"]["ppl"] and r["base"]["ppl"] and r["tuned"]["ppl"] != r["base"]["ppl"] for r in rows)

    r = cli("export", run, "--merge", tmp_path / "merged", "--dtype", "fp32")
    if method == "ia3":  # IA3's scales multiply into the weights: the merged model computes what base + adapter did
        assert r.exit_code == 0, r.output
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(run / "model" / "adapter")
        ids = tok("The billing service runs on port", return_tensors="pt")["input_ids"]
        base = AutoModelForCausalLM.from_pretrained(run / "tiny-model", dtype=torch.float32)
        tuned = PeftModel.from_pretrained(base, run / "model" / "adapter").eval()
        merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
        with torch.no_grad():
            torch.testing.assert_close(merged(ids).logits, tuned(ids).logits, atol=1e-4, rtol=1e-4)
    else:
        assert r.exit_code == 2 and "cannot be merged" in r.output and "PeftModel.from_pretrained" in r.output
        assert not (tmp_path / "merged").exists()
