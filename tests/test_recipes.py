"""Recipes: every shipped one validates; bad ones fail with file, line and key and write nothing;
the runner skips stages whose inputs and settings did not change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.recipe import load_recipe
from corpus_ft.run import run_recipe, stamp_path
from corpus_ft.util import CorpusFtError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "recipes").glob("*.yaml"))
REQUIRED = {"demo", "docs-paragraphs", "docs-qa", "docs-keywords", "code-summary", "enterprise-all"}


def test_the_required_recipes_ship():
    assert REQUIRED <= {p.stem for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_recipe_validates_and_explains_itself(path: Path):
    recipe = load_recipe(path, base_dir=ROOT)
    assert recipe.name == path.stem
    assert recipe.repo == ROOT / "sample_corpus"
    assert recipe.run_path == ROOT / "runs" / path.stem
    head = path.read_text().splitlines()[0]
    assert head.startswith("# ") and len(head) > 20, "a recipe opens with what it is for"
    assert f"corpus-ft run recipes/{path.name}" in path.read_text(), "and the command that runs it"
    if recipe.evaluate.queries:
        assert recipe.evaluate.queries.is_file()


def test_enterprise_all_mixes_every_kind_with_qlora_on_an_8b_llama():
    recipe = load_recipe(ROOT / "recipes" / "enterprise-all.yaml", base_dir=ROOT)
    assert set(recipe.datasets.kinds) == {"paragraphs", "qa", "keywords", "code_summary"}
    assert recipe.train.method == "qlora" and recipe.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert recipe.train_config().model == recipe.model


BAD = {
    # name: (yaml text, expected pieces of the message)
    "unknown_key": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ntrain:\n  lora_rr: 8\n",
        [":5:", "train.lora_rr", "unknown key", "did you mean `lora_r`"],
    ),
    "wrong_type": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ntrain:\n  method: lora\n  lora_r: eight\n",
        [":6:", "train.lora_r", 'got "eight"'],
    ),
    "missing_repo": (
        "name: x\nrepo: {repo}/no-such-dir\nrun_dir: {run}\n",
        [":2:", "repo:", "no-such-dir", "not an existing directory"],
    ),
    "yaml_syntax": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ntrain:\n  lora_r: [8\n  method: lora\n",
        ["not valid YAML"],
    ),
    "missing_name": ("repo: {repo}\nrun_dir: {run}\n", ["name: required"]),
    "nested_unknown": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ndatasets:\n  generator:\n    kind: hf\n",
        [":6:", "datasets.generator.kind", "unknown key"],
    ),
    "mix_not_built": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ndatasets:\n  kinds: [qa]\ntrain:\n  mix: {{qa: 1, keywords: 1}}\n",
        [":7:", "train.mix: trains keywords, which datasets.kinds does not build"],
    ),
    "model_under_train": (
        "name: x\nrepo: {repo}\nrun_dir: {run}\ntrain:\n  model: tiny\n",
        [":4:", "train", "top level"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_recipe_exits_2_naming_file_line_and_key_and_writes_nothing(case: str, tmp_path: Path):
    text, expected = BAD[case]
    run = tmp_path / "run"
    path = tmp_path / f"{case}.yaml"
    path.write_text(text.format(repo=ROOT / "sample_corpus", run=run))
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith(f"error: {path}"), message
    for piece in expected:
        assert piece in message, (piece, message)
    assert "Traceback" not in result.output
    assert not run.exists(), "a bad recipe must not create the run directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\nrepo: .\ntrain:\n  lora_r: [8\n  method: lora\n")
    with pytest.raises(CorpusFtError) as e:
        load_recipe(path)
    assert str(e.value).startswith(f"{path}:5: not valid YAML: expected ',' or ']', but got ':'")
    assert "flow sequence at line 4" in str(e.value)


def test_relative_paths_resolve_against_the_base_dir(tmp_path: Path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "q.yaml").write_text("queries: []\n")
    path = tmp_path / "r.yaml"
    path.write_text("name: rel\nrepo: repo\nevaluate:\n  queries: q.yaml\n")
    recipe = load_recipe(path, base_dir=tmp_path)
    assert recipe.repo == tmp_path / "repo"
    assert recipe.run_path == tmp_path / "runs" / "rel"
    assert recipe.evaluate.queries == tmp_path / "q.yaml"
    path.write_text(f"name: rel\nrepo: {tmp_path / 'repo'}\nevaluate:\n  queries: q.yaml\n")
    with pytest.raises(CorpusFtError, match=r"r.yaml:4: evaluate.queries: .*/repo/q.yaml is not an existing file"):
        load_recipe(path, base_dir=tmp_path / "repo")


def test_recipe_info_prints_the_resolved_run_dir(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: info\nrepo: {ROOT / 'sample_corpus'}\nrun_dir: {tmp_path / 'out'}\n")
    result = CliRunner().invoke(main, ["recipe-info", str(path), "--field", "run_dir"])
    assert result.exit_code == 0 and result.stdout.strip() == str(tmp_path / "out")
    full = json.loads(CliRunner().invoke(main, ["recipe-info", str(path)]).stdout)
    assert full["train"]["lora_r"] == 16 and full["model"] == "smollm2-135m-instruct"


def test_estimate_stage_stops_a_run_that_does_not_fit(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text(
        f"name: big\nrepo: {ROOT / 'sample_corpus'}\nrun_dir: {tmp_path / 'run'}\n"
        "model: meta-llama/Llama-3.1-8B-Instruct\nestimate:\n  gpu: 8GiB\n"
        "train:\n  method: lora\n  seq_len: 4096\n"
    )
    result = CliRunner().invoke(main, ["run", str(path), "--stage", "estimate"])
    assert result.exit_code == 3, result.output
    assert "do not fit the GPU" in result.stderr and "big.yaml" in result.stderr
    est = json.loads((tmp_path / "run" / "estimate.json").read_text())
    assert est["fit"]["fits"] is False and est["required_gib"] > 8


def test_ingest_and_datasets_stages_skip_when_up_to_date(tmp_path: Path):
    data = yaml.safe_load((ROOT / "recipes" / "demo.yaml").read_text())
    data.update(repo=str(ROOT / "sample_corpus"), run_dir=str(tmp_path / "run"))
    data["evaluate"]["queries"] = str(ROOT / "sample_corpus" / "queries.yaml")
    data["datasets"]["kinds"] = ["paragraphs", "keywords"]
    data["train"].pop("mix", None)  # the demo trains qa, which this test does not build
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    recipe = load_recipe(path)
    first = run_recipe(recipe, ["ingest", "datasets"], echo=lambda _: None)
    assert [first["stages"][s]["status"] for s in ("ingest", "datasets")] == ["ran", "ran"]
    stats = json.loads((tmp_path / "run" / "datasets" / "paragraphs" / "stats.json").read_text())
    assert stats["total"] > 50 and not (tmp_path / "run" / "datasets" / "qa").exists()
    assert (tmp_path / "run" / ".stamps" / "repo").read_text().strip() == str(ROOT / "sample_corpus")

    second = run_recipe(recipe, ["ingest", "datasets"], echo=lambda _: None)
    assert [second["stages"][s]["status"] for s in ("ingest", "datasets")] == ["up to date", "up to date"]

    data["datasets"]["chunk_size"] = 600  # a setting changed: the datasets rebuild, ingest does not
    path.write_text(yaml.safe_dump(data))
    third = run_recipe(load_recipe(path), ["ingest", "datasets"], echo=lambda _: None)
    assert [third["stages"][s]["status"] for s in ("ingest", "datasets")] == ["up to date", "ran"]
    rebuilt = json.loads((tmp_path / "run" / "datasets" / "paragraphs" / "stats.json").read_text())
    assert rebuilt["settings"]["chunk_size"] == 600 and rebuilt["total"] > stats["total"]
    assert stamp_path(tmp_path / "run", "datasets").is_file()


def test_a_later_stage_without_its_inputs_says_what_to_run(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: x\nrepo: {ROOT / 'sample_corpus'}\nrun_dir: {tmp_path / 'run'}\n")
    result = CliRunner().invoke(main, ["run", str(path), "--stage", "review"])
    assert result.exit_code == 2
    assert "run the `datasets` stage first" in result.stderr


def test_repo_option_overrides_the_recipe_and_must_exist(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the shipped recipes' relative paths resolve against the directory run from
    other = tmp_path / "other-repo"
    other.mkdir()
    recipe = ROOT / "recipes" / "docs-qa.yaml"
    result = CliRunner().invoke(main, ["recipe-info", str(recipe), "--field", "repo", "--repo", str(other)])
    assert result.exit_code == 0 and result.stdout.strip() == str(other)
    missing = CliRunner().invoke(
        main, ["run", str(recipe), "--repo", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "run")]
    )
    assert missing.exit_code == 2 and "nope" in missing.stderr
    assert not (tmp_path / "run").exists()
