"""The record every dataset kind writes (schema in docs/architecture.md) and its stable id."""

from __future__ import annotations

import hashlib
import json

SYSTEM_PROMPTS = {
    "qa": "You answer questions about this organisation's documentation accurately and concisely.",
    "keywords": "You explain topics from this organisation's documentation.",
    "code_summary": "You are an expert on this organisation's code base: you explain its code and write code that fits it.",
}


def record_id(kind: str, unit_id: str, *content: object) -> str:
    """Hash of kind, unit and content: a rebuild keeps the ids that review decisions name."""
    blob = json.dumps([kind, unit_id, *content], ensure_ascii=False, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:20]}"


def source(obj: dict, unit_id: str | None = None) -> dict:
    """Where a record comes from, for a unit (units.parquet row) or a chunk; `repo` names its repository."""
    return {
        "path": obj["path"],
        "repo": obj.get("repo") or "",
        "start_line": int(obj.get("start_line") or 0),
        "end_line": int(obj.get("end_line") or 0),
        "unit_id": unit_id or obj.get("unit_id") or obj["id"],
    }


def meta(generator: str, version: str, language: str, **extra) -> dict:
    """Record meta with the same keys for every kind, so all splits share one Arrow schema."""
    base = {
        "generator": generator,
        "version": version,
        "language": language,
        "heading_path": [],
        "chunk_id": None,
        "keywords": [],
        "direction": None,
        "name": None,
        "summary_source": None,
    }
    base.update(extra)
    return base


def chat(kind: str, system: str | None, user: str, assistant: str) -> list[dict]:
    return [
        {"role": "system", "content": system or SYSTEM_PROMPTS[kind]},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]
