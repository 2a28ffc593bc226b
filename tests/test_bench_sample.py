"""The blind-read sheet: random records pooled over runs, with nothing of the tool's judgement on it."""

from __future__ import annotations

from corpus_ft.bench.sample import blind_sample
from corpus_ft.util import read_jsonl


def test_blind_sheet_pools_runs_and_shows_no_verdict(built_run, tmp_path):
    counts = blind_sample([built_run], ["qa", "code_summary"], 7, seed=11, out=tmp_path / "a")
    assert counts == {"qa": {built_run.name: 7}, "code_summary": {built_run.name: 7}}
    sheet = (tmp_path / "a" / "qa.md").read_text()
    assert sheet.count("\n### ") == 7 and "**assistant**" in sheet
    for word in ("verdict", "flag", "ready", "grounding", "score"):
        assert word not in sheet.lower().split("keep or reject")[0]  # the head says nothing of the tool's view
    key = read_jsonl(tmp_path / "a" / "qa.key.jsonl")
    built = {
        r["id"] for s in ("train", "validation", "test") for r in read_jsonl(built_run / "datasets/qa" / f"{s}.jsonl")
    }
    assert [k["n"] for k in key] == list(range(1, 8)) and {k["id"] for k in key} <= built
    blind_sample([built_run], ["qa"], 7, seed=11, out=tmp_path / "b")
    assert (tmp_path / "b" / "qa.md").read_text() == sheet  # the seed decides the sample
    blind_sample([built_run], ["qa"], 7, seed=12, out=tmp_path / "c")
    assert (tmp_path / "c" / "qa.md").read_text() != sheet
