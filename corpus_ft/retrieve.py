"""BM25 retrieval over a run's own train split: the alternative to fine-tuning, measured beside it.

The index holds the paragraph chunks of the train split and the code units of files in the code
train split (never a test-split file), redacted like every other output. It is written once into
RUN_DIR/retrieval/ (atomically, with a manifest of the datasets it read) and rebuilt only when
those datasets change. `evaluate` puts the top-k passages before a question; the `qa_context`
dataset kind trains on questions with retrieved passages.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus_ft.redact import redact
from corpus_ft.util import CorpusFtError, atomic_dir, is_up_to_date, read_jsonl, write_jsonl, write_manifest

INDEX_DIR = "retrieval"
DEFAULT_TEMPLATE = (
    "Answer the question using the passages from the documentation below when they help.\n\n"
    "{passages}\n\nQuestion: {question}"
)
CODE_KINDS = ("function", "method", "class")


class RetrievalConfig(BaseModel):
    """What the retriever indexes and how passages reach the prompt; one recipe section."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(3, ge=1, le=50, description="passages put before each question; more recall, longer prompts")
    index: list[Literal["paragraphs", "code"]] = Field(
        ["paragraphs", "code"], description="what is indexed: paragraph chunks and/or code units of the train split"
    )
    template: str = Field(
        DEFAULT_TEMPLATE,
        description="prompt with {passages} and {question}; each passage is numbered and names its source lines",
    )
    max_passage_chars: int = Field(
        1500, ge=100, le=100_000, description="a longer passage is cut in the prompt (the index keeps it whole)"
    )

    @field_validator("template")
    @classmethod
    def _has_fields(cls, template: str) -> str:
        missing = [f for f in ("{passages}", "{question}") if f not in template]
        if missing:
            raise ValueError(f"must contain {' and '.join(missing)}")
        return template


_WORD = re.compile(r"\w+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = frozenset(
    "a an and are as at be but by do does for from has have how i if in into is it its of on or that the their "
    "them then there these this to was what when where which who why will with you your can should".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case words of prose and code: `parseConfig`/`parse_config` also give `parse` and `config`."""
    tokens: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low in _STOP:
            continue
        tokens.append(low)
        parts = [p.lower() for p in _CAMEL.findall(word)]
        if len(parts) > 1:
            tokens.extend(p for p in parts if p not in _STOP)
    return tokens


def _split_paths(run_dir: Path, kind: str, split: str) -> set[str]:
    path = run_dir / "datasets" / kind / f"{split}.jsonl"
    return {r["source"]["path"] for r in read_jsonl(path)} if path.is_file() else set()


def collect_passages(run_dir: Path, config: RetrievalConfig) -> list[dict]:
    """The passages of the train split: paragraph chunks as built, code units of train-split code files."""
    passages: list[dict] = []
    counts: Counter = Counter()
    if "paragraphs" in config.index:
        path = run_dir / "datasets" / "paragraphs" / "train.jsonl"
        for r in read_jsonl(path) if path.is_file() else []:
            if r.get("meta", {}).get("augmented"):
                continue  # a paraphrase repeats its source passage
            src = r["source"]
            passages.append(
                {
                    "id": r["id"],
                    "kind": "paragraph",
                    "text": r["text"],  # built records are redacted already
                    "path": src["path"],
                    "start_line": src["start_line"],
                    "end_line": src["end_line"],
                }
            )
    if "code" in config.index:
        train_files = _split_paths(run_dir, "code_summary", "train")
        units = run_dir / "units.parquet"
        if train_files and units.is_file():
            import pyarrow.parquet as pq

            table = pq.read_table(units, columns=["id", "path", "language", "kind", "name", "text", "start_line"])
            for row in table.to_pylist():
                if row["kind"] not in CODE_KINDS or row["path"] not in train_files:
                    continue
                text = redact(row["text"], filename=row["path"], language=row["language"], counts=counts)
                passages.append(
                    {
                        "id": f"code-{row['id']}",
                        "kind": "code",
                        "text": text,
                        "path": row["path"],
                        "start_line": row["start_line"],
                        "end_line": row["start_line"] + text.count("\n"),
                        "name": row["name"],
                    }
                )
    return passages


def build_index(run_dir: str | Path, config: RetrievalConfig | None = None, *, force: bool = False) -> Path:
    """RUN_DIR/retrieval/: the BM25 index and its passages; skipped when the datasets it reads are unchanged."""
    import bm25s

    run_dir = Path(run_dir)
    config = config or RetrievalConfig()
    out = run_dir / INDEX_DIR
    inputs = {f"{kind}_train": run_dir / "datasets" / kind / "train.jsonl" for kind in ("paragraphs", "code_summary")}
    inputs["units"] = run_dir / "units.parquet"
    settings = {"index": list(config.index)}
    if not force and is_up_to_date(out, inputs, settings):
        return out
    passages = collect_passages(run_dir, config)
    if not passages:
        raise CorpusFtError(
            f"{run_dir}: nothing to index for retrieval (no paragraph chunks or code units in the train split of "
            f"{', '.join(config.index)}); build the datasets first (`corpus-ft build all --run {run_dir}`) "
            "or set retrieval.index"
        )
    retriever = bm25s.BM25()
    retriever.index([tokenize(p["text"]) for p in passages], show_progress=False)
    with atomic_dir(out) as tmp:
        retriever.save(str(tmp / "bm25"), show_progress=False)
        write_jsonl(tmp / "passages.jsonl", passages)
        write_manifest(tmp, "retrieval", inputs, settings)
    return out


@dataclass
class Hit:
    passage: dict
    score: float
    rank: int


class Retriever:
    """Top-k passages for a question from a built index (RUN_DIR/retrieval/)."""

    def __init__(self, index_dir: str | Path):
        import bm25s

        index_dir = Path(index_dir)
        if not (index_dir / "passages.jsonl").is_file():
            raise CorpusFtError(f"{index_dir}: no retrieval index; build it with `corpus-ft retrieve index RUN_DIR`")
        self.passages = read_jsonl(index_dir / "passages.jsonl")
        if not self.passages:
            raise CorpusFtError(f"{index_dir}/passages.jsonl: the index is empty; rebuild it after `corpus-ft build`")
        self.bm25 = bm25s.BM25.load(str(index_dir / "bm25"))

    def search(self, question: str, k: int) -> list[Hit]:
        """The k best passages (fewer when the index is smaller, or when no word of the question is indexed)."""
        tokens = tokenize(question)
        k = min(k, len(self.passages))
        if not tokens:
            return []
        docs, scores = self.bm25.retrieve([tokens], k=k, show_progress=False)
        hits = [
            Hit(self.passages[int(d)], float(s), rank)
            for rank, (d, s) in enumerate(zip(docs[0], scores[0]), 1)
            if float(s) > 0
        ]
        return hits


def format_passages(hits: list[Hit], max_chars: int) -> str:
    """Numbered passages, each naming its file and lines, as the prompt shows them."""
    blocks = []
    for hit in hits:
        p = hit.passage
        text = p["text"] if len(p["text"]) <= max_chars else p["text"][:max_chars].rstrip() + " …"
        blocks.append(f"[{hit.rank}] {p['path']}:{p['start_line']}-{p['end_line']}\n{text}")
    return "\n\n".join(blocks)


def augment_question(question: str, hits: list[Hit], config: RetrievalConfig) -> str:
    """The question with its passages put before it (the question alone when nothing was retrieved)."""
    if not hits:
        return question
    return config.template.format(passages=format_passages(hits, config.max_passage_chars), question=question)


def recall_at_k(hits: list[Hit], source_path: str | None, keywords: list[str]) -> dict:
    """Did the passages hold the reference's source file, and which share of its keywords?"""
    text = " ".join(h.passage["text"].lower() for h in hits)
    found = [kw for kw in keywords if kw.lower() in text]
    return {
        "source_hit": None if not source_path else any(h.passage["path"] == source_path for h in hits),
        "keyword_recall": (len(found) / len(keywords)) if keywords else None,
    }


def describe(index_dir: str | Path) -> dict:
    """Counts of the index for reports: passages by kind and the manifest's settings."""
    index_dir = Path(index_dir)
    passages = read_jsonl(index_dir / "passages.jsonl")
    manifest = json.loads((index_dir / "manifest.json").read_text())
    return {"passages": len(passages), "by_kind": dict(Counter(p["kind"] for p in passages)), **manifest["config"]}
