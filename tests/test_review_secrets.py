"""A secret pasted into a review edit never reaches a dataset, a training batch, the review page or a report.

Regression for issue 16: `build --apply-review` redacted edits but `train` re-applied the raw
edit from decisions.jsonl, so the trainer's records held the key. Every consumer now goes
through `decisions.apply_decisions`, which redacts what a reviewer typed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx

from corpus_ft.datasets import build_dataset
from corpus_ft.evaluate import EvalConfig, evaluate
from corpus_ft.review import append_decision, write_report
from corpus_ft.train.config import TrainConfig
from corpus_ft.train.data import load_datasets
from corpus_ft.util import read_jsonl

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EDIT = f"Log in with aws_secret_access_key = {SECRET} and restart the matcher."


def _plant(run) -> dict[str, str]:
    """One edit with the secret per place it can surface: a qa train and test record, a paragraph."""
    ids = {}
    for kind, split in (("qa", "train"), ("qa", "test"), ("paragraphs", "train")):
        rec = read_jsonl(run / "datasets" / kind / f"{split}.jsonl")[0]
        if kind == "paragraphs":
            append_decision(run, rec["id"], kind, "edit", {"text": EDIT})
        else:
            msgs = [*rec["messages"][:-1], {"role": "assistant", "content": EDIT}]
            append_decision(run, rec["id"], kind, "edit", {"messages": msgs})
        ids[f"{kind}/{split}"] = rec["id"]
    return ids


def _files_holding(root, text: str) -> list[str]:
    return [
        str(p)
        for p in root.rglob("*")
        if p.is_file() and p.name != "decisions.jsonl" and text.encode() in p.read_bytes()
    ]


def test_trainer_records_are_redacted_even_from_datasets_built_without_review(copy_run, built_run, tiny_model):
    from transformers import AutoTokenizer

    run = copy_run(built_run)
    _plant(run)  # the datasets on disk are the pre-review build: train applies the decisions itself
    tok = AutoTokenizer.from_pretrained(tiny_model)
    train_ds, eval_ds, summary = load_datasets(run, TrainConfig(mix={"qa": 1.0, "paragraphs": 1.0}, seq_len=512), tok)
    texts = [tok.decode(ids) for ids in train_ds["input_ids"]]
    assert summary["qa"]["review"]["edited"] == 1 and summary["paragraphs"]["review"]["edited"] == 1
    assert not any(SECRET in t for t in texts)
    assert sum("[REDACTED_SECRET] and restart the matcher" in t for t in texts) == 2  # both edits trained, redacted


def test_datasets_review_page_server_and_eval_report_never_show_the_secret(copy_run, trained_run):
    run = copy_run(trained_run)
    ids = _plant(run)
    for kind in ("qa", "paragraphs"):
        stats = build_dataset(kind, run, generator="heuristic", apply_review=True)
        assert stats["review"]["edited"] == (2 if kind == "qa" else 1)
        assert stats["redactions"]["secret_keyword"] >= 1
    test_qa = {r["id"]: r for r in read_jsonl(run / "datasets" / "qa" / "test.jsonl")}
    assert test_qa[ids["qa/test"]]["messages"][-1]["content"] == EDIT.replace(SECRET, "[REDACTED_SECRET]")

    write_report(run)
    n_test = len(test_qa)
    evaluate(run, EvalConfig(kinds=["qa"], test_sample=n_test, max_new_tokens=2, batch_size=8))
    results = read_jsonl(run / "eval" / "results.jsonl")
    assert any("[REDACTED_SECRET]" in (r.get("reference") or "") for r in results)  # the edited record was evaluated

    proc = subprocess.Popen(
        [sys.executable, "-m", "corpus_ft.cli", "review", str(run), "--serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", "".join(proc.stderr.readline() for _ in range(2)))[1]
        items = httpx.get(url + "api/records", params={"flag": "edited", "limit": 200}).json()["items"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert {i["id"] for i in items} == set(ids.values())
    assert SECRET not in str([i["record"] for i in items]) and "[REDACTED_SECRET]" in str(items)

    assert _files_holding(run, SECRET) == []  # datasets, stats, card, review page, eval report, results
