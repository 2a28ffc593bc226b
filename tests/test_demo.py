"""`corpus-ft run` on the demo recipe, shortened, end to end on the CPU: real ingest, datasets, review page,
estimate, LoRA training of the real SmolLM2-135M-Instruct (the cached `corpus-ft model get` directory) and
evaluation; then a re-run skips every stage, and so does make. `make demo` itself runs the full recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.recipe import load_recipe
from corpus_ft.run import STAGES, run_recipe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, smollm2) -> tuple[Path, Path, dict]:
    """recipes/demo.yaml on its real model, made short (3 steps, 8 new tokens), run once for the module."""
    tmp = tmp_path_factory.mktemp("demo")
    data = yaml.safe_load((ROOT / "recipes" / "demo.yaml").read_text())
    assert data["model"] == "smollm2-135m-instruct"
    data.update(repo=str(ROOT / "sample_corpus"), run_dir=str(tmp / "run"))
    data["train"].update(max_steps=3, eval_steps=3, save_steps=3, logging_steps=1)
    data["evaluate"].update(queries=str(ROOT / "sample_corpus" / "queries.yaml"), test_sample=2, max_new_tokens=8)
    recipe_path = tmp / "demo-small.yaml"
    recipe_path.write_text(yaml.safe_dump(data, sort_keys=False))
    lines: list[str] = []
    result = run_recipe(load_recipe(recipe_path), echo=lines.append)
    return recipe_path, tmp / "run", {**result, "lines": lines}


@pytest.mark.slow
def test_demo_runs_every_stage_and_tuned_beats_base(demo_run, smollm2):
    _, run, result = demo_run
    assert list(result["stages"]) == list(STAGES)  # no tiny model is built
    assert all(r["status"] == "ran" for r in result["stages"].values())
    assert not (run / "tiny-model").exists() and not any("tiny" in line for line in result["lines"])
    assert Path(result["review_page"]) == run / "review" / "index.html"
    assert "<html" in (run / "review" / "index.html").read_text().lower()
    assert Path(result["eval_report"]) == run / "eval" / "report.html"
    assert json.loads((run / "estimate.json").read_text())["fit"]["fits"] is True
    assert (run / "model" / "adapter" / "adapter_config.json").is_file()

    summary = json.loads((run / "eval" / "summary.json").read_text())
    assert summary["counts"]["queries"] == 22 and summary["tiny_model"] is False
    assert summary["base"] == str(smollm2)  # the cached `corpus-ft model get` directory
    rows = [json.loads(line) for line in (run / "eval" / "results.jsonl").read_text().splitlines()]
    assert sum(bool(r["base"]["answer"]) for r in rows if r["group"] == "queries") >= 20  # a real model answers
    test = summary["aggregate"]["test"]
    assert test["tuned"]["ppl"] < test["base"]["ppl"], test
    assert result["stages"]["evaluate"]["test_ppl"]["tuned"] == pytest.approx(test["tuned"]["ppl"], abs=0.01)
    assert any(line.startswith("train ") and "ran" in line for line in result["lines"])


@pytest.mark.slow
def test_second_run_skips_every_stage_and_prints_where_results_are(demo_run):
    recipe_path, run, _ = demo_run
    before = (run / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    out = CliRunner().invoke(main, ["run", str(recipe_path)])
    assert out.exit_code == 0, out.output
    for stage in ("ingest", "datasets", "review", "train", "evaluate"):
        assert any(line.startswith(stage) and "up to date" in line for line in out.stderr.splitlines()), stage
    assert f"review page:       {run / 'review' / 'index.html'}" in out.stderr
    assert f"evaluation report: {run / 'eval' / 'report.html'}" in out.stderr
    assert (run / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == before


@pytest.mark.slow
def test_make_asks_corpus_ft_and_finds_the_run_up_to_date(demo_run):
    """make keeps no state of its own: `make evaluate` reports each stage as corpus-ft's manifests see it,
    and a recipe whose time changed but whose content did not re-runs nothing."""
    recipe_path, run, _ = demo_run
    cli = f"{sys.executable} -m corpus_ft.cli"

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-o",
                ".venv/.installed",
                *args,
                f"RECIPE={recipe_path}",
                f"CORPUS_FT={cli}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "MAKEFLAGS": ""},
        )

    os.utime(recipe_path)  # newer, same content
    before = (run / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    done = make("evaluate")
    assert done.returncode == 0, done.stderr
    for stage in ("ingest", "datasets", "estimate", "train", "evaluate"):
        assert any(line.split()[:3] == [stage, "up", "to"] for line in done.stderr.splitlines()), (stage, done.stderr)
    assert (run / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == before


SECRETS = json.loads((ROOT / "tests" / "fixtures" / "planted_secrets.json").read_text())["secrets"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "secret", [pytest.param(s, id=f"{s['type']}-{Path(s['path']).name}-{i}") for i, s in enumerate(SECRETS)]
)
def test_no_planted_secret_reaches_a_dataset(demo_run, secret):
    """Nor the review page or the evaluation reports, which quote the source spans."""
    _, run, _ = demo_run
    outputs = [p for d in ("datasets", "review", "eval") for p in (run / d).rglob("*") if p.is_file()]
    assert {p.relative_to(run).parts[0] for p in outputs} == {"datasets", "review", "eval"}
    for value in [secret["value"], secret.get("body_line")]:
        if value:
            hits = [p for p in outputs if value.encode() in p.read_bytes()]
            assert not hits, f"{secret['type']} from {secret['path']} found in {hits}"
