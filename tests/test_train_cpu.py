"""Settings are what ran, and the CPU trains in the dtype its hardware is fast at.

`resolve_settings` chooses every value the recipe left open (or a method cannot take) and says why: the
pre-flight line prints it and model/manifest.json records it. On the CPU, bf16 only where the CPU has
native bf16 (AVX512-BF16/AMX); tests force the detection with CORPUS_FT_CPU_BF16.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from train_fixtures import make_run

from corpus_ft.estimate import FORCE_ENV, cpu_bf16, free_ram_bytes, plan
from corpus_ft.estimate.hardware import cpu_flags
from corpus_ft.train.config import TrainConfig

SMOLLM2 = Path.home() / ".cache" / "corpus-ft" / "models" / "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("cpu") / "run")


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    return dst


# --- bf16 detection ------------------------------------------------------------------------------


def test_bf16_detected_from_the_cpu_flags_and_forced_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(FORCE_ENV, raising=False)
    amd = tmp_path / "avx512"
    amd.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2\n")
    assert cpu_flags(amd) >= {"avx512_bf16"} and cpu_bf16(amd) == (True, cpu_bf16(amd)[1])
    assert "avx512_bf16" in cpu_bf16(amd)[1]
    ok, why = cpu_bf16(avx2)
    assert not ok and "no avx512_bf16 or amx_bf16" in why
    assert cpu_bf16(tmp_path / "absent") == (False, cpu_bf16(tmp_path / "absent")[1])  # not Linux: fp32
    monkeypatch.setenv(FORCE_ENV, "0")
    assert cpu_bf16(amd) == (False, f"{FORCE_ENV}=0: bf16 detection forced off")
    monkeypatch.setenv(FORCE_ENV, "1")
    assert cpu_bf16(avx2)[0] is True


def test_cpu_without_bf16_resolves_fp32_and_says_why(monkeypatch):
    from corpus_ft.train.trainer import resolve_settings

    monkeypatch.setenv(FORCE_ENV, "0")
    lines: list[str] = []
    settings = resolve_settings(TrainConfig(model="tiny", method="lora"), "cpu", lines.append)
    assert settings.config.precision == "fp32"
    why = {c["key"]: c for c in settings.changes}
    assert why["precision"]["given"] == "auto" and "forced off" in why["precision"]["reason"]
    assert any("precision fp32 (" in line and "forced off" in line for line in lines), lines
    monkeypatch.setenv(FORCE_ENV, "1")
    assert resolve_settings(TrainConfig(model="tiny", method="lora"), "cpu", lines.append).config.precision == "bf16"
    assert resolve_settings(TrainConfig(model="tiny", method="full"), "cpu", lines.append).config.precision == "fp32"
    set_by_recipe = resolve_settings(TrainConfig(model="tiny", method="lora", precision="fp32"), "cpu", lines.append)
    assert set_by_recipe.config.precision == "fp32" and "precision" not in {c["key"] for c in set_by_recipe.changes}


# --- memory on the CPU -----------------------------------------------------------------------------


@pytest.mark.skipif(not (SMOLLM2 / "config.json").is_file(), reason="SmolLM2 not fetched (`corpus-ft model get`)")
def test_cpu_plan_sizes_ram_and_picks_checkpointing_by_free_memory(monkeypatch):
    """RAM of a CPU run: weights, activations with and without checkpointing, optimizer, logits, runtime."""
    import corpus_ft.estimate.memory as memory

    monkeypatch.setenv(FORCE_ENV, "0")
    cfg = TrainConfig(model=str(SMOLLM2), method="lora", seq_len=256, micro_batch=4, grad_accum=1)
    fp32 = plan(cfg.model_copy(update={"gradient_checkpointing": False}), device="cpu")
    ckpt = plan(cfg.model_copy(update={"gradient_checkpointing": True}), device="cpu")
    assert fp32.estimate.settings["precision"] == "fp32" and fp32.estimate.cuda_context_gib == 0
    assert fp32.estimate.breakdown["activations"] > 10 * ckpt.estimate.breakdown["activations"]
    assert fp32.estimate.breakdown["weights"] == pytest.approx(134.5e6 * 4 / 2**30, rel=0.02)  # fp32 weights
    assert "RAM needed" in fp32.headline() and "free RAM" in fp32.headline()
    monkeypatch.setenv(FORCE_ENV, "1")  # bf16 weights: half the weights, smaller activations
    bf16 = plan(cfg.model_copy(update={"gradient_checkpointing": False}), device="cpu")
    assert bf16.estimate.breakdown["weights"] < 0.55 * fp32.estimate.breakdown["weights"]
    assert bf16.estimate.required_gib < fp32.estimate.required_gib
    monkeypatch.setenv(FORCE_ENV, "0")
    # auto: off with plenty of free RAM, on when the run without it would not fit
    assert free_ram_bytes() and plan(cfg, device="cpu").config.gradient_checkpointing is False
    between = int((ckpt.estimate.required_gib + fp32.estimate.required_gib) / 2 * 2**30)
    monkeypatch.setattr(memory, "free_ram_bytes", lambda: between)
    tight = plan(cfg, device="cpu")
    assert tight.config.gradient_checkpointing is True and tight.fit.fits


# --- settings are what ran: every change in the manifest, with its reason --------------------------


@pytest.mark.slow
def test_every_resolved_change_is_in_the_manifest_with_its_reason(run, monkeypatch, capfd):
    """prefix tuning with nothing set: its learning rate, packing off, no checkpointing, fp32 on this CPU."""
    from corpus_ft.train.trainer import train

    monkeypatch.setenv(FORCE_ENV, "0")
    cfg = TrainConfig(model="tiny", method="prefix", seq_len=64, micro_batch=2, grad_accum=1, max_steps=1)
    train(run, cfg, progress=False)
    record = json.loads((run / "model" / "manifest.json").read_text())
    changes = {c["key"]: c for c in record["resolved"]}
    assert changes["learning_rate"]["given"] is None and changes["learning_rate"]["used"] == 1e-2
    assert (
        changes["packing"]
        == {
            "key": "packing",
            "given": True,
            "used": False,
            "reason": changes["packing"]["reason"],
        }
        and "virtual tokens" in changes["packing"]["reason"]
    )
    assert (changes["gradient_checkpointing"]["given"], changes["gradient_checkpointing"]["used"]) == ("auto", False)
    assert (changes["precision"]["given"], changes["precision"]["used"]) == ("auto", "fp32")
    assert all(c["reason"] for c in record["resolved"])
    # the manifest's config is what ran, and the pre-flight line said each change
    assert record["config"]["learning_rate"] == 1e-2 and record["config"]["packing"] is False
    err = capfd.readouterr().err
    assert "pre-flight: settings: learning_rate 0.01 (" in err and "precision fp32 (" in err
    result = json.loads((run / "model" / "train_result.json").read_text())
    assert result["settings"] == record["resolved"]


# --- bf16 on the CPU: the same loss as fp32 ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not (SMOLLM2 / "config.json").is_file(), reason="SmolLM2 not fetched (`corpus-ft model get`)")
@pytest.mark.skipif(
    not cpu_bf16()[0],
    reason=f"no native bf16 on this CPU: emulated bf16 took 17 min here under load; {FORCE_ENV}=1 runs it anyway",
)
def test_bf16_weights_train_to_the_fp32_loss_on_smollm2(tmp_path):
    """SmolLM2, the trainer's own pieces, the same two rows of sample-corpus text: bf16 base weights with
    fp32 LoRA and AdamW give each step's loss within 2% of fp32's. Numerically the same on any CPU; fast only
    where bf16 is native (passed on the AVX2-only machine with CORPUS_FT_CPU_BF16=1 in 1,021 s at load 11-18)."""
    import torch
    from transformers import AutoTokenizer

    from corpus_ft.bench.train import _text_rows
    from corpus_ft.train.trainer import DTYPES, load_model, make_trainer, sft_config

    torch.manual_seed(0)
    data = _text_rows(SMOLLM2, 2, 16)
    losses = {}
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(
            model=str(SMOLLM2),
            method="lora",
            lora_dropout=0.0,
            seq_len=16,
            micro_batch=1,
            grad_accum=1,
            max_steps=2,
            logging_steps=1,
            learning_rate=1e-3,
            precision=precision,
            gradient_checkpointing=False,
            liger=False,
            packing=False,
        )
        dtype = DTYPES[precision]
        args = sft_config(cfg, tmp_path / precision, dtype, "cpu", has_eval=False, progress=False)
        trainer = make_trainer(
            load_model(str(SMOLLM2), cfg, "cpu", dtype), cfg, args, AutoTokenizer.from_pretrained(SMOLLM2), data
        )
        trainable = [p for p in trainer.model.parameters() if p.requires_grad]
        frozen = {p.dtype for p in trainer.model.parameters() if not p.requires_grad}
        assert {p.dtype for p in trainable} == {torch.float32} and frozen == {dtype}  # LoRA fp32 over the base
        trainer.train()
        losses[precision] = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses["fp32"]) == 2, losses
    for a, b in zip(losses["fp32"], losses["bf16"]):
        assert abs(b - a) < 0.02 * a, losses
