"""Issue 24, data-loss and filesystem rows: a command deletes only what it created, never a user's files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.ingest import ingest_repo

CLI = [sys.executable, "-m", "corpus_ft.cli"]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _write(root: Path, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())


DOC = {"guide.md": "# Guide\n\nHow the service is deployed and rolled back.\n"}
USER_FILES = {  # names today's stale-temp cleaner took for its own
    ".chapter1.tex.tmp": "my thesis, chapter 1\n",
    ".cache/app/.state.tmp": "an app's state\n",
    "photos/.album.old-999999-1/IMG.jpg": b"\xff\xd8 a photo",
    "notes/.draft.md.tmp.bak": "a draft\n",
}


def test_d1_ingest_into_a_folder_keeps_the_users_temp_looking_files(tmp_path):
    """D1: `ingest REPO --out DIR` deleted .chapter1.tex.tmp, .cache/app/.state.tmp and photos/.album.old-999999-1/."""
    _write(tmp_path / "repo", DOC)
    out = tmp_path / "mine"
    _write(out, USER_FILES)
    ingest_repo(tmp_path / "repo", out, workers=1)
    for rel, data in USER_FILES.items():
        p = out / rel
        assert p.is_file(), f"{rel} was deleted"
        assert p.read_bytes() == (data if isinstance(data, bytes) else data.encode())
    assert (out / "units.parquet").is_file()


# --- D2: export and tiny-model never replace a folder corpus-ft did not write --------------------------


def test_d2_export_refuses_the_run_its_model_and_dot(tmp_path, monkeypatch):
    """D2: `export RUN --merge RUN` replaced the whole run with one GGUF, `--merge RUN/model` deleted the
    adapter and checkpoints, `--merge .` raised ValueError and left a full model in ..XXXX.tmp/."""
    run = tmp_path / "run"
    _write(run, {"units.parquet": b"PAR1", "model/adapter/adapter_config.json": "{}", "model/metrics.jsonl": "{}\n"})
    before = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    for target, why in (
        (run, "holds the run"),
        (run / "model", "inside the run model"),
        (run / "model" / "adapter", "inside the run model"),
    ):
        r = cli("export", run, "--merge", target, "--quantize", "gguf-f16")
        assert r.exit_code == 2 and why in r.output and str(run) in r.output, r.output
    monkeypatch.chdir(run)
    r = cli("export", run, "--merge", ".")
    assert r.exit_code == 2 and "holds the run" in r.output, r.output
    mine = tmp_path / "mine"
    _write(mine, {"thesis.tex": "my thesis\n"})
    r = cli("export", run, "--merge", mine)
    assert r.exit_code == 2 and "thesis.tex" in r.output and "did not write" in r.output, r.output
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"]


def test_d2_tiny_model_refuses_a_folder_with_the_users_files(tmp_path):
    """D2: `tiny-model DIR` wiped a non-empty DIR."""
    mine = tmp_path / "mine"
    _write(mine, {"photo.jpg": b"\xff\xd8"})
    r = cli("tiny-model", mine, "--vocab-size", "300", "--hidden-size", "32", "--layers", "1")
    assert r.exit_code == 2 and "photo.jpg" in r.output, r.output
    assert (mine / "photo.jpg").read_bytes() == b"\xff\xd8"
    out = tmp_path / "tiny"
    for _ in range(2):  # a new folder, then its own earlier output: both fine
        r = cli("tiny-model", out, "--vocab-size", "300", "--hidden-size", "32", "--layers", "1")
        assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "tiny"]


# --- O4: train.mix weights must be finite and bounded -------------------------------------------------


@pytest.mark.parametrize("value", [".inf", ".nan", "1.0e9", "-1"])
def test_o4_a_mix_weight_that_is_not_a_usable_number_is_a_clear_error(value, tmp_path):
    """O4: `train.mix.qa=.inf` reached OverflowError in train/data.py, 1.0e9 MemoryError, .nan said "every weight is 0"."""
    from corpus_ft.recipe import load_recipe
    from corpus_ft.util import CorpusFtError

    demo = Path(__file__).resolve().parent.parent / "recipes" / "demo.yaml"
    with pytest.raises(CorpusFtError, match=r"train\.mix: weights must be numbers from 0 to 100"):
        load_recipe(demo, overrides=[f"train.mix.qa={value}"])
    assert load_recipe(demo, overrides=["train.mix.qa=2"]).train_config().mix["qa"] == 2.0


# --- O5/O6: input and output may not contain each other -------------------------------------------------


def test_o5_ingest_into_the_repository_itself_is_refused(tmp_path):
    """O5: `ingest RUN --out RUN` (or `run --repo X --run-dir X` twice) ingested the run's own review page."""
    from corpus_ft.util import CorpusFtError

    repo = tmp_path / "repo"
    _write(repo, DOC)
    with pytest.raises(CorpusFtError, match="input and output may not contain each other"):
        ingest_repo(repo, repo, workers=1)
    with pytest.raises(CorpusFtError, match="input and output may not contain each other"):
        ingest_repo(repo, tmp_path, workers=1)  # an output that holds the repository
    assert sorted(p.name for p in repo.iterdir()) == ["guide.md"]
    ingest_repo(repo, repo / "runs" / "mine", workers=1)  # a run inside the repository: the walk skips it
    assert ingest_repo(repo, repo / "runs" / "mine", workers=1)["files_ingested"] == 1


def test_o6_ingest_of_another_repository_into_a_run_is_refused(tmp_path):
    """O6: `ingest OTHER --out RUN_OF_A` overwrote A's units while its stamps still named A."""
    from corpus_ft.util import CorpusFtError

    _write(tmp_path / "a", DOC)
    _write(tmp_path / "b", {"other.md": "# Other\n\nAnother service entirely.\n"})
    run = tmp_path / "run"
    ingest_repo(tmp_path / "a", run, workers=1)
    units = (run / "units.parquet").read_bytes()
    with pytest.raises(CorpusFtError, match=r"holds the run of .*/a, not .*/b"):
        ingest_repo(tmp_path / "b", run, workers=1)
    assert (run / "units.parquet").read_bytes() == units
    r = cli("ingest", tmp_path / "b", "--out", run)
    assert r.exit_code == 2 and "holds the run of" in r.output, r.output


# --- X3, X4, X7: the walk and the read ------------------------------------------------------------------


def test_x3_a_file_swapped_after_the_walk_for_a_link_or_a_fifo_is_not_read(tmp_path):
    """X3: a file swapped for a symlink to an outside file after the walk was read; for a FIFO, ingest hung."""
    import signal

    from corpus_ft.ingest import IngestConfig
    from corpus_ft.ingest.parse import parse_file
    from corpus_ft.ingest.walk import walk

    outside = tmp_path / "outside.md"
    outside.write_text("# Secret\n\nOUTSIDE-THE-ROOT marker text that must never be read.\n")
    repo = tmp_path / "repo"
    _write(repo, {"a.md": "# A\n\nfirst page\n", "b.md": "# B\n\nsecond page\n"})
    walked = {c.rel: c for c in walk(repo, IngestConfig()).files}
    (repo / "a.md").unlink()
    os.symlink(outside, repo / "a.md")
    (repo / "b.md").unlink()
    os.mkfifo(repo / "b.md")
    settings = {"max_line_length": 10_000, "read_pdf": True, "read_docx": True, "min_section_chars": 0}

    def hung(*_):
        raise TimeoutError("reading the FIFO hung")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        a = parse_file(walked["a.md"].path, "markdown", settings)
        b = parse_file(walked["b.md"].path, "markdown", settings)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert a["status"] == "skipped" and "symlink" in a["detail"], a
    assert "OUTSIDE-THE-ROOT" not in json.dumps(a)
    assert b["status"] == "skipped" and "not a regular file" in b["detail"], b


def test_x4_links_that_vanish_during_the_walk_are_reported_not_a_traceback(tmp_path):
    """X4: a broken symlink removed during the walk (here /proc/self/fd: the walk's own descriptors
    come and go), or `ingest /proc`, gave a FileNotFoundError traceback."""
    report = ingest_repo("/proc/self", tmp_path / "run", workers=1)
    assert (tmp_path / "run" / "ingest_report.json").is_file()
    assert any(s["path"].startswith("fd/") for s in report["skipped"])


def test_x7_a_very_deep_tree_is_walked_in_linear_time(tmp_path):
    """X7: 2,100 nested directories made the walk super-linear (depth 1,200: 20.8 s; 2,100: 88.5 s; here
    depth 500 took 22 s and 1,500 took 501 s on a loaded machine, with the cap 0.1 s for either)."""
    import time

    from corpus_ft.ingest import IngestConfig
    from corpus_ft.ingest.walk import walk

    repo = tmp_path / "repo"
    repo.mkdir()
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        for _ in range(400):  # pytest removes tmp_path recursively: 1,000 levels would overflow its stack
            os.mkdir("d")
            os.chdir("d")
        Path("deep.md").write_text("# Deep\n\ntext\n")
    finally:
        os.chdir(cwd)
    try:
        t0 = time.perf_counter()
        result = walk(repo, IngestConfig())
        seconds = time.perf_counter() - t0
    finally:
        _remove_chain(repo)  # bottom-up, so no later tmp cleanup recurses 400 levels deep
    assert seconds < 5, f"{seconds:.1f} s"
    ((path, reason, _),) = result.skipped
    assert reason == "too_deep" and path.count("/") == 129  # walk.MAX_DEPTH (128) levels, then reported


def _remove_chain(top: Path) -> None:
    """Remove a single chain of nested `d` directories without recursion."""
    depth, here = 0, top
    while (here / "d").is_dir():
        here, depth = here / "d", depth + 1
    (here / "deep.md").unlink(missing_ok=True)
    for _ in range(depth):
        os.rmdir(here)
        here = here.parent


# --- D8: a decision whose record changed is reported, not silently dropped ----------------------------


def test_d8_a_rejected_record_whose_text_changed_returns_with_a_stale_decision_warning(tmp_path, caplog):
    """D8: a rejected record whose paragraph changed by one word silently returned with "0 rejected"."""
    import logging

    from corpus_ft.datasets import build_dataset
    from corpus_ft.review import append_decision
    from corpus_ft.util import read_jsonl

    text = (
        "# Runbook\n\n## Restart\n\nTo restart the billing service, drain the queue first, then stop the "
        "workers one by one and start them again with the deploy tool; watch the error rate for ten minutes.\n"
    )
    repo, run = tmp_path / "repo", tmp_path / "run"
    _write(repo, {"runbook.md": text})
    ingest_repo(repo, run, workers=1)
    build_dataset("paragraphs", run, generator="heuristic")
    records = [
        r
        for split in ("train", "validation", "test")
        for r in read_jsonl(run / "datasets" / "paragraphs" / f"{split}.jsonl")
    ]
    rec = next(r for r in records if "drain the queue" in r["text"])
    append_decision(run, rec["id"], "paragraphs", "reject", source=rec["source"])
    _write(repo, {"runbook.md": text.replace("ten minutes", "fifteen minutes")})
    ingest_repo(repo, run, workers=1)
    with caplog.at_level(logging.WARNING):
        stats = build_dataset("paragraphs", run, generator="heuristic", apply_review=True)
    back = [
        r
        for split in ("train", "validation", "test")
        for r in read_jsonl(run / "datasets" / "paragraphs" / f"{split}.jsonl")
        if "drain the queue" in r["text"]
    ]
    assert back and back[0]["id"] != rec["id"]  # the changed record is back, under a new id ...
    stale = [m for m in caplog.messages if rec["id"] in m and "changed since" in m]
    assert stale and "runbook.md" in stale[0] and back[0]["id"] in stale[0], caplog.messages  # ... and says so
    assert stats["review"]["rejected"] == 0


# --- D7: out of space -----------------------------------------------------------------------------------

PAGES = {
    f"docs/page{i}.md": f"# Page {i}\n\n## Setup\n\nService {i} reads its settings from the shared configuration "
    f"store and reloads them when the store changes, so operators never restart it by hand. A setting it cannot "
    f"parse keeps the old value and raises an alert.\n\n## Rollback\n\n"
    f"To roll back service {i}, deploy the previous release with the deploy tool and watch the error rate. "
    f"If the rate does not fall within ten minutes, page the owning team.\n"
    for i in range(12)
}


def _limited(limit: int):
    def apply():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_d7_out_of_space_during_build_is_one_line_exit_1_and_old_outputs_stay(tmp_path):
    """D7: a full disk during build, export or train printed a raw `OSError: [Errno 28]` traceback."""
    import subprocess

    from corpus_ft.datasets import build_dataset

    repo, run = tmp_path / "repo", tmp_path / "run"
    _write(repo, PAGES)
    ingest_repo(repo, run, workers=1)
    build_dataset("paragraphs", run, generator="heuristic")
    out = run / "datasets" / "paragraphs"
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert max(len(b) for b in before.values()) > 4096
    p = subprocess.run(
        CLI + ["build", "paragraphs", "--run", str(run), "--generator", "heuristic", "--force"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(4096),
    )
    assert p.returncode == 1 and "out of space" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [q for q in run.rglob("*") if ".tmp" in q.name]


def test_d7_review_posts_on_a_full_disk_keep_answering(tmp_path):
    """D7: with the disk full, review POSTs answered 500 from the second request on."""
    import httpx

    from corpus_ft.datasets import build_dataset
    from corpus_ft.review.server import ServerThread
    from corpus_ft.util import read_jsonl

    repo, run = tmp_path / "repo", tmp_path / "run"
    _write(repo, PAGES)
    ingest_repo(repo, run, workers=1)
    build_dataset("paragraphs", run, generator="heuristic")
    rid = read_jsonl(run / "datasets" / "paragraphs" / "train.jsonl")[0]["id"]
    (run / "review").mkdir(exist_ok=True)
    os.symlink("/dev/full", run / "review" / "decisions.jsonl")  # every write: ENOSPC
    with ServerThread(run) as srv:
        for _ in range(3):
            r = httpx.post(srv.url + "api/decisions", json={"record_id": rid, "action": "reject"})
            assert r.status_code == 507 and "out of space" in r.json()["error"], r.text
        assert httpx.get(srv.url + "api/records").status_code == 200
