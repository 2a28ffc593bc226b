"""Reliability and scale on the CPU: SIGKILL mid-run then --resume, and two processes over gloo."""

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
from train_fixtures import make_run

from corpus_ft.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
ARGS = dict(
    model="tiny",
    method="lora",
    seq_len=128,
    micro_batch=4,
    grad_accum=1,
    learning_rate=3e-3,
    max_steps=20,
    eval_steps=5,
    save_steps=5,
    logging_steps=1,
    early_stopping_patience=0,
    save_total_limit=3,
)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread here and in the subprocesses: same arithmetic in every process, and on a
    shared 2-core machine two threads per process slow training down several-fold."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("resume") / "run", n=32)


def _cli_args(cfg: dict) -> list[str]:
    names = {"learning_rate": "--lr", "early_stopping_patience": "--patience"}
    out = []
    for k, v in cfg.items():
        if k != "save_total_limit":
            out += [names.get(k, "--" + k.replace("_", "-")), str(v)]
    return out


def _adapter(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(run / "model" / "adapter" / "adapter_model.safetensors")


def _losses_rows(run: Path) -> list[dict]:
    rows = [json.loads(x) for x in (run / "model" / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "loss" in r]


def _losses(run: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in _losses_rows(run)}


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_matches_uninterrupted(base_run, tmp_path):
    import torch

    from corpus_ft.train.trainer import COMPLETE, train

    ref, run = tmp_path / "ref", tmp_path / "run"
    shutil.copytree(base_run, ref)
    shutil.copytree(base_run, run)
    cfg = TrainConfig(**ARGS)
    train(ref, cfg, progress=False)

    # the same run as a real process, killed with SIGKILL once a checkpoint is complete
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpus_ft.cli", "train", str(run), *_cli_args(ARGS), "--json"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    ckpts = run / "model" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any((c / COMPLETE).is_file() and int(c.name.split("-")[1]) >= 5 for c in ckpts.glob("checkpoint-*")):
        assert proc.poll() is None, "training finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (run / "model" / "adapter").exists()  # no final output from a killed run
    assert not (run / "model" / "manifest.json").exists()
    with open(run / "model" / "metrics.jsonl", "a") as f:
        f.write('{"step": 7, "loss": 1.2')  # a line the kill cut short
    killed_at = max(int(c.name.split("-")[1]) for c in ckpts.glob("checkpoint-*") if (c / COMPLETE).is_file())
    assert 5 <= killed_at < 20

    # a checkpoint cut off while being written is never resumed from, and is cleaned away
    torn = ckpts / "checkpoint-999"
    torn.mkdir()
    (torn / "adapter_model.safetensors").write_bytes(b"half")
    result = train(run, cfg, resume=True, progress=False)
    assert result["resumed_from"].endswith(f"checkpoint-{killed_at}") and result["steps"] == 20
    assert not torn.exists()

    resumed, reference = _adapter(run), _adapter(ref)
    assert resumed.keys() == reference.keys()
    for name in reference:
        torch.testing.assert_close(resumed[name], reference[name], atol=2e-5, rtol=1e-4)
    a, b = _losses(run), _losses(ref)
    assert sorted(a) == sorted(b)  # every step logged once: nothing lost, nothing counted twice
    assert (
        abs(a[20] - b[20]) < 1e-4
        and abs(result["eval_loss"] - json.loads((ref / "model" / "train_result.json").read_text())["eval_loss"]) < 1e-4
    )


@pytest.mark.slow
def test_two_processes_over_gloo_train_one_adapter(base_run, tmp_path):
    """torchrun (what `accelerate launch` runs underneath) with 2 CPU ranks: both train, rank 0 writes."""
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    cfg = {**ARGS, "max_steps": 3, "eval_steps": 3, "save_steps": 3}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29561",
            "-m",
            "corpus_ft.cli",
            "train",
            str(run),
            *_cli_args(cfg),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert p.returncode == 0, p.stderr[-3000:]
    dec, pos, results = json.JSONDecoder(), 0, []
    while (start := p.stdout.find("{", pos)) != -1:
        obj, pos = dec.raw_decode(p.stdout, start)
        results.append(obj)
    assert sorted(r["rank"] for r in results) == [0, 1] and {r["world_size"] for r in results} == {2}
    assert {r["steps"] for r in results} == {3}
    assert (run / "model" / "adapter" / "adapter_model.safetensors").is_file()
    saved = json.loads((run / "model" / "train_config.json").read_text())
    assert saved["sharding"] == "ddp" and saved["num_gpus"] == 2  # read from the launcher, for the estimator
    assert sorted(_losses(run)) == [1, 2, 3] and len(_losses_rows(run)) == 3  # rank 0 alone logs


def _sigterm_after_first_loss(cmd: list[str], run: Path, stderr: Path, env: dict) -> str:
    """Start `cmd`, send SIGTERM once RUN's first loss is logged; assert exit 143; return the stop line."""
    with open(stderr, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env=env)
        metrics, deadline = run / "model" / "metrics.jsonl", time.monotonic() + 300
        while not (metrics.is_file() and '"loss"' in metrics.read_text()):
            assert proc.poll() is None, stderr.read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    return next(x for x in stderr.read_text().splitlines() if "training stopped by SIGTERM" in x)


@pytest.mark.slow
def test_sigterm_stops_at_a_step_with_a_checkpoint_and_the_printed_command_resumes(base_run, tmp_path):
    """SIGTERM (as a scheduler sends it) after the first logged step: exit 143, one line naming the checkpoint and
    the command that resumes; that command, run as printed, finishes the run from the checkpoint."""
    import shlex

    from corpus_ft.train.trainer import COMPLETE

    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "corpus_ft.cli", "train", str(run), *_cli_args(ARGS), "--json"]
    line = _sigterm_after_first_loss(cmd, run, tmp_path / "stderr.txt", env)
    step = int(line.split(" at step ")[1].split(";")[0])
    assert 1 <= step < ARGS["max_steps"]
    assert (run / "model" / "checkpoints" / f"checkpoint-{step}" / COMPLETE).is_file()
    assert f"checkpoint-{step}" in line and not (run / "model" / "adapter").exists()

    command = shlex.split(line.split("resume with: ")[1])
    assert command[:2] == ["corpus-ft", "train"] and command[-1] == "--resume"
    p = subprocess.run(
        [sys.executable, "-m", "corpus_ft.cli", *command[1:], "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout)
    assert result["resumed_from"].endswith(f"checkpoint-{step}") and result["steps"] == ARGS["max_steps"]
    assert sorted(_losses(run)) == list(range(1, ARGS["max_steps"] + 1))  # every step logged once


def test_a_second_signal_aborts_at_once(tmp_path):
    """The first Ctrl-C asks for a stop at the next step; a second one ends the process there and then."""
    script = (
        "import os, signal, time\n"
        "from corpus_ft.train.trainer import StopOnSignal\n"
        "stop = StopOnSignal()\n"
        "with stop.installed():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    assert stop.signum == signal.SIGINT\n"
        "    print('still running', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(30)\n"
        "    print('not aborted', flush=True)\n"
    )
    p = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGINT and p.stdout == "still running\n", (p.stdout, p.stderr[-2000:])
    assert "SIGINT again aborts at once" in p.stderr


@pytest.mark.slow
def test_a_stopped_recipe_names_its_own_resume_command_and_run_resume_finishes_it(tmp_path):
    """`corpus-ft run` stopped by SIGTERM in its train stage: the line also names `corpus-ft run … --resume`, and
    that command restarts training from the checkpoint (not step 0), then stamps the stage as done."""
    import shlex

    import yaml

    from tests.make_fixtures import tiny_recipe, write_repo

    recipe = tiny_recipe(tmp_path / "small.yaml", write_repo(tmp_path / "repo"), tmp_path / "run", None)
    data = yaml.safe_load(recipe.read_text())
    data["train"].update(max_steps=40, micro_batch=1)  # a checkpoint every 2 steps
    recipe.write_text(yaml.safe_dump(data, sort_keys=False))
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "corpus_ft.cli"]
    line = _sigterm_after_first_loss(
        [*cli, "run", str(recipe), "--through", "train"], run, tmp_path / "stderr.txt", env
    )
    step = int(line.split(" at step ")[1].split(";")[0])
    again = shlex.split(line.split("or the whole recipe: ")[1])
    assert again[:2] == ["corpus-ft", "run"] and again[-1] == "--resume" and str(recipe) in again
    p = subprocess.run([*cli, *again[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads((run / "model" / "train_result.json").read_text())
    assert result["resumed_from"].endswith(f"checkpoint-{step}")
    assert (run / ".stamps" / "train" / "manifest.json").is_file()
