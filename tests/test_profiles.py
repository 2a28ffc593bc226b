"""`--profile cpu`: any recipe on the embedded model with CPU-sized settings, on a repository of your own,
in a run directory named for the model; and the progress a user sees meanwhile under make or in a log."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.progress import QUIET_LOGGERS, Ticker, quiet_third_party
from corpus_ft.recipe import load_recipe, split_overrides
from tests.make_fixtures import ROOT, write_queries, write_repo

# The tiny model stands in for SmolLM2 in the end-to-end test: one SmolLM2 step took over 90 s on the
# shared 2-core machine. The override is explicit and the test checks that without it the profile
# picks SmolLM2.
TINY = [
    "model=tiny",
    "tiny.vocab_size=300",
    "tiny.hidden_size=32",
    "tiny.layers=1",
    "tiny.heads=2",
    "tiny.kv_heads=1",
    "train.max_steps=3",
    "train.logging_steps=1",
    "evaluate.test_sample=1",
    "evaluate.max_new_tokens=4",
]


def test_the_cpu_profile_puts_any_recipe_on_the_embedded_model_in_its_own_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    repo = write_repo(tmp_path / "quillby")
    for recipe in ("docs-qa", "enterprise-all", "code-summary"):
        r = load_recipe(f"recipes/{recipe}.yaml", profile="cpu")
        assert r.model == "smollm2-135m-instruct" and r.train.method == "lora" and r.train.seq_len == 256
        assert r.estimate.gpu is None and r.model_overridden
    args = ["recipe-info", "recipes/docs-qa.yaml", "--profile", "cpu", "--repo", str(repo), "--field", "run_dir"]
    run_dir = Path(CliRunner().invoke(main, args).stdout.strip())
    assert run_dir.name.startswith("docs-qa--quillby-") and run_dir.name.endswith("--smollm2-135m-instruct")
    own = CliRunner().invoke(main, ["recipe-info", "recipes/docs-qa.yaml", "--field", "run_dir"]).stdout.strip()
    assert own == str(ROOT / "runs" / "docs-qa")  # the recipe's own model keeps the recipe's own directory
    unknown = CliRunner().invoke(main, ["recipe-info", "recipes/docs-qa.yaml", "--profile", "gpu-huge"])
    assert unknown.exit_code == 2 and "known profiles: cpu" in unknown.stderr


@pytest.mark.slow
def test_profile_cpu_completes_a_recipe_on_a_second_repository_with_progress_lines(tmp_path, monkeypatch):
    """docs-qa with --profile cpu on a repository the test writes, every stage, through the CLI as a user
    runs it (~30 s on 2 idle cores); progress lines come out without a terminal, library noise does not."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CORPUS_FT_PROGRESS_S", "0.2")
    repo = write_repo(tmp_path / "quillby")
    queries = write_queries(tmp_path / "queries.yaml")
    run = tmp_path / "run"
    args = ["run", "recipes/docs-qa.yaml", "--profile", "cpu", "--repo", str(repo), "--run-dir", str(run)]
    result = CliRunner().invoke(main, [*args, f"evaluate.queries={queries}", *TINY])
    assert result.exit_code == 0, result.output
    cfg = json.loads((run / "model" / "train_config.json").read_text())
    assert (cfg["method"], cfg["lora_r"], cfg["seq_len"], cfg["learning_rate"]) == ("lora", 32, 256, 1e-3)
    assert (run / "eval" / "report.html").is_file()
    assert json.loads((run / "eval" / "summary.json").read_text())["counts"]["queries"] == 2

    err = result.stderr
    for stage in ("ingest", "datasets", "review", "estimate", "train", "evaluate"):
        assert re.search(rf"^{stage}\s+starting$", err, re.M) and re.search(rf"^{stage}\s+ran\b", err, re.M), stage
    assert re.search(r"^train: \d+/3 steps, .*elapsed \d+:\d\d", err, re.M), err
    assert re.search(r"^evaluate: \d+/\d+ items, elapsed", err, re.M), err
    assert "Loading weights" not in err and "Created a chunk of size" not in err


def test_a_run_directory_refuses_another_models_run(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = tmp_path / "run"
    (run / ".stamps").mkdir(parents=True)
    (run / ".stamps" / "model").write_text("meta-llama/Llama-3.1-8B-Instruct\n")
    r = CliRunner().invoke(main, ["run", "recipes/demo.yaml", "--run-dir", str(run), "--stage", "ingest"])
    assert r.exit_code == 2 and "holds a run of model meta-llama/Llama-3.1-8B-Instruct" in r.stderr
    assert sorted(p.name for p in run.iterdir()) == [".stamps"]


def test_ticker_lines_report_progress_and_a_heartbeat_stays_quiet_under_them():
    lines: list[str] = []
    beat = Ticker("train", heartbeat=True, say=lines.append, every_s=0.05)
    import time

    time.sleep(0.2)
    assert lines and all(re.fullmatch(r"train: working, elapsed 0:0\d", line) for line in lines)
    fine = Ticker("train", 40, say=lines.append, every_s=0.05)
    fine.update(10, loss=2.5, tokens_per_s=180.0)
    n = len(lines)
    time.sleep(0.3)
    fine.close("40 steps")
    beat.close()
    new = lines[n:]
    assert new and not any("working" in line for line in new)
    assert re.fullmatch(r"train: 10/40 steps, loss 2\.5, tokens per s 180, elapsed 0:00, ETA 0:0\d", new[0]), new
    assert new[-1] == "train: 40 steps"


def test_library_noise_is_silenced(capfd):
    quiet_third_party(bars=False)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).warning("Created a chunk of size 1653, which is longer than the specified 1500")
    assert "Created a chunk" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "text,expected",
    [
        ("train.lora_r=8 evaluate.queries=null", ["train.lora_r=8", "evaluate.queries=null"]),
        ("description=It's_mine", ["description=It's_mine"]),
        ("description=two words train.lora_r=8", ["description=two words", "train.lora_r=8"]),
        ("train.lora_r=8; touch $HOME/pwned", ["train.lora_r=8; touch $HOME/pwned"]),
        ("  ", []),
    ],
)
def test_set_splits_without_a_shell(text, expected):
    assert split_overrides(text) == expected


def test_cli_reports_corpus_ft_logs_once_as_level_message_and_v_q_set_the_level(tmp_path):
    import logging

    from click.testing import CliRunner

    from corpus_ft.cli import main

    @main.command("log-probe", hidden=True)
    def _probe() -> None:
        log = logging.getLogger("corpus_ft.some.module")
        log.info("details")
        log.warning("check the recipe")
        log.error("broken")
        logging.getLogger("kernels._internals.hf_hub").warning("Skipping publisher trust check")  # library noise

    try:
        runner = CliRunner()
        plain = runner.invoke(main, ["log-probe"]).stderr
        assert plain.splitlines() == ["warning: check the recipe", "error: broken"]
        assert runner.invoke(main, ["-v", "log-probe"]).stderr.splitlines()[0] == "info: details"
        assert runner.invoke(main, ["-q", "log-probe"]).stderr.splitlines() == ["error: broken"]
        handlers = logging.getLogger("corpus_ft").handlers
        assert len(handlers) == 1  # three invocations, one handler
    finally:
        main.commands.pop("log-probe", None)
        logging.getLogger("corpus_ft").setLevel(logging.NOTSET)
