"""Quality measured by the tool itself: markup residue of the parsers' output, the stats.json `quality`
block, card and review page sections, and `corpus-ft bench quality` on a real repository on disk."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.datasets.measure import category_of, corrupted_code, dataset_quality, quality_rows, verdict
from corpus_ft.datasets.quality import markup_residue
from corpus_ft.util import read_jsonl

RST = textwrap.dedent("""\
    Configuration
    =============

    See :class:`~flask.Config` and :ref:`the tutorial <tutorial>` for ``SECRET_KEY``.

    .. note::
       Keep the key secret.

    .. autoclass:: Config
       :members:

    .. toctree::
       :maxdepth: 2

       api

    Run it like this::

        $ flask run

    Sub-section
    ~~~~~~~~~~~

    ~~~python
    x = 1
    ~~~
    """)


def test_parsers_leave_no_markup_residue_and_residue_is_detected():
    """Markup residue is a property of the parsers' output (no later stage cleans markup again)."""
    from corpus_ft.ingest.docs import markdown_sections, rst_sections

    units = rst_sections(RST, "config.rst", 1, [])
    clean = "\n".join(u["text"] for u in units)
    assert markup_residue(RST) and not any(markup_residue(u["text"]) for u in units)
    assert "See `Config` and the tutorial for `SECRET_KEY`." in clean
    assert "Keep the key secret." in clean and "maxdepth" not in clean and "toctree" not in clean
    assert "`Config`: API reference generated from its docstrings (autodoc)." in clean, "autodoc is marked as such"
    assert "```\n$ flask run\n```" in clean, "an reST literal block becomes a fenced block"
    md = "Use {py:func}`load` or [the guide](g.md) and **bold** `*args`.\n\n```{note}\nMind the gap.\n```\n"
    (unit,) = markdown_sections(md, "a.md", 1, [])
    assert unit["text"] == "Use `load` or the guide and bold `*args`.\n\nNote: Mind the gap."
    assert markup_residue(md) and not markup_residue("Plain `code` and\n\n```rst\n.. note::\n```\n")
    for source, shown in (
        ('!!! note "TL;DR"\n    Use a `Client` instance.\n', "TL;DR: Use a `Client` instance."),
        ("/// tip\nRead the Printing section first.\n///\n", "Tip: Read the Printing section first."),
        ("//// tab | Linux, macOS\nRun `export X=1`.\n////\n", "Run `export X=1`."),
    ):
        (unit,) = markdown_sections(source, "a.md", 1, [])
        assert markup_residue(source) and unit["text"].strip() == shown


def test_redaction_that_breaks_code_is_counted_but_literals_and_comments_are_not():
    def rec(code: str) -> dict:
        return {
            "messages": [
                {"role": "user", "content": "Explain"},
                {"role": "assistant", "content": f"```python\n{code}\n```"},
            ]
        }

    assert corrupted_code(rec('password = [REDACTED_SECRET]"password"]')) == 1
    assert corrupted_code(rec('password = "[REDACTED_SECRET]"')) == 0
    assert corrupted_code(rec("# NO_PROXY=localhost,[REDACTED_IP_ADDRESS]/16")) == 0
    assert corrupted_code({"text": "the key is [REDACTED_SECRET] in prose"}) == 0
    config = {"text": "```yaml\npassword: [REDACTED_SECRET]\n```\n\n```\n$ export TOKEN=[REDACTED_SECRET]\n```"}
    assert corrupted_code(config) == 0, "in YAML, shell or an untagged block a value is a literal"
    assert corrupted_code(rec("[REDACTED_PRIVATE_KEY]")) == 0


def test_category_verdict_and_quality_block():
    assert category_of({"path": "tests/test_app.py", "category": "test"}) == "test"
    assert category_of({"path": "docs/index.rst", "kind": "section"}) == "docs", "old units.parquet: ingest's default"
    assert category_of({"path": "src/app.py", "kind": "function"}) == "source"
    assert category_of({"language": "markdown"}) == "docs"

    def qa(i, q, a):
        return {
            "id": f"qa-{i}",
            "kind": "qa",
            "source": {"path": f"f{i}.md", "unit_id": f"u{i}"},
            "meta": {"grounding": 1.0, "language": "markdown"},
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": q},
                {"role": "assistant", "content": a},
            ],
        }

    records = [
        qa(1, "What is X?", "X is a thing."),
        qa(2, "What is X?", "X is another thing."),
        qa(3, "How do I run Y?", ".. autoclass:: Y"),
        qa(4, "What is Z?", "Z is it."),
    ]
    units = [{"id": f"u{i}", "kind": "section", "category": "changelog" if i == 4 else "docs"} for i in range(1, 5)]
    q = dataset_quality("qa", records, [{"reason": "ungrounded"}], units)
    assert q["duplicate_question"] == 0.5 and q["markup_residue"] == 0.25 and q["excluded_share"] == 0.25
    assert q["grounding"] == {"mean": 1.0, "lexical_removed": 0.2}
    assert q["categories"] == {"docs": 0.75, "changelog": 0.25}
    assert q["verdict"].startswith("look at: markup residue 25.0%") and "questions asked twice 50.0%" in q["verdict"]
    assert dataset_quality("qa", records[:1], [], units)["verdict"] == "ready"
    opted = dataset_quality("qa", records[3:], [], units, include=["changelog"])
    assert opted["verdict"] == "ready" and opted["excluded_share"] == 0.0
    labels = [row[0] for row in quality_rows(opted)]
    assert "records from tests, licences (changelog opted in)" in labels, "a 0% beside 'changelog 100%' needs saying"
    assert "records from tests, changelogs, licences" in [row[0] for row in quality_rows(q)]
    assert verdict({"records": 0}).startswith("empty")


def test_built_run_reports_quality_in_stats_card_and_review_page(built_run, copy_run):
    from corpus_ft.review import write_report

    for kind in ("paragraphs", "qa", "keywords", "code_summary"):
        stats = json.loads((built_run / "datasets" / kind / "stats.json").read_text())
        q = stats["quality"]
        assert q["records"] == stats["total"] and q["verdict"]
        assert set(q) >= {"markup_residue", "categories", "excluded_share", "corrupted_code", "length_chars"}
        card = (built_run / "datasets" / kind / "card.md").read_text()
        assert "## Quality (measured by corpus-ft)" in card and f"**Verdict**: {q['verdict']}" in card
    qa = json.loads((built_run / "datasets" / "qa" / "stats.json").read_text())["quality"]
    assert qa["duplicate_question"] == 0
    cs = json.loads((built_run / "datasets" / "code_summary" / "stats.json").read_text())["quality"]
    assert (
        cs["name_only_summary"] <= 0.02
        and "summaries that only restate the name" in (built_run / "datasets" / "code_summary" / "card.md").read_text()
    )
    run = copy_run(built_run)
    html = write_report(run).read_text()
    assert html.count('class="card wide quality"') == 4 and "Verdict:" in html
    assert "questions asked twice with different answers" in html


def _repo(root: Path) -> Path:
    files = {
        "README.md": "# Quill\n\nQuill is a small note-taking service for teams.\n",
        "docs/guide.rst": RST + "\nThe sync worker is a process that copies notes between devices every minute.\n",
        "docs/usage.md": "# Usage\n\n## Exporting notes\n\n1. Open the notebook.\n2. Run `quill export`.\n",
        "CHANGES.md": "# Changes\n\n## Version 1.2\n\nReleased 2024-01-02. Fixed the exporter crash when a note was empty.\n",
        "src/quill/store.py": textwrap.dedent('''\
            from typing import overload

            @overload
            def load(x: int) -> int: ...

            def load(x):
                """Load a note by id from the local store, or raise KeyError."""
                return _STORE[x]

            def save(note, path):
                data = note.encode()
                if not data:
                    raise ValueError("empty note")
                path.write_bytes(data)
                return len(data)

            def noop():
                pass
            '''),
        "tests/test_store.py": "def test_save(tmp_path):\n    assert save(b'x', tmp_path / 'n') == 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_bench_quality_ingests_builds_and_prints_the_table(tmp_path):
    repo = _repo(tmp_path / "quill")
    keep = tmp_path / "runs"
    res = CliRunner().invoke(main, ["bench", "quality", str(repo), "--keep", str(keep), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (r,) = out["repos"]
    assert r["name"] == "quill" and r["records"] > 0
    signals = r["signals"]
    assert signals["duplicate_question"]["value"] == 0 and signals["name_only_summary"]["value"] == 0
    assert signals["corrupted_code"]["value"] == 0
    # the figures agree with the records on disk
    rows = [
        rec
        for kind in ("paragraphs", "qa", "keywords", "code_summary")
        for split in ("train", "validation", "test")
        for rec in read_jsonl(keep / "quill" / "datasets" / kind / f"{split}.jsonl")
    ]
    assert len(rows) == r["records"]
    import pyarrow.parquet as pq

    category = {u["id"]: u["category"] for u in pq.read_table(keep / "quill" / "units.parquet").to_pylist()}
    assert {"test", "changelog"} <= set(category.values()), "ingest found the test file and the changelog"
    excluded = sum(category[rec["source"]["unit_id"]] in ("test", "changelog", "license") for rec in rows)
    assert signals["excluded_share"]["count"] == excluded == 0, "the content policy leaves tests and changelogs out"
    names = {rec["meta"]["name"] for rec in rows if rec["kind"] == "code_summary"}
    assert "noop" not in names, "a pass body makes no record"
    removed = [
        json.loads(line)["reason"] for line in (keep / "quill" / "datasets" / "code_summary" / "removed.jsonl").open()
    ]
    assert removed.count("stub") == 2, removed  # the @overload stub and noop()
    questions = [rec["messages"][1]["content"] for rec in rows if rec["kind"] == "qa"]
    assert questions and all("Quill" in q for q in questions), questions
    table = CliRunner().invoke(main, ["bench", "quality", str(repo)])
    assert table.exit_code == 0 and "| signal | quill | goal |" in table.output
    assert "qa records whose question also appears with a different answer | 0.0%" in table.output


def test_bench_quality_reports_every_signal_the_verdict_has_a_goal_for():
    from corpus_ft.bench.quality import KIND_SIGNALS
    from corpus_ft.datasets.measure import GOALS

    assert set(GOALS) <= set(KIND_SIGNALS), set(GOALS) - set(KIND_SIGNALS)
