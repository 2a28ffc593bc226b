"""A verdict that agrees with a reader: each class of record a reader rejects has a signal with a goal,
"ready" only when every goal is met, and otherwise the card names the problem with two examples."""

from __future__ import annotations

import pytest

from corpus_ft.datasets.card import problem_lines
from corpus_ft.datasets.measure import (
    call_list,
    dataset_quality,
    from_test,
    link_residue,
    one_sentence_answer,
    thin_summary,
)

ENGLISH = (
    "The scheduler reads every job from the queue and runs it when its time comes. A job that fails is "
    "retried three times with a growing delay, and then it is moved to the dead letter table."
)
GERMAN = (
    "Der Planer liest jeden Auftrag aus der Warteschlange und führt ihn aus, wenn seine Zeit gekommen ist. "
    "Ein Auftrag, der nicht gelingt, wird dreimal wiederholt und dann in die Tabelle verschoben."
)


def _qa(i: int, q: str, a: str, path: str = "docs/guide.md", unit: str | None = None) -> dict:
    return {
        "id": f"qa-{i}",
        "kind": "qa",
        "source": {"path": path, "start_line": i, "end_line": i + 3, "unit_id": unit or f"u{i}"},
        "meta": {"grounding": 1.0, "language": "markdown"},
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": q},
            {"role": "assistant", "content": a},
        ],
    }


@pytest.mark.parametrize(
    ("text", "residue"),
    [
        ("See [the guide](../guide.md) for more.", True),
        ("See [the guide][guide] for more.", True),
        ("Subclass `Schema <marshmallow.Schema>`_ to declare fields.", True),
        ("Read `the tutorial`_ first.", True),
        ("The |project| runs anywhere.", True),
        ('Click <a href="x.html">here</a>.', True),
        ("Use :func:`load` to read it.", True),
        ("See [[Configuration]] on the wiki.", True),
        ("`fields.Boolean <marshmallow.fields.Boolean>` now takes flags.", True),
        ("Use a post_dump <marshmallow.decorators.post_dump>` method instead.", True),
        ("Send `Authorization: Bearer <token>` in the header.", False),
        ("Use `x[0](y)` in code spans.", False),
        ("```md\n[the guide](../guide.md)\n```", False),
        ("A | B | C table cell is not a substitution.", False),
        (ENGLISH, False),
    ],
)
def test_link_and_role_residue_in_any_syntax(text, residue):
    assert link_residue(text) is residue


@pytest.mark.parametrize(
    ("path", "kind", "name", "test"),
    [
        ("crates/core/tests/search.rs", "code_summary", "", True),
        ("pkg/router_test.go", "code_summary", "", True),
        ("web/src/__tests__/a.js", "code_summary", "", True),
        ("integration-tests/run.py", "code_summary", "", True),
        ("src/app/testing/helpers.py", "code_summary", "", True),
        ("src/app/core.py", "code_summary", "test_roundtrip", True),
        ("src/app/core.py", "code_summary", "TestClient", False),
        ("docs/testing/fixtures.md", "qa", "", False),
        ("docs/guide.md", "qa", "", False),
    ],
)
def test_records_from_tests_under_any_directory_name(path, kind, name, test):
    record = {"kind": kind, "source": {"path": path}, "meta": {"name": name, "language": "python"}}
    assert from_test(record) is test


def test_summary_and_answer_shapes_a_reader_rejects():
    assert call_list("`res.redirect` calls `deprecate()`, `this.location()` and `escapeHtml()`.")
    assert not call_list("Redirect to the given `url`, defaulting to a 302 status.")
    assert thin_summary("`load` returns `data`.")
    assert not thin_summary("Load a note by id from the local store, or raise KeyError.")
    assert one_sentence_answer("What does the guide say about Secrets?", "Placing secrets in files is common.")
    assert not one_sentence_answer("What is a job?", "A job is a unit of work the scheduler runs.")
    assert not one_sentence_answer("How do I run it?", "Run it like this:\n\n```\nrun\n```")


def test_verdict_is_ready_only_when_every_signal_meets_its_goal_and_names_two_examples():
    units = [
        {"id": "u1", "kind": "section", "path": "docs/guide.md", "text": ENGLISH, "category": "docs"},
        {"id": "u2", "kind": "section", "path": "docs/guide.md", "text": ENGLISH * 2, "category": "docs"},
        {"id": "u9", "kind": "section", "path": "docs/big.md", "text": ENGLISH * 4, "heading_path": ["Big"]},
    ]
    good = [
        _qa(1, "What does the guide say about jobs?", ENGLISH),
        _qa(2, "How do I retry a job?", ENGLISH),
        _qa(3, "What does the guide say about retries?", ENGLISH, unit="u9"),
    ]
    assert dataset_quality("qa", good, [], units)["verdict"] == "ready"
    bad = good + [
        _qa(4, "What does the guide say about Secrets?", "Placing secrets in files is common.", unit="u1"),
        _qa(5, "What does the guide say about the queue?", "See [the queue](queue.md) first.", unit="u1"),
        _qa(6, "What does the guide say about planning?", GERMAN, unit="u1"),
        _qa(7, "Who maintains it?", "- Ada Lovelace\n- Grace Hopper\n- Alan Turing\n- Barbara Liskov\n", unit="u1"),
    ]
    q = dataset_quality("qa", bad, [], units)
    assert q["verdict"].startswith("look at: ")
    for label in ("link or role residue", "one-sentence answers", "another language", "people lists"):
        assert label in q["verdict"], (label, q["verdict"])
    assert "docs/guide.md:5: What does the guide say about the queue?" in q["verdict"], "an example names the record"
    lines = "\n".join(problem_lines(q))
    assert "### Problems" in lines and lines.count("docs/guide.md:") >= 4


def test_coverage_of_doc_sections_by_qa_lists_the_largest_sections_that_feed_none():
    units = [
        {"id": "u1", "kind": "section", "path": "a.md", "text": ENGLISH * 2, "heading_path": ["A"], "start_line": 1},
        {"id": "u2", "kind": "section", "path": "b.md", "text": ENGLISH * 3, "heading_path": ["B"], "start_line": 4},
        {"id": "u3", "kind": "section", "path": "c.md", "text": ENGLISH * 5, "heading_path": ["C"], "start_line": 9},
        {"id": "u4", "kind": "section", "path": "d.md", "text": "Short.", "heading_path": ["D"], "start_line": 1},
    ]
    q = dataset_quality("qa", [_qa(1, "What does the guide say about A?", ENGLISH, path="a.md")], [], units)
    assert q["qa_coverage"] == pytest.approx(1 / 3, abs=1e-3) and q["qa_coverage_sections"] == 3
    assert q["sections_without_qa"][0].startswith("c.md:9 C (") and q["sections_without_qa"][1].startswith("b.md:4")
    assert "doc sections (40+ words) that feed a qa record 33%" in q["verdict"]


def test_ready_needs_a_persons_read_of_the_built_records(tmp_path):
    """Signals within goal are not enough: "ready" comes once a person kept 85% of a read sample, and a
    read that rejects too many says so, through a real build and review/decisions.jsonl."""
    import json

    from test_build import ONE_PAGE, _one_page_repo

    from corpus_ft.datasets import build_dataset
    from corpus_ft.decisions import append_decision
    from corpus_ft.util import read_jsonl

    run = _one_page_repo(tmp_path, ONE_PAGE)
    q = build_dataset("paragraphs", run, generator="heuristic")["quality"]
    assert q["verdict"].startswith("unread: every signal meets its goal") and q["read"]["read"] == 0
    assert "corpus-ft review RUN --serve" in q["verdict"]
    ids = [
        r["id"] for s in ("train", "validation", "test") for r in read_jsonl(run / "datasets/paragraphs" / f"{s}.jsonl")
    ]
    needed = q["read"]["needed"]
    for rid in ids[:needed]:
        append_decision(run, rid, "paragraphs", "accept")
    q = build_dataset("paragraphs", run, generator="heuristic")["quality"]  # decisions are an input: rebuilt
    assert q["verdict"] == "ready" and q["read"] == {"read": needed, "kept": needed, "needed": needed}
    for rid in ids[: needed // 2]:
        append_decision(run, rid, "paragraphs", "reject")
    q = build_dataset("paragraphs", run, generator="heuristic")["quality"]
    assert q["verdict"].startswith(f"look at: a person kept {needed - needed // 2} of {needed} records read")
    card = (run / "datasets" / "paragraphs" / "card.md").read_text()
    assert f"| {needed - needed // 2} of {needed} |" in card
    assert json.loads((run / "datasets/paragraphs/stats.json").read_text())["quality"]["read"]["read"] == needed
