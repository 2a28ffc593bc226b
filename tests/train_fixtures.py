"""Small real datasets for the trainer tests, written the way `corpus-ft build` writes them.

The trainer's tests do not wait for ingest/build: they write `datasets/<kind>/*.jsonl` with a
few dozen records about a made-up service, enough for the tiny model's loss to fall in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

SERVICES = ["billing", "search", "auth", "ledger", "gateway", "scheduler", "mailer", "reports"]


def _paragraph(i: int, svc: str) -> str:
    return (
        f"The {svc} service runs on port {8000 + i}. To restart {svc}, run `make restart-{svc}` "
        f"and check the health endpoint /health/{svc}. Logs are kept in /var/log/{svc}.log for {i + 3} days."
    )


def _qa(i: int, svc: str) -> list[dict]:
    return [
        {"role": "system", "content": "You answer questions about the company's services."},
        {"role": "user", "content": f"How do I restart the {svc} service?"},
        {"role": "assistant", "content": f"Run `make restart-{svc}`, then check /health/{svc}."},
    ]


def _write_split(d: Path, split: str, rows: list[dict]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_datasets(run: Path, n: int = 48, kinds=("paragraphs", "qa")) -> Path:
    """`run/datasets/{paragraphs,qa}/{train,validation,test}.jsonl` with `n` records per kind."""
    for kind in kinds:
        rows = []
        for i in range(n):
            svc = SERVICES[i % len(SERVICES)]
            rec = {
                "id": f"{kind}-{i:04d}",
                "kind": kind,
                "source": {"path": f"docs/{svc}.md", "start_line": 1, "end_line": 5, "unit_id": f"u{i}"},
                "meta": {"generator": "test", "version": "1"},
            }
            if kind == "paragraphs":
                rec["text"] = _paragraph(i, svc)
            else:
                rec["messages"] = _qa(i, svc)
            rows.append(rec)
        cut = int(n * 0.8)
        d = run / "datasets" / kind
        _write_split(d, "train", rows[:cut])
        _write_split(d, "validation", rows[cut:])
        _write_split(d, "test", [])
    return run


def write_units(run: Path) -> Path:
    """A units.parquet whose texts train the tiny model's tokenizer on the same vocabulary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [_paragraph(i, s) for i, s in enumerate(SERVICES * 4)]
    texts += [" ".join(m["content"] for m in _qa(i, s)) for i, s in enumerate(SERVICES * 4)]
    run.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": texts}), run / "units.parquet")
    return run


def make_run(run: Path, n: int = 48) -> Path:
    """A run directory with units, datasets and the tiny model where `model: tiny` finds it."""
    from corpus_ft.model.tiny import build_tiny_model

    write_datasets(write_units(run), n=n)
    build_tiny_model(run / "tiny-model", corpus_run=run)
    return run
