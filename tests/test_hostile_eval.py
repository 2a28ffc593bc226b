"""Issue 14 rows 11 and 12: evaluation outputs quote queries, references and answers; a query is
never markup in report.md nor a formula in ratings.csv."""

from __future__ import annotations

import csv
import io
import re

import markdown_it
import pytest

from corpus_ft.evaluate import ratings
from corpus_ft.evaluate.report import markdown

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _row(i: int, prompt: str, reference: str, answer: str) -> dict:
    side = {"answer": answer, "ppl": 2.0, "rougeL": 0.5, "f1": 0.5, "keyword_recall": 0.5, "words": 3}
    return {
        "id": f"q-{i}",
        "kind": "qa",
        "tags": ["ops"],
        "origin": "queries.yaml:1",
        "prompt": prompt,
        "reference": reference,
        "source": {"path": "docs/a.md", "start_line": 1, "end_line": 2},
        "source_text": XSS,
        "base": dict(side),
        "tuned": dict(side),
        "primary_metric": "rougeL",
        "human": [{"rater": XSS, "base_score": 3.0, "tuned_score": 4.0, "preferred": "tuned", "comment": XSS}],
        "judge": {"preferred": "tuned", "reason": XSS},
    }


def _summary(rows: list[dict]) -> dict:
    agg = {"n": len(rows), "base": {}, "tuned": {}, "tuned_better": 0, "tuned_worse": 0, "ties": 0}
    return {
        "run_dir": "runs/x",
        "aggregate": {"all": agg, "kinds": {XSS: agg}, "tags": {XSS: agg}},
        "highlights": {"better": [rows[0]["id"]], "worse": [rows[1]["id"]]},
        "counts": {"test": {}},
        "missing_kinds": {},
        "forgetting": {"tolerance": 0.1, "n": 1},
        "decoding": {},
        "timing": {},
        "tuned": {},
        "adapter_check": {},
    }


def test_report_md_escapes_html_outside_code():
    """Row 11: HTML in a query or answer was carried into report.md unescaped and ran when rendered."""
    rows = [_row(1, f"How do I {XSS}?", f"Use {XSS}", f"Maybe {XSS}"), _row(2, XSS, XSS, XSS)]
    md = markdown(_summary(rows), rows)
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).render(md)
    assert "<script" not in rendered and "<img" not in rendered, rendered
    assert "&lt;script&gt;" in rendered  # shown as text, not dropped
    fenced = re.findall(r"~~~~text\n(.*?)\n~~~~", md, re.S)
    assert any(XSS in f for f in fenced)  # inside code the text is verbatim


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]
)
def test_ratings_csv_neutralises_formula_cells(cell):
    """Row 12: a query or reference starting with = + - @ was written as-is (formula injection)."""
    row = _row(1, cell, cell, cell)
    row["human"] = None
    text = ratings.to_csv([row])
    got = next(csv.DictReader(io.StringIO(text)))
    for col in ("query", "reference", "base_answer", "tuned_answer"):
        assert got[col] == "'" + cell, (col, got[col])


def test_neutralised_comments_round_trip(tmp_path):
    row = _row(1, "q", "r", "a")
    row["human"] = [{"rater": "=ann", "base_score": 3.0, "tuned_score": 4.0, "preferred": "tuned", "comment": "-fine"}]
    path = tmp_path / "ratings.csv"
    path.write_text(ratings.to_csv([row], {"q-1": row["human"]}))
    back = ratings.read(path, {"q-1"})
    assert back["q-1"][0]["rater"] == "=ann" and back["q-1"][0]["comment"] == "-fine"


def test_dataset_card_quotes_hostile_file_names_as_code(tmp_path):
    """The class of row 11 in card.md: a file name holding a backtick and HTML stays code when rendered."""
    from corpus_ft.datasets import build_dataset
    from corpus_ft.ingest import ingest_repo

    repo = tmp_path / "repo"
    repo.mkdir()
    for i in range(5):
        (repo / f"n{i}`<img src=x onerror=alert({i})>`.md").write_text(
            f"# Page {i}\n\nThe reconciliation job {i} runs nightly and reports mismatches to the ledger team, "
            "which reviews each one in the morning, books the fix and closes the case before the next run.\n"
        )
    ingest_repo(repo, tmp_path / "run", workers=1)
    build_dataset("paragraphs", tmp_path / "run")
    card = (tmp_path / "run" / "datasets" / "paragraphs" / "card.md").read_text()
    assert "onerror" in card  # the names are there ...
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).render(card)
    assert "<img" not in rendered  # ... but never as markup
