"""Writing a kind's splits: a datasets.DatasetDict on disk, the same records as JSONL, and
extra JSONL formats (alpaca, prompt/completion, sharegpt) for other trainers."""

from __future__ import annotations

from pathlib import Path

from corpus_ft.util import write_jsonl


def _turn(record: dict, role: str) -> str:
    return "\n\n".join(m["content"] for m in record.get("messages", []) if m["role"] == role)


def to_format(record: dict, fmt: str) -> dict | None:
    """One record in another trainer's format; None where the format does not fit the kind."""
    if "messages" not in record:  # paragraphs: plain text for continued pre-training
        return {"prompt": "", "completion": record["text"]} if fmt == "completion" else None
    system, user, assistant = _turn(record, "system"), _turn(record, "user"), _turn(record, "assistant")
    if fmt == "alpaca":
        return {"instruction": user, "input": "", "output": assistant, "system": system}
    if fmt == "completion":
        return {
            "prompt": [m for m in record["messages"] if m["role"] != "assistant"],
            "completion": [m for m in record["messages"] if m["role"] == "assistant"],
        }
    if fmt == "sharegpt":
        names = {"system": "system", "user": "human", "assistant": "gpt"}
        return {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in record["messages"]]}
    raise ValueError(f"unknown export format {fmt!r}")


def write_splits(out: Path, splits: dict[str, list[dict]], formats: list[str]) -> dict[str, list[str]]:
    """All files of one kind's splits; returns format -> files written (skipped formats absent)."""
    from datasets import Dataset, DatasetDict, Features, Value

    written: dict[str, list[str]] = {"messages": []}
    for name, rows in splits.items():
        write_jsonl(out / f"{name}.jsonl", rows)
        written["messages"].append(f"{name}.jsonl")
        for fmt in formats:
            converted = [to_format(r, fmt) for r in rows]
            if any(c is None for c in converted):
                continue
            write_jsonl(out / f"{name}.{fmt}.jsonl", converted)
            written.setdefault(fmt, []).append(f"{name}.{fmt}.jsonl")
    # One Dataset for all rows, then select per split: every split gets the same features,
    # also an empty one (Dataset.from_list([]) would have no columns at all).
    names = list(splits)
    everything = Dataset.from_list([r for n in names for r in splits[n]]) if any(splits.values()) else None
    parts, start = {}, 0
    for n in names:
        count = len(splits[n])
        if everything is None:
            parts[n] = Dataset.from_dict({"id": []}, features=Features({"id": Value("string")}))
        else:  # an empty range at the end trips datasets' contiguous-range check; a list does not
            parts[n] = everything.select(range(start, start + count) if count else [])
        start += count
    from datasets.utils import logging as ds_logging

    bars = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()  # a bar per tiny split is noise; the CLI prints a table
    try:
        # An empty split needs one explicit (empty) shard, or load_from_disk fails on it.
        DatasetDict(parts).save_to_disk(str(out), num_shards={n: 1 for n, d in parts.items() if len(d) == 0})
    finally:
        if bars:
            ds_logging.enable_progress_bar()
    return written
