"""datasets.augment: extra train records from train records only, marked, filtered, counted, reviewable, reversible.

A small repository of our own is ingested and built twice (augment off and on); a marker planted in
the file the split sends to test must never reach a train record, and validation/test must not change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.datasets import build_dataset
from corpus_ft.datasets.augment import OFFLINE_OPS, AugmentConfig, augment_built, question_rewrites, sentence_windows
from corpus_ft.datasets.split import assign_files
from corpus_ft.settings import METHOD_LEARNING_RATES
from corpus_ft.util import CorpusFtError, read_jsonl

TEST_MARKER = "QUOKKA-TEST-ONLY-7f3a"  # planted in the file the split sends to test
KINDS = ("paragraphs", "qa", "keywords")
AUG = {"offline": list(OFFLINE_OPS), "variants": 2}
PATHS = [f"docs/topic{i}.md" for i in range(8)]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _page(i: int, marker: str) -> str:
    return f"""# Widget {i} guide

## How to configure widget {i}

To configure widget {i}, run `widgetctl setup --id {i}` on the gateway host. The command writes the
settings file for widget {i} and validates it. Then it restarts the widget {i} service. Operators
check the service log afterwards for the line `widget {i} ready`. {marker}

## What is the widget {i} cache?

The widget {i} cache keeps the last 500 lookups in memory. It is cleared on every restart. A full cache
evicts the oldest entry first. Its size is set by `widget{i}_cache_size` in the settings file. {marker}

## {_NAMES[i]} eviction policy

The {_NAMES[i].lower()} eviction policy is what decides which lookup leaves the cache when it is full. By default the
{_NAMES[i].lower()} eviction policy is to drop the entry read least recently, so lookups that repeat stay warm while
one-off lookups age out after a few minutes of quiet traffic on the gateway host. {marker}
"""


# One name a page: a keyword is a term of its own section, not a number shared by every page
_NAMES = ["Amber", "Birch", "Cedar", "Dahlia", "Ember", "Fennel", "Garnet", "Hazel"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One ingest, built without and with augmentation into two run directories."""
    from corpus_ft.ingest import ingest_repo

    where = assign_files(PATHS, (0.8, 0.1, 0.1), 0)
    test_file = next(p for p in PATHS if where[p] == "test")
    repo = tmp_path_factory.mktemp("repo")
    for i, path in enumerate(PATHS):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(_page(i, TEST_MARKER if path == test_file else f"Marker train{i}."))
    off = tmp_path_factory.mktemp("aug") / "off"
    ingest_repo(repo, off, workers=1)
    on = off.parent / "on"
    shutil.copytree(off, on)
    for kind in KINDS:
        build_dataset(kind, off)
        build_dataset(kind, on, augment=AUG)
    return {"off": off, "on": on, "test_file": test_file}


def _text(rec: dict) -> str:
    return rec.get("text") or "\n".join(m["content"] for m in rec["messages"])


@pytest.mark.parametrize("kind", KINDS)
def test_augmentation_never_carries_test_split_text_and_leaves_held_out_splits_byte_identical(runs, kind):
    on, off = runs["on"] / "datasets" / kind, runs["off"] / "datasets" / kind
    test = read_jsonl(on / "test.jsonl")
    assert test and all(r["source"]["path"] == runs["test_file"] for r in test)
    assert any(TEST_MARKER in _text(r) for r in test)  # the marker is really in the test split
    train = read_jsonl(on / "train.jsonl")
    augmented = [r for r in train if "augmented" in r["meta"]]
    assert augmented, "augmentation wrote no record"
    assert not any(TEST_MARKER in _text(r) for r in train)
    for split in ("validation", "test"):
        assert (on / f"{split}.jsonl").read_bytes() == (off / f"{split}.jsonl").read_bytes()
    originals = {r["id"]: r for r in read_jsonl(off / "train.jsonl")}
    assert [r for r in train if "augmented" not in r["meta"]] == list(originals.values())
    for r in augmented:  # each made from one train record of the same file, marked with its op
        src = originals[r["meta"]["augmented"]["from"]]
        assert r["meta"]["augmented"]["op"] in OFFLINE_OPS and r["source"] == src["source"] and r["id"] != src["id"]
        assert _text(r) != _text(src)
    stats = json.loads((on / "stats.json").read_text())
    assert stats["augment"]["augmented"] == len(augmented) and stats["augment"]["train_records"] == len(train)
    assert sum(stats["augment"]["by_op"].values()) == len(augmented) and stats["splits"]["train"] == len(train)
    card = (on / "card.md").read_text()
    assert f"{len(augmented)} augmented of {len(train)} train records, by op:" in card
    assert json.loads((off / "stats.json").read_text())["augment"] is None
    assert "Augmentation" not in (off / "card.md").read_text()


def test_augmented_records_pass_the_builders_filters(runs):
    """Near-duplicate rewrites are removed (and listed in removed.jsonl) like any other candidate."""
    qa = runs["on"] / "datasets" / "qa"
    stats = json.loads((qa / "stats.json").read_text())
    train = read_jsonl(qa / "train.jsonl")
    contents = ["\n".join(m["content"] for m in r["messages"][1:]).lower() for r in train]
    assert len(set(contents)) == len(contents)  # no exact duplicate slipped in
    removed = [r for r in read_jsonl(qa / "removed.jsonl") if "-aug-" in (r["id"] or "")]
    assert sum(stats["augment"]["removed"].values()) == len(removed)


def test_question_rewrites_keep_the_subject_and_the_rest_of_the_prompt():
    out = question_rewrites("How do I rotate the Ledgerline API key?")
    assert (
        "What is the way to rotate the Ledgerline API key?" in out
        and "Explain how to rotate the Ledgerline API key." in out
    )
    code = question_rewrites(
        "Explain what `parse` (python function in `a.py`) does.\n\n```python\ndef parse(): ...\n```"
    )
    assert code[0].startswith("What does `parse` (python function in `a.py`) do?") and all(
        c.endswith("\n\n```python\ndef parse(): ...\n```") for c in code
    )
    assert question_rewrites("Anything else") and question_rewrites("") == []


def test_sentence_windows_keep_the_heading_and_crop_the_body():
    import random

    text = "Guide > Setup\n\nOne is first. Two is next. Three follows. Four ends it. Five is extra."
    crops = sentence_windows(text, 2, random.Random(0))
    assert len(crops) == 2 and len(set(crops)) == 2
    for c in crops:
        assert c.startswith("Guide > Setup\n\n") and c[len("Guide > Setup\n\n") :] in text and len(c) < len(text)
    assert sentence_windows("Only one sentence here.", 2, random.Random(0)) == []


def test_rejecting_a_source_drops_its_augmentations_in_training_and_rebuilds(runs, tmp_path):
    from corpus_ft.review import append_decision
    from corpus_ft.train.data import reviewed

    run = tmp_path / "run"
    shutil.copytree(runs["on"], run)
    train = read_jsonl(run / "datasets" / "qa" / "train.jsonl")
    source = next(r for r in train if any(a["meta"].get("augmented", {}).get("from") == r["id"] for a in train))
    children = [r for r in train if r["meta"].get("augmented", {}).get("from") == source["id"]]
    other = next(r for r in train if "augmented" in r["meta"] and r not in children)
    append_decision(run, source["id"], "qa", "reject")
    append_decision(run, other["id"], "qa", "reject")  # an augmented record itself can be rejected too
    kept, review = reviewed(run, train)  # what the trainer reads
    ids = {r["id"] for r in kept}
    assert source["id"] not in ids and not ids & {c["id"] for c in children} and other["id"] not in ids
    assert review["rejected"] == 2 and review["rejected_augmentations"] == len(children)
    stats = build_dataset("qa", run, augment=AUG, apply_review=True)
    rebuilt = read_jsonl(run / "datasets" / "qa" / "train.jsonl")
    assert not {r["id"] for r in rebuilt} & ({source["id"], other["id"]} | {c["id"] for c in children})
    assert stats["augment"]["augmented"] == sum("augmented" in r["meta"] for r in rebuilt)


def test_cli_build_augment_and_no_augment(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["off"], run)
    r = cli("build", "qa", "--run", run, "--augment", "question_templates", "--augment-variants", "3", "--json")
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)["qa"]
    assert stats["augment"]["by_op"]["question_templates"] > stats["splits"]["train"] - stats["augment"]["augmented"]
    r = cli("build", "qa", "--run", run, "--augment", "question_templates", "--no-augment", "--json")
    assert r.exit_code == 0, r.output
    for split in ("train", "validation", "test"):  # reversible: the same bytes as a build that never augmented
        assert (run / "datasets/qa" / f"{split}.jsonl").read_bytes() == (
            runs["off"] / "datasets/qa" / f"{split}.jsonl"
        ).read_bytes()
    r = cli("build", "qa", "--run", run, "--augment", "synonyms")
    assert r.exit_code == 2 and "datasets.augment.offline" in r.output and "question_templates" in r.output


def test_paraphrase_needs_a_model_generator():
    from corpus_ft.datasets import resolve_config

    with pytest.raises(CorpusFtError, match="augment.paraphrase needs a model generator"):
        resolve_config(None, {"augment": {"paraphrase": 2}})
    assert resolve_config(None, {"augment": {"paraphrase": 2}, "generator": {"type": "openai", "model": "m"}}).augment


def test_augment_built_copies_a_run_with_only_train_augmented(runs, tmp_path):
    """What `bench modes --augment on` trains on: the run's datasets untouched, a copy augmented."""
    src = runs["off"] / "datasets" / "qa"
    before = {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()}
    stats = augment_built(src, tmp_path / "qa", "qa", AugmentConfig())
    assert {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()} == before
    assert stats["augmented"] > 0 and stats["by_op"] == {"question_templates": stats["augmented"]}
    assert (tmp_path / "qa" / "test.jsonl").read_bytes() == before["test.jsonl"]
    assert len(read_jsonl(tmp_path / "qa" / "train.jsonl")) == stats["train_records"]


def test_review_page_badges_and_filters_augmented_records(runs):
    from corpus_ft.review.data import load_run
    from corpus_ft.review.report import render
    from corpus_ft.review.server import ServerThread

    html = render(load_run(runs["on"]), samples=400)
    assert "badge-augmented" in html and "augmented: question_templates" in html
    assert "train records (question_templates" in html
    with ServerThread(runs["on"]) as server:
        got = httpx.get(f"{server.url}api/records", params={"origin": "augmented", "limit": 200}).json()
        plain = httpx.get(f"{server.url}api/records", params={"origin": "original", "limit": 200}).json()
    assert got["total"] > 0 and all(i["augmented"]["op"] in OFFLINE_OPS and i["split"] == "train" for i in got["items"])
    assert plain["total"] > 0 and all(i["augmented"] is None for i in plain["items"])


@pytest.mark.slow
def test_model_paraphrases_on_smollm2_are_marked_and_redacted(smollm2, runs, tmp_path):
    """Plumbing on the real model: the hf generator's paraphrases become marked train records."""
    from corpus_ft.datasets.augment import paraphrase_candidates
    from corpus_ft.generate import GeneratorConfig, get_generator

    train = read_jsonl(runs["off"] / "datasets" / "qa" / "train.jsonl")[:2]
    gen = get_generator(GeneratorConfig(type="hf", model=str(smollm2), max_new_tokens=80), cache_dir=tmp_path)
    out = paraphrase_candidates("qa", train, AugmentConfig(offline=[], paraphrase=2), gen)
    assert gen.stats["prompts"] == 2
    for r in out:
        src = next(t for t in train if t["id"] == r["meta"]["augmented"]["from"])
        assert r["meta"]["augmented"]["op"] == "paraphrase" and r["messages"][-1] == src["messages"][-1]
        assert r["messages"][1]["content"].strip() and r["messages"][1]["content"] != src["messages"][1]["content"]
    assert len(out) + gen.stats["unparseable"] >= 1  # the reply was read, or counted as unreadable


@pytest.mark.slow
def test_bench_modes_adds_the_method_and_augmentation_axes(built_run, copy_run, tmp_path):
    """One kind: its row, then a row per other (method, augment) pair; augmented data only under OUT.
    (tests/test_model.py covers the per-kind rows and the mix.)"""
    run = copy_run(built_run)
    before = {p: p.read_bytes() for p in (run / "datasets").rglob("*.jsonl")}
    r = cli(
        "bench",
        "modes",
        run,
        "--model",
        "tiny",
        "--kinds",
        "qa",
        "--steps",
        "2",
        "--seq-len",
        "64",
        "--micro-batch",
        "2",
        "--lr",
        "lora=1e-2",
        "--test-sample",
        "2",
        "--max-new-tokens",
        "2",
        "--methods",
        "lora,prefix",
        "--augment",
        "off,on",
        "--out",
        tmp_path / "modes",
        "--json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["modes"]
    assert [(m["mode"], m["method"], m["augment"]) for m in rows] == [
        ("qa", "lora", "off"),
        ("qa", "lora", "on"),
        ("qa", "prefix", "off"),
        ("qa", "prefix", "on"),
    ]
    assert [m["dir"] for m in rows] == ["qa", "qa-lora-augmented", "qa-prefix", "qa-prefix-augmented"]
    assert all(m["steps"] == 2 for m in rows)
    assert [m["learning_rate"] for m in rows] == [1e-2, 1e-2] + [METHOD_LEARNING_RATES["prefix"]] * 2  # its own default
    assert rows[1]["train_records"] > rows[0]["train_records"] == rows[2]["train_records"]
    assert len({m["test.ppl"] for m in rows}) == len(rows)  # four different adapters
    aug = tmp_path / "modes" / "qa-lora-augmented" / "datasets"
    assert not aug.is_symlink() and any("augmented" in r["meta"] for r in read_jsonl(aug / "qa" / "train.jsonl"))
    assert (aug / "qa" / "test.jsonl").read_bytes() == (run / "datasets" / "qa" / "test.jsonl").read_bytes()
    assert {p: p.read_bytes() for p in (run / "datasets").rglob("*.jsonl")} == before  # the run's data untouched
    table = (tmp_path / "modes" / "report.md").read_text()
    assert "| mode | method | lr | augment | train records |" in table and "| qa | prefix | 0.01 | on |" in table
    r = cli("bench", "modes", run, "--model", "tiny", "--methods", "lora,adapterx")
    assert r.exit_code == 2 and "adapterx" in r.output and "prefix" in r.output
    for lr, says in (
        ("lora=fast", "METHOD=RATE pairs"),
        ("adapterx=1e-3", "unknown method 'adapterx'"),
        ("prefix=2", "prefix=2 is outside (0, 1]"),
    ):
        r = cli("bench", "modes", run, "--model", "tiny", "--lr", lr)
        assert r.exit_code == 2 and says in r.output, r.output
