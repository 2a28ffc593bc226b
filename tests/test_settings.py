"""One definition per setting: the CLI options are derived from the pydantic models, `estimate` and
`train` agree by construction, recipe overrides are validated like the file, errors are one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.cli_options import default_text, option_fields
from corpus_ft.datasets.config import BuildConfig
from corpus_ft.estimate.memory import ESTIMATED_FIELDS
from corpus_ft.estimate.shapes import PRESETS
from corpus_ft.evaluate.config import EvalConfig
from corpus_ft.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {  # command -> (model, fields it must offer)
    "train": (TrainConfig, option_fields(TrainConfig)),
    "estimate": (TrainConfig, ESTIMATED_FIELDS),
    # nested sections are set in recipes (datasets.qa_context.k) or by their own flag (--retrieval-k)
    "build": (BuildConfig, option_fields(BuildConfig, exclude=("kinds", "generator", "qa_context"))),
    "evaluate": (EvalConfig, option_fields(EvalConfig, exclude=("retrieval",))),
}


def _no_default(opt: click.Option) -> bool:
    return opt.default is None or "UNSET" in repr(opt.default)  # click 8.3 marks "no default" with a sentinel


def _options(command: str) -> dict[str, click.Option]:
    return {p.name: p for p in main.commands[command].params if isinstance(p, click.Option)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_field_is_an_option_whose_help_and_default_come_from_the_model(command):
    model, fields = COMMANDS[command]
    options = _options(command)
    for name in fields:
        field, opt = model.model_fields[name], options.get(name)
        assert opt is not None, f"{command}: {name} has no option"
        assert _no_default(opt), f"{command} --{name}: a default written beside the model's"
        assert field.description.rstrip(".") in opt.help and default_text(field) in opt.help
    for name, opt in options.items():  # an option named like a field never carries its own default
        if name in model.model_fields:
            assert _no_default(opt), f"{command} --{name}"


def test_estimate_offers_exactly_trains_options_for_what_it_reads():
    est, train = _options("estimate"), _options("train")
    for name in ESTIMATED_FIELDS:
        assert est[name].help == train[name].help and str(est[name].type) == str(train[name].type)
    extra = set(est) - set(ESTIMATED_FIELDS)
    assert extra <= {"margin_gib", "upcast", "run_dir", "as_json", "help"}, extra


def _llama_8b_dir(tmp_path: Path) -> Path:
    """A model directory with Llama-3-8B's config.json and no weights: the pre-flight needs no more."""
    s = PRESETS["llama-3-8b"]
    d = tmp_path / "Llama-3-8B"
    d.mkdir()
    (d / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "hidden_size": s.hidden,
                "intermediate_size": s.ffn,
                "num_attention_heads": s.heads,
                "num_key_value_heads": s.kv_heads,
                "num_hidden_layers": s.layers,
                "vocab_size": s.vocab,
                "tie_word_embeddings": s.tied,
            }
        )
    )
    return d


@pytest.mark.parametrize("settings", [[], ["--micro-batch", "1", "--lora-r", "64", "--liger", "off"]])
def test_estimate_and_trains_preflight_print_the_same_figure(tmp_path, copy_run, built_run, settings):
    model = str(_llama_8b_dir(tmp_path).resolve())
    runner = CliRunner()
    est = runner.invoke(main, ["estimate", model, "--gpu", "24GiB", *settings])
    run = copy_run(built_run)
    train = runner.invoke(main, ["train", str(run), "--model", model, "--gpu", "24GiB", *settings])
    headline = re.search(r"^(.+: peak allocated .+ GiB.*)$", est.output, re.M)[1]
    assert f"pre-flight: {headline}" in train.output, (est.output, train.output)
    assert ("does NOT fit" in headline) == (est.exit_code == 3) == (train.exit_code == 3)
    assert not (run / "model" / "checkpoints").exists()  # refused, or failed at the weights-less model: nothing trained


def test_a_bad_option_is_one_line_naming_the_key():
    for args, key in (
        (["evaluate", "/tmp", "--temperature", "9"], "evaluate.temperature"),
        (["estimate", "llama-3-8b", "--lora-r", "0"], "train.lora_r"),
        (["train", "/tmp", "--mix", "qa=1,poems=2"], "train.mix"),
    ):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2 and r.output.startswith(f"error: command line: {key}: "), r.output
        assert len(r.output.strip().splitlines()) == 1 and "https://" not in r.output


def test_dotted_overrides_are_validated_like_the_recipe(tmp_path):
    from corpus_ft.recipe import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(f"name: x\nrepo: {ROOT / 'sample_corpus'}\nrun_dir: {tmp_path / 'run'}\ntrain:\n  lora_r: 16\n")
    r = load_recipe(path, overrides=["train.lora_r=8", "train.mix.qa=2", "evaluate.kinds=[qa]", "tiny.layers=3"])
    assert (r.train.lora_r, r.train.mix, r.evaluate.kinds, r.tiny.layers) == (8, {"qa": 2.0}, ["qa"], 3)
    result = CliRunner().invoke(main, ["recipe-info", str(path), "--field", "name"])
    assert result.output.strip() == "x"
    bad = CliRunner().invoke(main, ["run", str(path), "train.lora_r=eight", "--stage", "ingest"])
    assert bad.exit_code == 2 and "train.lora_r" in bad.output and '"eight"' in bad.output
    typo = CliRunner().invoke(main, ["run", str(path), "train.lora_rr=8", "--stage", "ingest"])
    assert typo.exit_code == 2 and "did you mean `lora_r`" in typo.output
    assert not (tmp_path / "run").exists()


def test_kinds_stages_and_optimizers_are_written_once():
    """Grep the package: each list's literal appears in settings.py only."""
    lists = [
        '"paragraphs", "qa", "keywords", "code_summary"',
        '"ingest", "datasets", "review", "estimate", "train"',
        '"adamw_torch", "adamw_8bit", "paged_adamw_8bit"',
    ]
    for text in lists:
        found = [str(p.relative_to(ROOT)) for p in (ROOT / "corpus_ft").rglob("*.py") if text in p.read_text()]
        assert found == ["corpus_ft/settings.py"], (text, found)
