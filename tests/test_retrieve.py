"""Retrieval over a run's train split, the qa_context kind, and the evaluator's four systems."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from corpus_ft.datasets import build_dataset
from corpus_ft.retrieve import RetrievalConfig, Retriever, build_index, tokenize
from corpus_ft.util import CorpusFtError, read_jsonl, write_jsonl

PLANTED = (
    "Operations > Vault rotation\n\nThe quarterly vault rotation of the Zorbex signing keys opens at 03:17 UTC on the "
    "first Tuesday of the quarter and must close within 40 minutes."
)


def _plant(run: Path) -> None:
    path = run / "datasets" / "paragraphs" / "train.jsonl"
    rows = read_jsonl(path)
    rows.append(
        {
            "id": "paragraphs-planted",
            "kind": "paragraphs",
            "text": PLANTED,
            "source": {"path": "docs/operations/vault.md", "start_line": 12, "end_line": 15, "unit_id": "planted"},
            "meta": {"generator": "none", "version": "1"},
        }
    )
    write_jsonl(path, rows)


def test_tokenize_splits_code_names_and_drops_stop_words():
    assert tokenize("How does parseConfig read the max_retries value?") == [
        "parseconfig",
        "parse",
        "config",
        "read",
        "max_retries",
        "max",
        "retries",
        "value",
    ]


def test_retriever_finds_a_planted_fact(built_run, copy_run):
    run = copy_run(built_run)
    _plant(run)
    hits = Retriever(build_index(run)).search("When does the Zorbex vault rotation open?", 3)
    assert hits[0].passage["path"] == "docs/operations/vault.md"
    assert hits[0].passage["start_line"] == 12 and "03:17 UTC" in hits[0].passage["text"]
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_index_is_rebuilt_only_when_the_datasets_change(built_run, copy_run):
    run = copy_run(built_run)
    index = build_index(run)
    stamp = (index / "manifest.json").stat().st_mtime_ns
    time.sleep(0.01)
    assert build_index(run) == index and (index / "manifest.json").stat().st_mtime_ns == stamp
    _plant(run)
    build_index(run)
    assert (index / "manifest.json").stat().st_mtime_ns != stamp
    assert any(p["id"] == "paragraphs-planted" for p in read_jsonl(index / "passages.jsonl"))


def test_index_holds_only_train_split_files(built_run, copy_run):
    run = copy_run(built_run)
    passages = read_jsonl(build_index(run) / "passages.jsonl")
    held_out = {
        r["source"]["path"]
        for kind in ("paragraphs", "code_summary", "qa")
        for split in ("validation", "test")
        for r in read_jsonl(run / "datasets" / kind / f"{split}.jsonl")
    }
    assert {p["kind"] for p in passages} == {"paragraph", "code"}
    assert held_out and not {p["path"] for p in passages} & held_out


def test_empty_index_and_k_beyond_the_corpus(built_run, copy_run):
    run = copy_run(built_run)
    write_jsonl(run / "datasets" / "paragraphs" / "train.jsonl", [])
    with pytest.raises(CorpusFtError, match="nothing to index"):
        build_index(run, RetrievalConfig(index=["paragraphs"]))
    _plant(run)
    hits = Retriever(build_index(run, RetrievalConfig(index=["paragraphs"]))).search("Zorbex vault rotation", 50)
    assert len(hits) == 1  # k is cut to the one passage, not an error
    assert Retriever(run / "retrieval").search("the of and", 3) == []  # only stop words: nothing retrieved


def test_template_must_name_passages_and_question():
    with pytest.raises(ValueError, match="passages"):
        RetrievalConfig(template="Question: {question}")


def test_qa_context_keeps_test_files_out_of_train_records(built_run, copy_run):
    run = copy_run(built_run)
    stats = build_dataset("qa_context", run)
    qa = {s: read_jsonl(run / "datasets" / "qa" / f"{s}.jsonl") for s in ("train", "validation", "test")}
    held_out = {
        r["source"]["path"]
        for kind in ("paragraphs", "qa", "code_summary")
        for split in ("validation", "test")
        for r in read_jsonl(run / "datasets" / kind / f"{split}.jsonl")
    }
    train = read_jsonl(run / "datasets" / "qa_context" / "train.jsonl")
    assert stats["splits"]["train"] == len(train) > 0
    assert stats["splits"]["test"] == len(read_jsonl(run / "datasets" / "qa_context" / "test.jsonl")) > 0
    by_qa = {r["id"]: s for s, rows in qa.items() for r in rows}
    for record in train:
        assert by_qa[record["meta"]["from_qa"]] == "train"  # the qa pair's split, never re-split
        paths = {p["path"] for p in record["meta"]["passages"]}
        assert not paths & held_out, record["id"]
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        for p in record["meta"]["passages"]:
            assert f"{p['path']}:{p['start_line']}-{p['end_line']}" in user
    with_oracle = [r for r in train if r["meta"]["oracle"]]
    assert 0 < len(with_oracle) < len(train)  # the oracle's share (0.8 by default) leaves some without
    oracle_in_prompt = sum(r["source"]["path"] in {p["path"] for p in r["meta"]["passages"]} for r in with_oracle)
    assert oracle_in_prompt == len(with_oracle)


def test_qa_context_needs_qa_built_first(sample_run, copy_run):
    run = copy_run(sample_run)
    with pytest.raises(CorpusFtError, match="build them first"):
        build_dataset("qa_context", run)


@pytest.mark.slow
def test_evaluate_scores_four_systems(trained_run, copy_run):
    from corpus_ft.evaluate import EvalConfig, evaluate

    run = copy_run(trained_run)
    queries = run / "queries.yaml"
    queries.write_text(
        "queries:\n"
        "  - query: How long is a Ledgerline OAuth2 access token valid?\n"
        "    reference: Access tokens are valid for 3600 seconds.\n"
        '    keywords: ["3600"]\n'
        "    source: docs/architecture/security.md\n",
        encoding="utf-8",
    )
    summary = evaluate(
        run,
        EvalConfig(queries=queries, test_sample=2, kinds=["qa"], max_new_tokens=8, batch_size=4, retrieval={"k": 2}),
    )
    rag = summary["retrieval"]
    assert set(rag["systems"]["queries"]) == {"base", "base+retrieval", "tuned", "tuned+retrieval"}
    assert rag["recall"]["queries"]["n"] == 1
    rows = read_jsonl(run / "eval" / "results.jsonl")
    query = next(r for r in rows if r["group"] == "queries")
    assert query["retrieval"]["passages"] and query["base_rag"]["answer"] is not None
    assert "docs/architecture/security.md" in {p["path"] for p in query["retrieval"]["passages"]}
    html = (run / "eval" / "report.html").read_text()
    assert 'id="retrieval"' in html and "tuned+retrieval" in html
    assert "Fine-tune, retrieve, or both" in (run / "eval" / "report.md").read_text()


def test_retrieve_search_cli(built_run, copy_run):
    import subprocess
    import sys

    run = copy_run(built_run)
    _plant(run)
    out = subprocess.run(
        [sys.executable, "-m", "corpus_ft.cli", "retrieve", "search", str(run), "Zorbex vault rotation", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    ).stdout
    assert json.loads(out)[0]["path"] == "docs/operations/vault.md"


@pytest.mark.slow
def test_bench_modes_adds_the_retrieval_axis_and_the_qa_context_mode(built_run, copy_run, tmp_path):
    from corpus_ft.bench.modes import bench_modes

    run = copy_run(built_run)
    build_dataset("qa_context", run, qa_context={"k": 2, "max_passage_chars": 300})
    queries = tmp_path / "q.yaml"
    queries.write_text(
        'queries:\n  - query: How long is an access token valid?\n    reference: 3600 seconds.\n    keywords: ["3600"]\n',
        encoding="utf-8",
    )
    result = bench_modes(
        run,
        model="tiny",
        kinds=["qa_context"],
        steps=2,
        seq_len=512,
        micro_batch=2,
        learning_rate=1e-2,
        queries=queries,
        test_sample=1,
        max_new_tokens=4,
        out=tmp_path / "modes",
        retrieval_k=2,
    )
    assert [m["mode"] for m in result["modes"]] == ["qa_context"]
    assert result["base"]["+rag.queries.keyword_recall"] is not None
    assert result["modes"][0]["+rag.queries.rougeL"] is not None
    table = (tmp_path / "modes" / "report.md").read_text()
    assert "queries kw recall + retrieval" in table and "| qa_context |" in table


def test_retrieval_answers_are_redacted_like_plain_answers():
    """Both the plain and the retrieval answers pass through one helper that redacts what a model wrote."""
    from corpus_ft.evaluate import _redacted_answer
    from corpus_ft.redact import redact

    written = {"answer": "Use the key AKIAQ4MODELREPLY7KEY to log in.", "new_tokens": 9}
    shown = _redacted_answer(written, redact)
    assert "AKIAQ4MODELREPLY7KEY" not in shown["answer"] and "[REDACTED_" in shown["answer"]
    assert shown["new_tokens"] == 9 and written["answer"].startswith("Use the key AKIA")


def test_systems_table_perplexity_is_pooled_like_the_aggregate():
    """One definition of reference perplexity across the report: exp(total nll / total tokens), not a mean of ratios."""
    import math

    from corpus_ft.evaluate.metrics import aggregate
    from corpus_ft.evaluate.retrieval import systems_table

    def side(nll, toks):
        return {"nll": nll, "ref_tokens": toks, "ppl": math.exp(nll / toks), "keyword_recall": 0.0, "rougeL": 0.0}

    rows = [
        {"group": "queries", "base": side(10.0, 5), "tuned": side(2.0, 5)},
        {"group": "queries", "base": side(40.0, 10), "tuned": side(5.0, 10)},
    ]
    table = systems_table(rows, ("base", "tuned"))["queries"]
    assert table["base"]["ppl"] == round(math.exp(50.0 / 15), 4) != round((math.exp(2) + math.exp(4)) / 2, 4)
    assert math.isclose(table["base"]["ppl"], aggregate(rows)["base"]["ppl"], rel_tol=1e-3)


def test_report_shows_each_retrieved_passage_text_beside_its_location():
    from markdown_it import MarkdownIt

    from corpus_ft.evaluate.retrieval import markdown

    text = "Access *tokens* last `3600` seconds.\n\n" + "Refresh them before expiry. " * 30
    row = {
        "id": "q01",
        "group": "queries",
        "prompt": "How long does a token last?",  # results.jsonl names a row's question `prompt`
        "base": {"answer": "a day"},
        "tuned": {"answer": "an hour"},
        "retrieval": {
            "passages": [{"path": "docs/auth.md", "start_line": 3, "end_line": 9, "score": 7.25, "text": text}]
        },
    }
    summary = {
        "retrieval": {"index": {"passages": 1, "by_kind": {"paragraphs": 1}}, "k": 1, "systems": {}, "recall": {}}
    }
    section = markdown(summary, [row])
    assert "### q01: How long does a token last?" in section
    line = next(x for x in section.splitlines() if "docs/auth.md:3-9" in x)
    assert "BM25 7.25" in line and "Access \\*tokens\\* last \\`3600\\` seconds." in line
    assert line.endswith(" …") and len(line) < 420  # cut at a word, one line per passage
    html = MarkdownIt("commonmark").render(section)
    assert "Access *tokens* last `3600` seconds." in html  # the text reads as written, not as markup
