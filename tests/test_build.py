"""corpus-ft build: the four dataset kinds over real units, their layout, filters and splits."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus_ft.cli import main
from corpus_ft.datasets import build_dataset
from corpus_ft.datasets.chunk import chunk_units, make_splitter
from corpus_ft.datasets.config import BuildConfig
from corpus_ft.datasets.quality import filter_records
from corpus_ft.datasets.split import assign_files
from corpus_ft.settings import DEFAULT_KINDS as KINDS  # what `build all` builds (qa_context is opt-in)
from corpus_ft.util import CorpusFtError, read_jsonl

FIXTURE_UNITS = Path(__file__).parent / "fixtures" / "build" / "units.json"
STATS_KEYS = {
    "kind",
    "generator",
    "units_in",
    "candidates",
    "total",
    "splits",
    "removed",
    "redactions",
    "review",
    "languages",
    "files",
    "settings",
}
REMOVED_KEYS = {
    "empty",
    "exact_duplicate",
    "near_duplicate",
    "too_short",
    "too_long",
    "min_content",
    "ungrounded",
    "max_records",
}


def write_units(run: Path, units: list[dict]) -> Path:
    """A units.parquet as ingest writes it (ids hash path, span and text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for u in units:
        u = {"signature": "", "docstring": "", **u}
        u["id"] = hashlib.sha256(f"{u['path']}:{u['start_line']}:{u['text']}".encode()).hexdigest()[:16]
        u["sha256"] = hashlib.sha256(u["text"].encode()).hexdigest()
        rows.append(u)
    run.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), run / "units.parquet")
    return run


@pytest.fixture
def small_run(tmp_path) -> Path:
    """Hand-written units (tests/fixtures/build/units.json): docs in 4 files, code in 4 files."""
    return write_units(tmp_path / "run", json.loads(FIXTURE_UNITS.read_text()))


def test_all_kinds_built_over_sample_corpus(built_run):
    from datasets import load_from_disk

    for kind in KINDS:
        out = built_run / "datasets" / kind
        stats = json.loads((out / "stats.json").read_text())
        assert STATS_KEYS <= set(stats) and REMOVED_KEYS <= set(stats["removed"])
        assert stats["kind"] == kind and stats["generator"] == "heuristic"
        assert stats["total"] > 20, f"{kind}: too few records from the sample corpus"
        assert stats["total"] == sum(stats["splits"].values())
        dd = load_from_disk(str(out))
        assert set(dd) == {"train", "validation", "test"}
        ids = set()
        for split in ("train", "validation", "test"):
            rows = read_jsonl(out / f"{split}.jsonl")
            assert len(rows) == len(dd[split]) == stats["splits"][split] > 0
            assert [r["id"] for r in rows] == dd[split]["id"]
            for r in rows:
                assert r["kind"] == kind and r["id"].startswith(kind + "-")
                assert set(r["source"]) == {"path", "repo", "start_line", "end_line", "unit_id"}
                assert r["meta"]["generator"] and r["meta"]["version"]
                assert ("text" in r) == (kind == "paragraphs") and ("messages" in r) != (kind == "paragraphs")
                ids.add(r["id"])
        assert len(ids) == stats["total"], f"{kind}: record ids are not unique"
        card = (out / "card.md").read_text()
        assert f"`{kind}`" in card and "Removed by filters" in card
        if kind in ("qa", "code_summary"):
            assert "heuristic" in card.lower()
        assert (out / "manifest.json").is_file() and (out / "removed.jsonl").is_file()


def test_split_is_by_file_with_no_overlap(built_run):
    for kind in KINDS:
        out = built_run / "datasets" / kind
        paths = {
            s: {r["source"]["path"] for r in read_jsonl(out / f"{s}.jsonl")} for s in ("train", "validation", "test")
        }
        assert all(paths.values()), f"{kind}: an empty split"
        assert (
            not paths["train"] & paths["test"]
            and not paths["train"] & paths["validation"]
            and not paths["validation"] & paths["test"]
        ), f"{kind}: a file in two splits"


def test_qa_records_are_grounded_in_their_chunk(built_run):
    rows = read_jsonl(built_run / "datasets" / "qa" / "train.jsonl")
    chunks = {
        r["meta"]["chunk_id"]: r["text"] for r in read_jsonl(built_run / "datasets" / "paragraphs" / "train.jsonl")
    }
    assert all(r["meta"]["chunk_id"].startswith("chunk-") for r in rows)
    assert any(r["meta"]["chunk_id"] in chunks for r in rows), "qa and paragraphs should share chunk ids"
    for r in rows:
        if r["meta"]["chunk_id"] in chunks:
            answer_words = set(re.findall(r"\w\w+", r["messages"][-1]["content"].lower()))
            chunk_words = set(re.findall(r"\w\w+", chunks[r["meta"]["chunk_id"]].lower()))
            assert len(answer_words & chunk_words) >= 0.6 * len(answer_words)


def test_keywords_and_code_summary_shapes(built_run):
    kw = read_jsonl(built_run / "datasets" / "keywords" / "train.jsonl")
    assert all(r["meta"]["keywords"] for r in kw)
    openings = {r["messages"][1]["content"].split(" ", 2)[0] for r in kw}
    assert len(openings) >= 3, f"keyword prompt templates should rotate, got {openings}"
    cs = [
        r
        for s in ("train", "validation", "test")
        for r in read_jsonl(built_run / "datasets" / "code_summary" / f"{s}.jsonl")
    ]
    by_unit: dict[str, set] = {}
    for r in cs:
        by_unit.setdefault(r["source"]["unit_id"], set()).add(r["meta"]["direction"])
        user = r["messages"][1]["content"]
        assert r["meta"]["name"] in user and r["source"]["path"] in user and r["meta"]["language"] in user
    assert sum(d == {"summary_to_code", "code_to_summary"} for d in by_unit.values()) >= 0.9 * len(by_unit)
    explained = [
        r
        for r in cs
        if r["meta"]["direction"] == "code_to_summary"
        and r["meta"]["language"] == "python"
        and r["meta"]["summary_source"] == "docstring"
    ]
    assert explained and all(r["messages"][2]["content"] not in r["messages"][1]["content"] for r in explained), (
        "the docstring being explained must not sit in the prompt's code"
    )
    sources = {r["meta"]["summary_source"] for r in cs}
    assert sources == {"docstring"}, sources  # the offline generator writes no code summaries


def test_assign_files_is_grouped_deterministic_and_fills_small_splits():
    files = [f"docs/f{i}.md" for i in range(40)]
    a = assign_files(files, (0.8, 0.1, 0.1), seed=0)
    assert a == assign_files(list(reversed(files)), (0.8, 0.1, 0.1), seed=0)
    assert a != assign_files(files, (0.8, 0.1, 0.1), seed=1)
    assert 20 <= list(a.values()).count("train") <= 38
    for n in (3, 4, 5):
        got = assign_files(files[:n], (0.8, 0.1, 0.1), seed=0)
        assert set(got.values()) == {"train", "validation", "test"}, (n, got)
    assert set(assign_files(files[:1], (0.8, 0.1, 0.1), 0).values()) == {"train"}


def test_chunks_never_cut_a_code_block_a_table_or_a_list_item(caplog):
    """Chunks are packed from the parser's blocks: code, tables and list items stay whole (even when
    longer than a chunk, with no splitter warning), and each chunk's span is that of its blocks."""
    from corpus_ft.ingest.docs import markdown_sections

    code = "```python\n" + "\n\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(30)) + "\n```"
    table = "| key | value |\n| --- | --- |\n" + "".join(f"| k{i} | a value for key {i} |\n" for i in range(20))
    item = "- An item that runs long: " + "it keeps going over several lines of text\n  " * 8 + "and ends.\n"
    text = "# Guide\n\n" + "Intro sentence about the guide. " * 20 + f"\n\n{code}\n\n{table}\n{item}\nAfter it."
    (unit,) = markdown_sections(text, "guide.md", 1, [])
    unit.update(id="u1", path="guide.md", language="markdown")
    with caplog.at_level("WARNING"):
        chunks = chunk_units([unit], make_splitter(200, 20, None))
    assert not [r for r in caplog.records if "longer than the specified" in r.getMessage()]
    assert len(chunks) > 3
    assert any(code in c["text"] for c in chunks), "the fenced block was split"
    assert any("k0 | a value for key 0" in c["text"] and "k19 | a value for key 19" in c["text"] for c in chunks), (
        "the table was split"
    )
    assert sum("An item that runs long" in c["text"] for c in chunks) == 1 and any(
        "and ends." in c["text"] and "An item" in c["text"] for c in chunks
    )
    lines = text.split("\n")
    for c in chunks:
        assert c["start_line"] == c["blocks"][0]["start_line"] and c["end_line"] == c["blocks"][-1]["end_line"]
        assert lines[c["end_line"] - 1].strip() and lines[c["start_line"] - 1].strip()


def test_token_aware_chunking_with_a_local_tokenizer(tmp_path, small_run):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    corpus = [u["text"] for u in json.loads(FIXTURE_UNITS.read_text())]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>"]))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>").save_pretrained(tmp_path / "tok")
    stats = build_dataset("paragraphs", small_run, tokenizer=tmp_path / "tok", chunk_size=40, chunk_overlap=0)
    assert stats["settings"]["chunk_unit"] == "tokens" and stats["settings"]["chunk_size"] == 40
    hf = AutoTokenizer.from_pretrained(tmp_path / "tok")
    rows = read_jsonl(small_run / "datasets" / "paragraphs" / "train.jsonl") + read_jsonl(
        small_run / "datasets" / "paragraphs" / "test.jsonl"
    )
    assert len(rows) > 6
    for r in rows:
        body = r["text"].split("\n\n", 1)[-1] if r["meta"]["heading_path"] else r["text"]
        assert "```" in body or len(hf(body, add_special_tokens=False)["input_ids"]) <= 40 + 4


def _rec(i: int, answer: str, user: str = "What is it?") -> dict:
    return {
        "id": f"qa-{i}",
        "kind": "qa",
        "source": {"path": "a.md"},
        "meta": {},
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ],
    }


def test_quality_filters_give_each_removal_its_reason():
    long = (
        "The ledger keeps every payment event in the order it arrived and never rewrites history, so an auditor "
        "can replay it from the first event to the last and reach exactly the balances the services reported, "
        "which is why the reconciler reads it and never the service databases."
    )
    records = [
        _rec(0, long),
        _rec(1, "   "),
        _rec(2, "Too short."),
        _rec(3, long),
        _rec(4, long.replace("exactly", "precisely"), "What is it?"),
        _rec(5, "---- ==== //// ---- ==== //// ---- ==== //// ok"),
        _rec(6, "word " * 3000),
        _rec(7, "A different answer about the reconciler, which compares statements with the ledger nightly."),
    ]
    kept, removed = filter_records(records, BuildConfig())
    reasons = {r["record"]["id"]: r["reason"] for r in removed}
    assert [r["id"] for r in kept] == ["qa-0", "qa-7"]
    assert reasons == {
        "qa-1": "empty",
        "qa-2": "too_short",
        "qa-3": "exact_duplicate",
        "qa-4": "near_duplicate",
        "qa-5": "min_content",
        "qa-6": "too_long",
    }


def test_small_run_all_kinds_counts_and_exports(small_run):
    stats = build_dataset(
        "qa", small_run, generator="heuristic", max_records=4, formats=["alpaca", "sharegpt", "completion"]
    )
    out = small_run / "datasets" / "qa"
    assert stats["total"] == 4 and stats["removed"]["max_records"] > 0 and stats["removed"]["ungrounded"] >= 0
    assert stats["redactions"]["aws_access_key"] == 1 and stats["redactions"]["private_key"] == 1
    for split, n in stats["splits"].items():
        alpaca = read_jsonl(out / f"{split}.alpaca.jsonl")
        share = read_jsonl(out / f"{split}.sharegpt.jsonl")
        comp = read_jsonl(out / f"{split}.completion.jsonl")
        assert len(alpaca) == len(share) == len(comp) == n
        for a, s in zip(alpaca, share):
            assert a["instruction"] and a["output"] and s["conversations"][1]["from"] == "human"
    removed = read_jsonl(out / "removed.jsonl")
    assert {r["reason"] for r in removed} >= {"max_records"}
    para = build_dataset("paragraphs", small_run, formats=["alpaca", "completion"])
    assert para["exports"].keys() == {"messages", "completion"}, "alpaca does not fit completion-only text"
    assert "min_content" in {r["reason"] for r in read_jsonl(small_run / "datasets" / "paragraphs" / "removed.jsonl")}


def test_a_kind_with_no_source_units_is_empty_but_loadable(tmp_path):
    from datasets import load_from_disk

    code_only = [u for u in json.loads(FIXTURE_UNITS.read_text()) if u["kind"] != "section"]
    run = write_units(tmp_path / "code-only", code_only)
    stats = build_dataset("paragraphs", run)
    assert stats["total"] == 0 and "no document sections" in stats["warnings"][0]
    dd = load_from_disk(str(run / "datasets" / "paragraphs"))
    assert {n: len(d) for n, d in dd.items()} == {"train": 0, "validation": 0, "test": 0}
    two_files = [u for u in code_only if u["path"].endswith(".py") or u["path"].endswith("main.go")]
    for u in two_files:  # summaries come from doc comments only: give every unit one
        u["docstring"] = u.get("docstring") or f"Computes the {u['name']} figures for the billing service."
    run2 = write_units(tmp_path / "two-files", two_files)
    stats = build_dataset("code_summary", run2)
    assert stats["split"]["by"] == "unit", "two files are too few for a file split: split by code unit"
    assert all(stats["splits"][s] > 0 for s in ("train", "validation", "test")), stats["splits"]
    assert len(load_from_disk(str(run2 / "datasets" / "code_summary"))["validation"]) > 0


# Ten sections, each on a topic its two-word heading names (a keyword record needs a term that is the section's own)
ONE_PAGE = "\n\n".join(
    f"## {topic}\n\n"
    + " ".join(
        f"Step {i} of the {topic.lower()} in the nightly export keeps ledger batch {n} in region eu-{n % 3} "
        f"until operators confirm checksum {n * 7 + i} against the archive."
        for i in range(6)
    )
    for n, topic in enumerate(
        [
            "Agent installation",
            "Exporter configuration",
            "Export schedule",
            "Batch monitoring",
            "Key rotation",
            "Archive restore",
            "Version upgrade",
            "Region retirement",
            "Audit trail",
            "Worker scaling",
        ]
    )
)


def _one_page_repo(tmp_path: Path, text: str) -> Path:
    from corpus_ft.ingest import ingest_repo

    repo = tmp_path / "site"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "index.md").write_text("# Ledger export\n\n" + text + "\n", encoding="utf-8")
    ingest_repo(repo, tmp_path / "run")
    return tmp_path / "run"


def test_single_page_repository_is_split_by_section_with_every_split_filled(tmp_path):
    run = _one_page_repo(tmp_path, ONE_PAGE)
    res = CliRunner().invoke(main, ["build", "all", "--run", str(run), "--generator", "heuristic"])
    assert res.exit_code == 0, res.output
    for kind in ("paragraphs", "qa", "keywords"):
        stats = json.loads((run / "datasets" / kind / "stats.json").read_text())
        assert stats["split"]["by"] == "section", (kind, stats["split"])
        assert all(stats["splits"][s] > 0 for s in ("train", "validation", "test")), (kind, stats["splits"])
        assert not stats["split"]["problems"] and not stats["quality"]["verdict"].startswith("not ready")
        where: dict[str, set[str]] = {}
        for split in ("train", "validation", "test"):
            for r in read_jsonl(run / "datasets" / kind / f"{split}.jsonl"):
                where.setdefault(r["source"]["unit_id"], set()).add(split)
        assert all(len(s) == 1 for s in where.values()), "a section's records must all be in one split"
        card = (run / "datasets" / kind / "card.md").read_text()
        assert "## Splits (by section within files" in card and "too few for a file-grouped split" in card
    assert "note: qa: 1 source file(s) are too few" in res.stderr


def test_a_repository_too_small_to_fill_the_splits_is_not_ready_and_says_why(tmp_path):
    run = _one_page_repo(tmp_path, ONE_PAGE.split("\n\n## ")[0])  # one section: nothing to hold out
    res = CliRunner().invoke(main, ["build", "paragraphs", "--run", str(run)])
    assert res.exit_code == 0, res.output
    stats = json.loads((run / "datasets" / "paragraphs" / "stats.json").read_text())
    assert stats["total"] > 0 and stats["splits"]["validation"] == 0
    assert stats["quality"]["verdict"].startswith("not ready: the validation split is empty")
    assert "NOT READY: paragraphs: the validation split is empty" in res.stderr
    assert "train.allow_no_eval=true" in res.stderr
    card = (run / "datasets" / "paragraphs" / "card.md").read_text()
    assert '<p style="color:#b00020"><strong>&#128308; Not ready:</strong> the validation split is empty' in card


def test_training_without_validation_records_needs_allow_no_eval(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.data import load_datasets

    run = _one_page_repo(tmp_path, ONE_PAGE.split("\n\n## ")[0])
    build_dataset("paragraphs", run)
    tok = AutoTokenizer.from_pretrained(tiny_model)
    with pytest.raises(CorpusFtError, match=r"train\.allow_no_eval=true"):
        load_datasets(run, TrainConfig(model=str(tiny_model), mix={"paragraphs": 1.0}), tok)
    train_ds, eval_ds, _ = load_datasets(
        run, TrainConfig(model=str(tiny_model), mix={"paragraphs": 1.0}, allow_no_eval=True), tok
    )
    assert len(train_ds) > 0 and eval_ds is None


def test_rebuild_skips_when_up_to_date_and_ids_are_stable(small_run):
    first = build_dataset("code_summary", small_run)
    ids = [r["id"] for r in read_jsonl(small_run / "datasets" / "code_summary" / "train.jsonl")]
    assert not first.get("skipped") and build_dataset("code_summary", small_run)["skipped"] is True
    assert not build_dataset("code_summary", small_run, force=True).get("skipped")
    assert [r["id"] for r in read_jsonl(small_run / "datasets" / "code_summary" / "train.jsonl")] == ids
    assert not build_dataset("code_summary", small_run, seed=3).get("skipped"), "a config change must rebuild"


def test_apply_review_drops_rejected_and_uses_edits(small_run):
    from corpus_ft.decisions import append_decision

    build_dataset("qa", small_run)
    rows = read_jsonl(small_run / "datasets" / "qa" / "train.jsonl")
    rejected, edited = rows[0], rows[1]
    append_decision(small_run, rejected["id"], "qa", "reject")
    new_messages = [
        *edited["messages"][:2],
        {"role": "assistant", "content": "A reviewed answer; mail ops@corp.example."},
    ]
    append_decision(small_run, edited["id"], "qa", "edit", {"messages": new_messages})
    stats = build_dataset("qa", small_run, apply_review=True)
    assert stats["review"] == {"rejected": 1, "edited": 1}
    after = {r["id"]: r for r in read_jsonl(small_run / "datasets" / "qa" / "train.jsonl")}
    assert rejected["id"] not in after
    assert after[edited["id"]]["messages"][-1]["content"] == "A reviewed answer; mail [REDACTED_EMAIL]."
    assert "1 rejected, 1 edited" in (small_run / "datasets" / "qa" / "card.md").read_text()


def test_bad_override_names_the_key(small_run):
    with pytest.raises(CorpusFtError, match="datasets.chunk_sise"):
        build_dataset("qa", small_run, chunk_sise=10)
    with pytest.raises(CorpusFtError, match="unknown dataset kind"):
        build_dataset("poems", small_run)


def test_cli_missing_units_parquet_exits_2_naming_file_and_fix(tmp_path):
    res = CliRunner().invoke(main, ["build", "qa", "--run", str(tmp_path / "empty")])
    assert res.exit_code == 2
    assert "units.parquet" in res.output and "corpus-ft ingest" in res.output
    assert not (tmp_path / "empty" / "datasets" / "qa").exists()


def test_cli_builds_all_with_table_and_json(small_run):
    res = CliRunner().invoke(main, ["build", "all", "--run", str(small_run), "--json", "--seed", "1"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == set(KINDS) and all(data[k]["settings"]["seed"] == 1 for k in KINDS)
    assert "corpus-ft build" in res.stderr and "validation" in res.stderr


def test_the_splitting_library_behaves_as_chunking_relies_on():
    """chunk.py uses one public call of langchain-text-splitters: a paragraph too long for a chunk is
    cut at line, then word boundaries into pieces of at most chunk_size by the given length function,
    each piece a verbatim substring in order. A release that changes that fails here first."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    text = "The ledger posts entries.\nEach entry has an id.\nThe id is stable across runs and never reused."
    cut = RecursiveCharacterTextSplitter(chunk_size=50, chunk_overlap=0).split_text(text)
    assert cut == ["The ledger posts entries.\nEach entry has an id.", "The id is stable across runs and never reused."]
    words = RecursiveCharacterTextSplitter(chunk_size=4, chunk_overlap=0, length_function=lambda t: len(t.split()))
    pieces = words.split_text("one two three four five six seven eight nine")
    assert pieces == ["one two three four", "five six seven eight", "nine"]
    at = 0
    for piece in cut:  # verbatim and in order: chunk.py finds each piece's lines in its block
        assert text.index(piece, at) >= at
        at = text.index(piece, at) + len(piece)
