"""qa_context: the qa pairs asked with retrieved passages before them (retrieval-aware fine-tuning).

Each record is a built qa record whose question comes with `k` passages: in a configurable share of
records the oracle (the paragraph chunk the answer was written from) among hard distractors the
retriever ranks highest for the question, otherwise distractors only, so the model learns both to
use a passage that holds the answer and to answer when none does. Records keep the split of the qa
record they come from, and the retriever indexes the train split only, so no passage of a
validation or test file ever reaches a train record.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from pydantic import Field

from corpus_ft.retrieve import Hit, RetrievalConfig, Retriever, augment_question, build_index
from corpus_ft.util import CorpusFtError, read_jsonl

SPLITS = ("train", "validation", "test")


class QaContextConfig(RetrievalConfig):
    """How qa_context records are made: the retriever's settings plus the oracle's share."""

    oracle_share: float = Field(
        0.8, ge=0.0, le=1.0, description="share of records whose passages include the oracle; the rest hold none"
    )
    seed: int = Field(0, ge=0, description="which records hold the oracle and where it sits among the passages")


def _oracle(record: dict, chunks_by_unit: dict[str, list[dict]]) -> dict | None:
    """The paragraph chunk of the same unit that overlaps the qa record's lines most."""
    src = record["source"]
    best, best_overlap = None, -1
    for chunk in chunks_by_unit.get(src.get("unit_id"), []):
        c = chunk["source"]
        overlap = min(c["end_line"], src["end_line"]) - max(c["start_line"], src["start_line"])
        if overlap > best_overlap:
            best, best_overlap = chunk, overlap
    if best is None:
        return None
    s = best["source"]
    return {
        "id": best["id"],
        "kind": "paragraph",
        "text": best["text"],
        "path": s["path"],
        "start_line": s["start_line"],
        "end_line": s["end_line"],
    }


def _question(record: dict) -> tuple[int, str]:
    for i, m in enumerate(record["messages"]):
        if m["role"] == "user":
            return i, m["content"]
    raise CorpusFtError(f"qa record {record['id']} has no user message")


def candidates(run_dir: Path, config: QaContextConfig) -> tuple[list[dict], dict]:
    """(records, counts): one qa_context record per built qa record that has an oracle passage."""
    qa_dir = run_dir / "datasets" / "qa"
    para_dir = run_dir / "datasets" / "paragraphs"
    if not (qa_dir / "train.jsonl").is_file() or not (para_dir / "train.jsonl").is_file():
        raise CorpusFtError(
            f"{run_dir}: qa_context is made from the built qa and paragraphs datasets; build them first "
            f"(`corpus-ft build qa --run {run_dir}` and `corpus-ft build paragraphs --run {run_dir}`)"
        )
    chunks_by_unit: dict[str, list[dict]] = {}
    for split in SPLITS:
        path = para_dir / f"{split}.jsonl"
        for chunk in read_jsonl(path) if path.is_file() else []:
            if not chunk["meta"].get("augmented"):
                chunks_by_unit.setdefault(chunk["source"]["unit_id"], []).append(chunk)
    retriever = Retriever(build_index(run_dir, config))
    counts = {"no_oracle": 0, "with_oracle": 0, "without_oracle": 0}
    records = []
    for split in SPLITS:
        path = qa_dir / f"{split}.jsonl"
        for qa in read_jsonl(path) if path.is_file() else []:
            if qa["meta"].get("augmented"):
                continue  # paraphrased questions of the same pair would repeat its passages
            oracle = _oracle(qa, chunks_by_unit)
            if oracle is None:
                counts["no_oracle"] += 1
                continue
            rng = random.Random(f"{config.seed}:{qa['id']}")
            index, question = _question(qa)
            # distractors come from other files: the oracle's own file may hold the answer too
            hits = [h for h in retriever.search(question, config.k + 8) if h.passage["path"] != oracle["path"]]
            with_oracle = rng.random() < config.oracle_share
            passages = [h.passage for h in hits[: config.k - 1 if with_oracle else config.k]]
            if with_oracle:
                passages.insert(rng.randrange(len(passages) + 1), oracle)
            counts["with_oracle" if with_oracle else "without_oracle"] += 1
            ranked = [Hit(p, 0.0, rank) for rank, p in enumerate(passages, 1)]
            messages = [dict(m) for m in qa["messages"]]
            messages[index]["content"] = augment_question(question, ranked, config)
            digest = hashlib.sha256(f"{qa['id']}\0{messages[index]['content']}".encode()).hexdigest()[:20]
            records.append(
                {
                    "id": f"qa_context-{digest}",
                    "kind": "qa_context",
                    "messages": messages,
                    "source": dict(qa["source"]),
                    "meta": {
                        **qa["meta"],
                        "generator": "qa_context",
                        "from_qa": qa["id"],
                        "split": split,
                        "oracle": with_oracle,
                        "passages": [
                            {"path": p["path"], "start_line": p["start_line"], "end_line": p["end_line"]}
                            for p in passages
                        ],
                    },
                }
            )
    return records, counts


def keep_splits(records: list[dict]) -> dict[str, list[dict]]:
    """The split each record's qa pair was in (never re-split: passages follow the qa split)."""
    splits: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r in records:
        splits[r["meta"]["split"]].append(r)
    return splits
