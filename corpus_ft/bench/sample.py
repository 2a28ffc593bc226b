"""`corpus-ft bench sample RUN…`: a blind-read sheet of random records per kind, pooled over runs in turn.

A reader who did not write the rules judges whether each record is worth training on. The sheet shows
only what a trainer would see (the record's text or messages) and where it came from (repository, file,
lines); no flag, score or verdict of the tool's. The key (record ids) is written beside it, so the
reader's keep/reject marks can be joined back to the runs and compared with the card's verdict.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_write_text, read_jsonl, write_jsonl

SPLITS = ("train", "validation", "test")


def _records(run: Path, kind: str) -> list[dict]:
    rows = []
    for split in SPLITS:
        path = run / "datasets" / kind / f"{split}.jsonl"
        for r in read_jsonl(path) if path.is_file() else []:
            if not r.get("meta", {}).get("augmented"):  # a rewrite of a record already in the pool
                rows.append({"run": run.name, "split": split, "record": r})
    return rows


def _fenced(text: str) -> list[str]:
    """`text` in a code fence longer than any backtick run inside it (records quote Markdown)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def _render(n: int, row: dict) -> str:
    r, src = row["record"], row["record"]["source"]
    lines = [f"### {n}. {row['run']} — `{src['path']}:{src['start_line']}-{src['end_line']}`", ""]
    if "text" in r:
        lines += _fenced(r["text"])
    for m in r.get("messages") or []:
        if m["role"] == "system":
            continue
        lines += [f"**{m['role']}**:", "", *_fenced(m["content"])]
    return "\n".join(lines) + "\n"


def _balanced(pools: list[list[dict]], n: int, rng: random.Random) -> list[dict]:
    """`n` records taken in turn from each run (a large repository does not crowd out the small ones),
    each run's in random order; then shuffled so the sheet does not group them."""
    queues = [rng.sample(rows, len(rows)) for rows in pools]
    picked: list[dict] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop())
    rng.shuffle(picked)
    return picked


def blind_sample(runs: list[Path], kinds: list[str], per_kind: int, seed: int, out: Path) -> dict:
    """OUT/<kind>.md (the sheet) and OUT/<kind>.key.jsonl per kind; returns the pool sizes per kind and run."""
    rng = random.Random(seed)
    counts: dict[str, dict[str, int]] = {}
    for kind in kinds:
        pools = [_records(Path(run), kind) for run in runs]
        pool = [row for rows in pools for row in rows]
        if not pool:
            raise CorpusFtError(f"no {kind} records in {', '.join(str(r) for r in runs)}; build them first")
        picked = _balanced(pools, per_kind, rng)
        counts[kind] = {Path(r).name: sum(row["run"] == Path(r).name for row in picked) for r in runs}
        head = (
            f"# Blind read: {kind}, {len(picked)} of {len(pool)} records from {len(runs)} runs (seed {seed})\n\n"
            "For each record: keep or reject for fine-tuning, and why.\n\n"
        )
        atomic_write_text(out / f"{kind}.md", head + "\n".join(_render(i, row) for i, row in enumerate(picked, 1)))
        write_jsonl(
            out / f"{kind}.key.jsonl",
            (
                {"n": i, "run": row["run"], "split": row["split"], "id": row["record"]["id"]}
                for i, row in enumerate(picked, 1)
            ),
        )
    return counts
