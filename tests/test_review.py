"""Review: the decisions log, the static page, the terminal view and the CLI, on real files.

`make_run` writes a small run directory by the documented schemas (units.parquet, datasets/
<kind>/*.jsonl, stats.json) with records holding HTML and code, so escaping is tested on the
nastiest input; the browser tests (test_review_browser.py) use the real `built_run`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.decisions import append_decision, apply_decisions, decisions_path, load_decisions, read_decisions
from corpus_ft.review import write_report
from corpus_ft.util import CorpusFtError, write_jsonl

XSS = "<script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
CODE = 'def render(user):\n    """Return the greeting as HTML."""\n    return f"<b>{user}</b>"\n'
DOC = "# Runbook\n\nRestart the <api> service with `systemctl restart api`.\nCheck /var/log/api.log for errors.\n"


def _unit(uid, path, language, kind, text, start):
    return {
        "id": uid,
        "path": path,
        "language": language,
        "kind": kind,
        "name": path,
        "text": text,
        "start_line": start,
        "end_line": start + text.count("\n") - 1,
    }


def _record(kind, rid, unit, body, split_lines=None):
    start, end = split_lines or (unit["start_line"], unit["end_line"])
    rec = {
        "id": rid,
        "kind": kind,
        "source": {"path": unit["path"], "start_line": start, "end_line": end, "unit_id": unit["id"]},
        "meta": {"generator": "heuristic", "version": "1", "language": unit["language"]},
    }
    if kind == "paragraphs":
        rec["text"] = body
    else:
        rec["messages"] = [
            {"role": "system", "content": "You answer questions about the docs."},
            {"role": "user", "content": body[0]},
            {"role": "assistant", "content": body[1]},
        ]
    return rec


def make_run(root: Path) -> Path:
    """A small run dir: 3 files ingested (one yields no record), paragraphs + qa + code_summary."""
    run = root / "run"
    units = [
        _unit("u-doc", "docs/runbook.md", "markdown", "section", DOC, 1),
        _unit("u-code", "src/app.py", "python", "function", CODE, 10),
        _unit("u-empty", "docs/empty.md", "markdown", "section", "# Empty\n\nTBD.\n", 1),
    ]
    run.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(units), run / "units.parquet")
    (run / "ingest_report.json").write_text(
        json.dumps(
            {
                "files_seen": 4,
                "files_without_units": 0,
                "skipped": [
                    {"path": "assets/logo.png", "reason": "binary", "detail": "control bytes in the first 8 KiB"}
                ],
            }
        )
    )
    kinds = {
        "paragraphs": {
            "train": [_record("paragraphs", "paragraphs-1", units[0], DOC + XSS, (1, 4))],
            "validation": [],
            "test": [_record("paragraphs", "paragraphs-2", units[0], "Check the log.", (4, 4))],
        },
        "qa": {
            "train": [
                _record(
                    "qa",
                    f"qa-{i}",
                    units[0],
                    (f"How do I restart the api? ({i})", f"Run systemctl restart api. {XSS}"),
                    (3, 3),
                )
                for i in range(25)
            ],
            "validation": [_record("qa", "qa-v", units[0], ("Where are the logs?", "In /var/log/api.log."), (4, 4))],
            "test": [],
        },
        "code_summary": {
            "train": [
                _record(
                    "code_summary", "code-1", units[1], (f"Summarise:\n```python\n{CODE}```", "Renders a greeting.")
                )
            ],
            "validation": [],
            "test": [],
        },
    }
    for kind, splits in kinds.items():
        d = run / "datasets" / kind
        d.mkdir(parents=True)
        for split, recs in splits.items():
            write_jsonl(d / f"{split}.jsonl", recs)
        removed = [{"reason": "exact_duplicate", "record": splits["train"][0]}]
        write_jsonl(d / "removed.jsonl", removed)
        (d / "stats.json").write_text(
            json.dumps(
                {
                    "kind": kind,
                    "generator": "heuristic",
                    "units_in": 3,
                    "candidates": 30,
                    "total": sum(len(v) for v in splits.values()),
                    "splits": {k: len(v) for k, v in splits.items()},
                    "removed": {"exact_duplicate": 1, "too_short": 0},
                    "redactions": {"email": 2, "aws_access_key": 0},
                    "review": {"rejected": 0, "edited": 0},
                }
            )
        )
    return run


@pytest.fixture
def run(tmp_path) -> Path:
    return make_run(tmp_path)


# --- decisions -------------------------------------------------------------------------

MSGS = [{"role": "user", "content": "How?"}, {"role": "assistant", "content": "Like <this>."}]


def test_latest_decision_wins_and_apply_drops_and_edits(run):
    append_decision(run, "qa-1", "qa", "reject")
    append_decision(run, "qa-2", "qa", "reject")
    append_decision(run, "qa-2", "qa", "accept")  # a change of mind is one more line
    append_decision(run, "qa-3", "qa", "edit", {"messages": MSGS})
    decisions = load_decisions(run)
    assert {k: v["action"] for k, v in decisions.items()} == {"qa-1": "reject", "qa-2": "accept", "qa-3": "edit"}
    records = [{"id": f"qa-{i}", "messages": [{"role": "user", "content": "old"}]} for i in range(5)]
    kept, counts = apply_decisions(records, decisions)
    assert counts == {"rejected": 1, "edited": 1, "accepted": 1}
    assert [r["id"] for r in kept] == ["qa-0", "qa-2", "qa-3", "qa-4"]
    assert kept[2]["messages"] == MSGS and records[3]["messages"][0]["content"] == "old"  # input untouched
    assert all(re.match(r"\d{4}-\d\d-\d\dT", d["time"]) for d in decisions.values())


def test_corrupt_line_is_reported_with_its_number_and_skipped(run, caplog):
    append_decision(run, "qa-1", "qa", "reject")
    with open(decisions_path(run), "a") as f:
        f.write('{"record_id": "qa-2", "action": "rej\n')  # torn JSON, line 2
        f.write('{"record_id": "qa-3", "action": "delete"}\n')  # unknown action, line 3
    append_decision(run, "qa-4", "qa", "edit", {"messages": MSGS})
    warnings: list[str] = []
    decisions = load_decisions(run, warnings)
    assert set(decisions) == {"qa-1", "qa-4"}
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{decisions_path(run)}:2: not valid JSON")
    assert f"{decisions_path(run)}:3: " in warnings[1] and "delete" in warnings[1]
    assert "decisions.jsonl:2" in caplog.text  # logged as well, for the trainer's and builder's logs


def test_a_torn_last_line_does_not_swallow_the_next_decision(run):
    decisions_path(run).parent.mkdir(parents=True)
    decisions_path(run).write_text('{"record_id": "qa-1", "action": "reject"}\n{"record_id": "qa-2", "act')
    append_decision(run, "qa-3", "qa", "reject")
    decisions, warnings = read_decisions(decisions_path(run))
    assert [d["record_id"] for d in decisions] == ["qa-1", "qa-3"]
    assert [w.split(": ")[0].rsplit(":", 1)[1] for w in warnings] == ["2"]


@pytest.mark.parametrize(
    "kind,action,fields,match",
    [
        ("qa", "delete", None, "action must be one of"),
        ("qa", "edit", None, "an edit needs"),
        ("qa", "edit", {"text": "x"}, 'edited through "messages"'),
        ("paragraphs", "edit", {"messages": MSGS}, 'edited through "text"'),
        ("qa", "edit", {"messages": [{"role": "user", "content": "q"}]}, "assistant turn"),
        ("qa", "edit", {"messages": [{"role": "robot", "content": "q"}]}, r"messages\"\[0\]"),
        ("qa", "edit", {"source": "x"}, "cannot edit field"),
        ("qa", "reject", {"messages": MSGS}, "only an edit"),
    ],
)
def test_bad_decisions_are_refused_before_they_reach_the_log(run, kind, action, fields, match):
    with pytest.raises(CorpusFtError, match=match):
        append_decision(run, "qa-1", kind, action, fields)
    assert not decisions_path(run).exists()


def _writer(run_dir: str, worker: int, n: int) -> None:
    for i in range(n):
        append_decision(
            run_dir,
            f"qa-{worker}-{i}",
            "qa",
            "edit",
            {"messages": [{"role": "assistant", "content": f"w{worker} " + "x" * 5000}]},
        )


def test_concurrent_writers_lose_nothing(run):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(run), w, 40)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    decisions, warnings = read_decisions(decisions_path(run))
    assert warnings == [] and len(decisions) == 120
    assert len(load_decisions(run)) == 120


# --- static page -----------------------------------------------------------------------


def test_report_is_self_contained_and_escapes_records(run):
    append_decision(run, "qa-0", "qa", "reject")
    page = write_report(run).read_text()
    assert page.count("<script>") == 1  # ours only; the record's <script> arrives escaped
    assert "&lt;script&gt;window.__pwned" in page and "onerror=alert" not in page.replace(
        "&lt;img src=x onerror=alert", ""
    )
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from the network
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3  # one length histogram per kind, inline
    for kind in ("paragraphs", "qa", "code_summary"):
        assert f'id="kind-{kind}"' in page
    assert "whitespace tokens" in page
    coverage = page.split('id="coverage"')[1].split("</section>")[0]  # paths that produced nothing, and why
    assert "<code>docs/empty.md</code></td><td>1 unit(s)" in coverage
    assert "<code>assets/logo.png</code></td><td>skipped: binary (control bytes" in coverage
    assert "docs/runbook.md" not in coverage
    assert "exact_duplicate" in page and "too_short" not in page.split('id="kind-qa"')[1].split("Redactions")[0]
    assert "email" in page and "aws_access_key" not in page
    assert "Restart the &lt;api&gt; service" in page  # the source span, from units.parquet
    assert '<span class="flag flag-rejected">rejected</span>' in page or "1 rejected" in page


def _bpe_model_dir(path: Path, texts: list[str]) -> Path:
    """A model directory with a real byte-level BPE tokenizer.json (as save_pretrained writes)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    )
    path.mkdir()
    tok.save(str(path / "tokenizer.json"))
    return path


def test_report_uses_the_target_tokenizer_when_a_model_is_given(run, tmp_path):
    model = _bpe_model_dir(tmp_path / "my-model", [DOC, CODE] * 20)
    page = write_report(run, model_dir=model).read_text()
    assert "tokens of my-model&#39;s tokenizer" in page and "whitespace tokens" not in page
    # the paragraphs train record is DOC + XSS: byte-level BPE with a tiny vocab yields more tokens than words
    words = len((DOC + XSS).split())
    summary = page.split('id="kind-paragraphs"')[1].split("Top keywords")[0]
    assert int(re.search(r"max (\d+),", summary)[1]) > words


def test_a_model_without_tokenizer_is_a_clear_error(run, tmp_path):
    (tmp_path / "empty-model").mkdir()
    result = CliRunner().invoke(main, ["review", str(run), "--model", str(tmp_path / "empty-model")])
    assert result.exit_code == 2 and "no tokenizer.json" in result.output
    assert not (run / "review" / "index.html").exists()


def test_cli_review_writes_the_page_and_reports_skipped_lines(run):
    decisions_path(run).parent.mkdir(parents=True)
    decisions_path(run).write_text("not json\n")
    result = CliRunner().invoke(main, ["review", str(run)])
    assert result.exit_code == 0, result.output
    assert "decisions.jsonl:1: not valid JSON" in result.output
    assert str(run / "review" / "index.html") in result.output
    assert "decisions.jsonl:1" in (run / "review" / "index.html").read_text()


def test_cli_review_without_datasets_is_a_clear_error(tmp_path):
    (tmp_path / "run").mkdir()
    result = CliRunner().invoke(main, ["review", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no datasets to review" in result.output and "corpus-ft build" in result.output
    assert not (tmp_path / "run" / "review").exists()


# --- terminal view ---------------------------------------------------------------------


def test_terminal_sample_prints_records_per_kind(run):
    result = CliRunner().invoke(main, ["review", str(run), "--sample", "2"], terminal_width=120)
    assert result.exit_code == 0, result.output
    out = result.output
    for kind in ("paragraphs", "qa", "code_summary"):
        assert f"{kind}" in out
    assert out.count("qa-") == 2 and "window.__pwned" in out  # shown literally, not interpreted
    assert "src/app.py:10-12" in out and "def render(user):" in out


def test_a_record_without_id_is_a_clear_error(run):
    path = run / "datasets" / "qa" / "validation.jsonl"
    path.write_text(path.read_text() + '{"kind": "qa", "messages": []}\n')
    result = CliRunner().invoke(main, ["review", str(run)])
    assert result.exit_code == 2
    assert f'{path}: record 2 has no "id"' in result.output and "corpus-ft build qa" in result.output


def test_cli_serve_prints_the_loopback_url_and_serves_the_api(run):
    """The real command in its own process: URL on stderr, page and API answer, Ctrl-C stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpus_ft.cli", "review", str(run), "--serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [proc.stderr.readline() for _ in range(2)]
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", lines[1])[1]
        assert "<title>corpus-ft review" in httpx.get(url).text
        r = httpx.post(url + "api/decisions", json={"record_id": "qa-3", "action": "reject"})
        assert r.status_code == 200 and r.json()["flag"] == "rejected"
        assert httpx.get(url + "api/records", params={"flag": "rejected"}).json()["total"] == 1
        assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding refused
        assert (
            httpx.post(
                url + "api/decisions",
                content="record_id=qa-4&action=reject",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ).status_code
            == 415
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert [d["record_id"] for d in load_decisions(run).values()] == ["qa-3"]


def test_page_shows_a_run_with_an_empty_evaluation_split_as_not_ready_in_red(tmp_path):
    from test_build import ONE_PAGE, _one_page_repo

    from corpus_ft.datasets import build_dataset

    run = _one_page_repo(tmp_path, ONE_PAGE.split("\n\n## ")[0])  # one section: no validation possible
    build_dataset("paragraphs", run)
    page = write_report(run).read_text()
    assert '<p class="verdict warn"><strong>Verdict:</strong> not ready: the validation split is empty' in page
    assert '<p class="split-problem"><strong>Not ready:</strong> the validation split is empty' in page
    assert "train.allow_no_eval=true" in page and ".split-problem { color: #a11a14" in page
    many = _one_page_repo(tmp_path / "many", ONE_PAGE)  # ten sections in one page: split by section, said so
    build_dataset("paragraphs", many)
    page = write_report(many).read_text()
    assert '<p class="split-note"><strong>Split by section:</strong> 1 source file(s) are too few' in page
    assert "split-problem" not in page.split("</style>")[1]
