"""The GPU-memory estimator: held to measured H100 points, shapes read offline, fit verdicts and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corpus_ft.bench.calibration import grid_residuals, read_grid, reference_residuals
from corpus_ft.cli import main
from corpus_ft.estimate import memory as est_module
from corpus_ft.estimate.memory import NO_FIT_EXIT, check_fit, estimate, load_shape, parse_gpu, plan, preflight
from corpus_ft.estimate.shapes import PRESETS
from corpus_ft.gpus import GIB
from corpus_ft.train.config import TrainConfig
from corpus_ft.util import CorpusFtError

# Llama-3.2-1B's config.json as published on the hub (trimmed of keys the estimator ignores).
LLAMA_32_1B_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 2048,
    "head_dim": 64,
    "intermediate_size": 8192,
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "rope_theta": 500000.0,
}


# --- calibration ---------------------------------------------------------------------------


def test_every_grid_point_within_10_percent():
    rows = grid_residuals()
    assert len(rows) == len(read_grid()) == 27
    bad = [r for r in rows if abs(r["alloc_err_pct"]) > 10 or abs(r["reserved_err_pct"]) > 10]
    assert not bad, bad
    # weights after load are exact arithmetic (nf4 + double-quant constants, bf16 embeddings)
    assert all(abs(r["load_predicted"] - r["load_measured"]) < 0.01 for r in rows)


def test_reference_points_within_10_percent():
    refs = reference_residuals()
    assert {r["what"] for r in refs} == {"load", "peak"}
    bad = [r for r in refs if abs(r["err_pct"]) > 10]
    assert not bad, bad


def test_constants_are_the_grid_fit_and_transfer_across_shapes():
    from corpus_ft.bench.calibration import cross_shape_holdout, refit

    fitted = refit()  # after a re-measure, paste these into estimate.py
    assert fitted["CKPT_LAYERS"] == pytest.approx(est_module.CKPT_LAYERS, abs=0.02)
    assert fitted["NOCKPT_LAYERS"] == pytest.approx(est_module.NOCKPT_LAYERS, abs=0.02)
    assert fitted["RESERVED_SLACK"] == pytest.approx(est_module.RESERVED_SLACK, abs=0.01)
    # fitted on one model's rows alone, the constant predicts the other model's within 5%
    assert all(h["held_out_worst_err_pct"] < 5 for h in cross_shape_holdout())


def test_fp32_upcast_recipe_costs_what_the_guide_measured():
    lean = estimate("llama-3-8b", micro_batch=4)
    guide = estimate("llama-3-8b", micro_batch=4, upcast=True, liger=False)
    # full fp32 logits (micro_batch * seq * vocab * 4 bytes, several copies) dominate without Liger
    assert guide.breakdown["logits"] > 10 * lean.breakdown["logits"]
    assert guide.breakdown["logits"] > 4 * 2048 * 128256 * 4 * 3 / GIB
    assert guide.breakdown["weights"] - lean.breakdown["weights"] == pytest.approx(
        2 * 128256 * 4096 * 2 / GIB, rel=0.01
    )


def test_physics_moves_the_right_way():
    base = estimate("llama-3-8b", method="lora", micro_batch=2)
    assert estimate("llama-3-8b", method="lora", micro_batch=4).peak_allocated_gib > base.peak_allocated_gib
    assert (
        estimate("llama-3-8b", method="lora", micro_batch=2, gradient_checkpointing=False).peak_allocated_gib
        > 2 * base.peak_allocated_gib
    )
    assert (
        estimate("llama-3-8b", method="lora", micro_batch=2, lora_dropout=0.05).breakdown["activations"]
        > base.breakdown["activations"]
    )
    assert estimate("llama-3-8b", method="lora", micro_batch=2, lora_r=64).breakdown["adapters"] == pytest.approx(
        4 * base.breakdown["adapters"]
    )
    few = estimate("llama-3-8b", method="lora", micro_batch=2, target_modules=["q_proj", "v_proj"])
    assert few.trainable_params == 32 * 16 * ((4096 + 4096) + (4096 + 1024))
    full = estimate("llama-3-8b", method="full")
    assert full.trainable_params == full.num_params == PRESETS["llama-3-8b"].num_params
    assert estimate("llama-3-8b", method="full", optimizer="adamw_8bit").breakdown["optimizer"] == pytest.approx(
        full.breakdown["optimizer"] / 2
    )
    eager = estimate("llama-3-8b", method="lora", micro_batch=2, attention="eager", gradient_checkpointing=False)
    sdpa = estimate("llama-3-8b", method="lora", micro_batch=2, gradient_checkpointing=False)
    quadratic = 32 * 2 * 32 * 2048 * 2048 * 6 * est_module.NOCKPT_LAYERS / GIB  # layers x mb x heads x seq^2 x 6 bytes
    assert eager.breakdown["activations"] - sdpa.breakdown["activations"] == pytest.approx(quadratic, rel=0.02)
    fsdp = estimate("llama-3-70b", method="qlora", num_gpus=4, sharding="fsdp")
    single = estimate("llama-3-70b", method="qlora")
    assert fsdp.breakdown["weights"] == pytest.approx(single.breakdown["weights"] / 4)
    assert (
        estimate("llama-3-8b", grad_accum=4).breakdown["gradients"] > 0 == estimate("llama-3-8b").breakdown["gradients"]
    )


def test_bad_settings_name_the_key():
    with pytest.raises(CorpusFtError, match="method"):
        estimate("llama-3-8b", method="adalora")
    with pytest.raises(CorpusFtError, match="target_modules.*lm_head"):
        estimate("llama-3-8b", target_modules=["lm_head"])
    with pytest.raises(CorpusFtError, match="micro_batch"):
        estimate("llama-3-8b", micro_batch=0)
    with pytest.raises(CorpusFtError, match="sharding"):
        estimate("llama-3-8b", num_gpus=2)


# --- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, billions",
    [
        ("llama-2-7b", 6.74),
        ("llama-2-13b", 13.02),
        ("llama-2-70b", 68.98),
        ("llama-3.2-1b", 1.24),
        ("llama-3.2-3b", 3.21),
        ("llama-3-8b", 8.03),
        ("llama-3-70b", 70.55),
        ("mistral-7b", 7.24),
    ],
)
def test_presets_have_the_published_parameter_counts(name, billions):
    assert load_shape(name).num_params / 1e9 == pytest.approx(billions, abs=0.01)


def test_hub_ids_find_their_preset():
    assert load_shape("meta-llama/Meta-Llama-3-8B-Instruct").name == "llama-3-8b"
    assert load_shape("meta-llama/Llama-3.2-1B").name == "llama-3.2-1b"
    assert load_shape("mistralai/Mistral-7B-v0.1").name == "mistral-7b"
    assert load_shape("mistralai/Mistral-7B-Instruct-v0.3").name == "mistral-7b-v0.3"
    assert load_shape("meta-llama/Llama-2-7b-chat-hf").name == "llama-2-7b"
    assert load_shape("meta-llama/Llama-3.3-70B-Instruct").name == "llama-3.3-70b"


def test_local_config_dir(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_32_1B_CONFIG))
    shape = load_shape(tmp_path)
    assert shape.num_params == PRESETS["llama-3.2-1b"].num_params
    assert estimate(tmp_path).peak_allocated_gib == pytest.approx(estimate("llama-3.2-1b").peak_allocated_gib)


def test_hub_cache_config_is_read_offline(tmp_path, monkeypatch):
    snap = tmp_path / "hub" / "models--acme--llama-7b-internal" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({**LLAMA_32_1B_CONFIG, "num_hidden_layers": 8}))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    shape = load_shape("acme/llama-7b-internal")
    assert (shape.layers, shape.hidden, shape.name) == (8, 2048, "acme/llama-7b-internal")


def test_bad_models_are_named(tmp_path):
    with pytest.raises(CorpusFtError, match="unknown model 'gpt-17'.*llama-3-8b"):
        load_shape("gpt-17")
    with pytest.raises(CorpusFtError, match="no config.json"):
        load_shape(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 64}))
    with pytest.raises(CorpusFtError, match="config.json: missing key 'num_attention_heads'"):
        load_shape(tmp_path)


# --- GPUs and fit ----------------------------------------------------------------------------


def test_parse_gpu():
    assert parse_gpu("24GiB") == 24 * GIB
    assert parse_gpu("80GB") == 80 * 10**9
    assert parse_gpu("16000MiB") == 16000 << 20
    assert parse_gpu("A100-80") == 81920 << 20
    assert parse_gpu("a100 80gb") == parse_gpu("A100-80")
    assert parse_gpu("RTX 4090") == 24564 << 20
    for name in ("T4", "A10G", "L4", "A100-40", "H100-80", "H200"):
        assert 14 * GIB < parse_gpu(name) < 141 * GIB
    with pytest.raises(CorpusFtError, match="unknown GPU 'B300'.*A100-80"):
        parse_gpu("B300")
    with pytest.raises(CorpusFtError):
        parse_gpu("lots")


def test_no_fit_names_the_largest_batch_and_the_fixes():
    est = estimate("llama-3-8b", method="lora", seq_len=4096, micro_batch=4)  # measured: 25.8 GiB reserved
    report = check_fit(est, "24GiB")
    assert not report.fits and report.headroom_gib < 0
    assert check_fit(
        estimate("llama-3-8b", method="lora", seq_len=4096, micro_batch=report.max_micro_batch), "24GiB"
    ).fits
    assert not check_fit(
        estimate("llama-3-8b", method="lora", seq_len=4096, micro_batch=report.max_micro_batch + 1), "24GiB"
    ).fits
    assert report.max_seq_len % 128 == 0 and 2048 <= report.max_seq_len < 4096
    changes = [s["change"] for s in report.suggestions]
    assert {"method": "qlora"} in changes
    for s in report.suggestions:  # every suggestion really fits
        assert check_fit(estimate("llama-3-8b", **{**est.settings, **s["change"]}), "24GiB").fits


def test_guide_recipe_lora_does_not_fit_24gib_but_liger_does():
    report = check_fit(estimate("llama-3-8b", method="lora", micro_batch=4, liger=False), "RTX 4090")
    assert not report.fits
    assert {"liger": True} in [s["change"] for s in report.suggestions]


def test_too_big_for_one_gpu_suggests_fsdp():
    report = check_fit(estimate("llama-3-70b", method="qlora"), "A100-40")
    assert not report.fits and report.max_micro_batch == 0
    assert report.suggestions == [
        {
            "change": {"num_gpus": 2, "sharding": "fsdp"},
            "required_gib": pytest.approx(26, abs=2),
            "text": "FSDP over 2 GPUs of this size (per GPU)",
        }
    ]


def test_fits_with_headroom():
    report = check_fit(estimate("llama-3.2-1b", micro_batch=4), "T4")
    assert report.fits and report.headroom_gib > 5 and not report.suggestions
    assert report.max_micro_batch >= 8


# --- trainer pre-flight -----------------------------------------------------------------------


def _train_config(**kw) -> TrainConfig:
    return TrainConfig(
        **{
            "model": "llama-3-8b",
            "method": "qlora",
            "seq_len": 2048,
            "micro_batch": 4,
            "grad_accum": 1,
            "lora_dropout": 0.0,
            "liger": True,
            **kw,
        }
    )


def test_preflight_refuses_what_does_not_fit():
    with pytest.raises(CorpusFtError) as e:
        preflight(_train_config(gpu="9GiB"))  # mb 1 needs 7.9 GiB + the 0.5 GiB margin EstimateConfig keeps free
    assert e.value.exit_code == NO_FIT_EXIT
    assert (
        "9.0 GiB" in str(e.value)
        and "settings that fit" in str(e.value)
        and "micro_batch 1 x grad_accum 4" in str(e.value)
    )


def test_preflight_passes_and_picks_checkpointing():
    p = preflight(_train_config(gpu="A100-80", micro_batch=1))
    assert p is not None and p.estimate.settings["gradient_checkpointing"] is False  # fits without: faster
    assert p.config.gradient_checkpointing is False and p.fit.fits
    p = preflight(_train_config(gpu="24GiB"))
    assert p.estimate.settings["gradient_checkpointing"] is True and p.config.gradient_checkpointing is True


def test_preflight_skips_an_uncached_hub_model_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.warns(UserWarning, match="pre-flight skipped.*acme/secret-13b"):
        assert preflight(_train_config(model="acme/secret-13b", gpu="24GiB")) is None
    with pytest.raises(CorpusFtError, match="unknown model"):  # not a hub id: a typo the user must fix
        preflight(_train_config(model="llama-3-8", gpu="24GiB"))


def test_preflight_on_cpu_without_gpu_is_a_no_op():
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    assert preflight(_train_config()) is None


def test_plan_resolves_auto_like_a_gpu_run_and_fixed_settings_stay():
    cfg = _train_config(micro_batch=1)
    assert plan(cfg, gpu="H100-80").config.gradient_checkpointing is False
    assert plan(cfg, gpu=12 * GIB).config.gradient_checkpointing is True
    assert plan(cfg).config.gradient_checkpointing is True and plan(cfg).fit is None  # no GPU: conservative
    fixed = _train_config(gpu="80GiB", gradient_checkpointing=True)
    assert plan(fixed).config.gradient_checkpointing is True
    auto = plan(TrainConfig(model="llama-3-8b"))  # TrainConfig's defaults, as `corpus-ft train` would use them
    assert auto.config.precision == "bf16" and auto.estimate.settings["micro_batch"] == 4
    assert auto.estimate.settings["lora_dropout"] == 0.05


def test_run_estimate_writes_the_verdict_and_uses_the_built_tiny_model(tmp_path):
    from corpus_ft.estimate.memory import EstimateConfig, run_estimate

    tiny = tmp_path / "tiny-model"
    tiny.mkdir()
    (tiny / "config.json").write_text(
        json.dumps(
            {
                **LLAMA_32_1B_CONFIG,
                "hidden_size": 256,
                "num_hidden_layers": 2,
                "intermediate_size": 688,
                "vocab_size": 4000,
                "head_dim": 32,
            }
        )
    )
    data = run_estimate(tmp_path, TrainConfig(model="tiny", micro_batch=2), EstimateConfig(gpu="T4")).to_dict()
    assert data["shape"]["hidden"] == 256 and data["fit"]["fits"] is True
    assert json.loads((tmp_path / "estimate.json").read_text()) == json.loads(json.dumps(data))
    big = run_estimate(tmp_path, TrainConfig(model="llama-3-70b", method="lora"), EstimateConfig(gpu="24GiB"))
    assert big.fit.fits is False and big.fit.max_micro_batch == 0


def test_estimate_json_without_a_gpu_records_what_train_runs_on_the_cpu(tmp_path, monkeypatch):
    """No GPU named or visible: estimate.json holds the CPU plan, with the precision and gradient checkpointing
    that train's pre-flight line chooses there (not a GPU's bf16 and checkpointing 'on, the safe side')."""
    pytest.importorskip("torch")
    from corpus_ft.estimate import FORCE_ENV
    from corpus_ft.estimate.memory import run_estimate
    from corpus_ft.train.trainer import resolve_settings

    monkeypatch.setattr(est_module, "_visible_gpu_bytes", lambda: None)
    tiny = tmp_path / "tiny-model"
    tiny.mkdir()
    small = {"hidden_size": 256, "num_hidden_layers": 2, "intermediate_size": 688, "vocab_size": 4000, "head_dim": 32}
    (tiny / "config.json").write_text(json.dumps({**LLAMA_32_1B_CONFIG, **small}))
    for forced, method, precision in (("0", "lora", "fp32"), ("1", "lora", "bf16"), ("1", "full", "fp32")):
        monkeypatch.setenv(FORCE_ENV, forced)
        config = TrainConfig(model="tiny", method=method, micro_batch=2)
        run_estimate(tmp_path, config)
        written = json.loads((tmp_path / "estimate.json").read_text())
        lines: list[str] = []
        ran = resolve_settings(config.model_copy(update={"model": str(tiny)}), "cpu", say=lines.append).config
        assert written["settings"]["device"] == "cpu" and written["fit"]["fits"] is True
        assert written["settings"]["precision"] == ran.precision == precision, (method, forced)
        assert written["settings"]["gradient_checkpointing"] is ran.gradient_checkpointing is False
        line = next(x for x in lines if x.startswith("settings: "))
        assert f"precision {precision}" in line and "gradient_checkpointing off" in line


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_exit_codes_json_and_run_dir(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(
        main,
        [
            "estimate",
            "llama-3.2-1b",
            "--micro-batch",
            "4",
            "--grad-accum",
            "1",
            "--lora-dropout",
            "0",
            "--liger",
            "on",
            "--gpu",
            "T4",
            "--json",
            "--run",
            str(tmp_path),
        ],
    )
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["fit"]["fits"] is True and data["peak_allocated_gib"] == pytest.approx(3.04, abs=0.1)
    assert json.loads((tmp_path / "estimate.json").read_text())["peak_allocated_gib"] == data["peak_allocated_gib"]

    no = runner.invoke(
        main, ["estimate", "llama-3-8b", "--method", "lora", "--micro-batch", "4", "--liger", "off", "--gpu", "24GiB"]
    )
    assert no.exit_code == NO_FIT_EXIT
    assert "does not fit" in no.output and "liger" in no.output

    bad = runner.invoke(main, ["estimate", "gpt-17"])
    assert bad.exit_code == 2 and "llama-3-8b" in bad.output
    bad_gpu = runner.invoke(main, ["estimate", "llama-3-8b", "--gpu", "B300"])
    assert bad_gpu.exit_code == 2 and "A100-80" in bad_gpu.output

    human = runner.invoke(main, ["estimate", "llama-3-8b", "--target-modules", "q_proj,v_proj"])
    assert human.exit_code == 0 and "peak allocated" in human.output and "GPU memory needed" in human.output


def test_bench_estimate_names_a_bad_grid_line(tmp_path):
    grid = tmp_path / "grid.jsonl"
    grid.write_text('{"_about": "x"}\n{"model": "llama-3-8b", "method": "qlora", "seq": 512}\n')
    res = CliRunner().invoke(main, ["bench", "estimate", "--grid", str(grid)])
    assert res.exit_code == 2 and "grid.jsonl:2: missing" in res.output


def test_bench_estimate_prints_residuals():
    res = CliRunner().invoke(main, ["bench", "estimate", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["grid"]) == 27 and data["worst_err_pct"] < 10


@pytest.mark.slow
def test_layer_count_matches_what_a_real_layer_saves():
    """One real transformers LlamaDecoderLayer + PEFT LoRA on the CPU: autograd's saved bytes = the formula."""
    from corpus_ft.bench.calibration import measure_saved_bytes
    from corpus_ft.estimate.memory import SEVEN, _layer_bytes
    from corpus_ft.estimate.shapes import ModelShape

    shape = ModelShape("small-gqa", hidden=512, layers=1, heads=8, kv_heads=2, ffn=1536, vocab=256)
    cpu = dict(cast_bytes=4, mask_bytes=2)  # no autocast on the CPU; dropout keeps a bf16 mask there
    for dropout in (0.0, 0.05):
        predicted = 2 * shape.hidden + _layer_bytes(shape, 2, SEVEN, dropout, **cpu)
        # within 1 KiB/token: the rotary cos/sin tables (shared by all layers) and per-head scalars
        assert measure_saved_bytes(shape, tokens=64, lora_dropout=dropout) == pytest.approx(predicted, abs=1024)


def test_bench_estimate_from_runs_refits_like_the_grid(tmp_path):
    """Each measured grid point written as a finished run (train_config.json + metrics.jsonl with its GPU peak):
    `--from-runs` gives the grid's residuals and refits the same activation constants."""
    from corpus_ft.bench.calibration import refit

    grid = read_grid()
    runs = []
    for i, r in enumerate(grid):
        model = tmp_path / f"run{i}" / "model"
        model.mkdir(parents=True)
        cfg = TrainConfig(
            model=r["model"],
            method=r["method"],
            seq_len=r["seq"],
            micro_batch=r["mb"],
            grad_accum=1,
            lora_dropout=0.0,
            liger=True,
            precision="bf16",
            gradient_checkpointing=r["ckpt"],
        )
        (model / "train_config.json").write_text(cfg.model_dump_json())
        (model / "metrics.jsonl").write_text(
            "".join(
                json.dumps(
                    {
                        "step": s,
                        "peak_allocated_gib": r["peak_alloc_gib"] * f,
                        "peak_reserved_gib": r["peak_reserved_gib"] * f,
                    }
                )
                + "\n"
                for s, f in ((1, 0.9), (2, 1.0))
            )
        )
        runs.append(str(model.parent))
    res = CliRunner().invoke(main, ["bench", "estimate", "--from-runs", *runs, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["alloc_err_pct"] for r in data["runs"]] == [r["alloc_err_pct"] for r in grid_residuals()]
    fitted = refit()
    assert data["refit"] == {k: fitted[k] for k in ("CKPT_LAYERS", "NOCKPT_LAYERS")}
    cpu = tmp_path / "cpu" / "model"
    cpu.mkdir(parents=True)
    (cpu / "train_config.json").write_text(TrainConfig(model="tiny").model_dump_json())
    (cpu / "metrics.jsonl").write_text('{"step": 1, "peak_rss_gib": 1.2}\n')
    bad = CliRunner().invoke(main, ["bench", "estimate", "--from-runs", str(cpu.parent)])
    assert bad.exit_code == 2 and "no GPU peak recorded" in bad.output
