"""Review decisions: an append-only log a reviewer writes and the builder and trainer honour.

It sits below the dataset, review and train stages (docs/architecture.md): the builder and the trainer
apply decisions without importing the review stage, which itself reads the built datasets.

`apply_decisions` is the only function that applies them, and it redacts every edit.

`RUN_DIR/review/decisions.jsonl` holds one JSON object per line:
`{"record_id", "kind", "action": "accept"|"reject"|"edit", "fields": {...}, "time"}`.
The last decision for a record wins, so undoing a rejection is one more line, and the log
is the audit trail. A corrupt line is reported with its line number and skipped; nothing
else in the log is lost.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from corpus_ft.util import CorpusFtError, no_space, no_space_message

log = logging.getLogger(__name__)

DECISIONS_FILE = Path("review") / "decisions.jsonl"
ACTIONS = ("accept", "reject", "edit")
EDITABLE_FIELDS = ("messages", "text")  # instruction kinds carry messages; paragraphs carry text
MESSAGE_ROLES = ("system", "user", "assistant")


def augmented_from(rec: dict) -> dict | None:
    """meta.augmented ({"from": source id, "op"}) of a record datasets.augment made, else None."""
    aug = (rec.get("meta") or {}).get("augmented") if isinstance(rec.get("meta"), dict) else None
    return aug if isinstance(aug, dict) else None


def decisions_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / DECISIONS_FILE


def _problem(entry: Any) -> str | None:
    """Why a decoded line is not a usable decision, or None when it is."""
    if not isinstance(entry, dict):
        return f"expected a JSON object, got {type(entry).__name__}"
    if not isinstance(entry.get("record_id"), str) or not entry["record_id"]:
        return 'missing "record_id"'
    if entry.get("action") not in ACTIONS:
        return f'"action" must be one of {", ".join(ACTIONS)}, got {entry.get("action")!r}'
    if entry["action"] == "edit":
        try:
            validate_fields(entry.get("fields"))
        except CorpusFtError as e:
            return str(e)
    return None


def validate_fields(fields: Any) -> dict:
    """Check edited fields before they reach a dataset: `text` a string, `messages` chat turns."""
    if not isinstance(fields, dict) or not fields:
        raise CorpusFtError(f'an edit needs "fields" with one of {", ".join(EDITABLE_FIELDS)}')
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise CorpusFtError(f"cannot edit field(s) {', '.join(unknown)}; editable: {', '.join(EDITABLE_FIELDS)}")
    if "text" in fields and not (isinstance(fields["text"], str) and fields["text"].strip()):
        raise CorpusFtError('edited "text" must be a non-empty string')
    if "messages" in fields:
        msgs = fields["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise CorpusFtError('edited "messages" must be a non-empty list of {"role", "content"}')
        for i, m in enumerate(msgs):
            if not (isinstance(m, dict) and m.get("role") in MESSAGE_ROLES and isinstance(m.get("content"), str)):
                raise CorpusFtError(f'edited "messages"[{i}] must be {{"role": system|user|assistant, "content": str}}')
        if not any(m["role"] == "assistant" and m["content"].strip() for m in msgs):
            raise CorpusFtError('edited "messages" need a non-empty assistant turn to train on')
    return fields


def read_decisions(path: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """All decisions in file order, and one warning (file:line: why) per skipped line."""
    path = Path(path)
    if not path.is_file():
        return [], []
    decisions, warnings = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                warnings.append(f"{path}:{lineno}: not valid JSON ({e.msg}); line skipped")
                continue
            why = _problem(entry)
            if why:
                warnings.append(f"{path}:{lineno}: {why}; line skipped")
                continue
            decisions.append(entry)
    return decisions, warnings


def latest(decisions: Iterable[dict]) -> dict[str, dict]:
    """The last decision per record id (later lines win)."""
    out: dict[str, dict] = {}
    for d in decisions:
        out[d["record_id"]] = d
    return out


def load_decisions(run_dir: str | os.PathLike, warnings: list[str] | None = None) -> dict[str, dict]:
    """Latest decision per record id; skipped lines are logged and appended to `warnings`."""
    decisions, problems = read_decisions(decisions_path(run_dir))
    for w in problems:
        log.warning("%s", w)
    if warnings is not None:
        warnings.extend(problems)
    return latest(decisions)


def append_decision(
    run_dir: str | os.PathLike,
    record_id: str,
    kind: str,
    action: str,
    fields: dict | None = None,
    source: dict | None = None,
) -> dict:
    """Record one decision durably; safe with concurrent writers (one locked O_APPEND write).

    `source` (the record's path and start line) is kept as the decision's anchor: when the text
    changes, the record gets a new id, and the anchor lets `apply_decisions` say so instead of
    letting a rejected record return silently.
    """
    if not isinstance(record_id, str) or not record_id:
        raise CorpusFtError("record_id must be a non-empty string")
    if action not in ACTIONS:
        raise CorpusFtError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if action == "edit":
        fields = validate_fields(fields)
        expected = "text" if kind == "paragraphs" else "messages"
        if set(fields) != {expected}:
            raise CorpusFtError(f'a {kind} record is edited through "{expected}", got {", ".join(sorted(fields))}')
    elif fields:
        raise CorpusFtError(f'only an edit carries "fields"; got fields with action {action!r}')
    entry = {
        "record_id": record_id,
        "kind": kind,
        "action": action,
        "fields": fields if action == "edit" else None,
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }
    if isinstance(source, dict) and isinstance(source.get("path"), str):
        entry["anchor"] = {"path": source["path"], "start_line": source.get("start_line")}
    data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path = decisions_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _append(path, data)
    except OSError as e:  # a full disk: the caller (the review server) answers with this, and keeps serving
        if no_space(e) is None:
            raise
        raise CorpusFtError(f"{path}: the decision was not saved: {no_space_message(e)}", exit_code=1) from None
    return entry


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if _torn_tail(fd):  # a crashed writer left a line without its newline
                data = b"\n" + data
            written = os.write(fd, data)
            if written != len(data):  # a full disk; the reader will skip the partial line
                raise OSError(28, f"short write ({written} of {len(data)} bytes)", str(path))
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _torn_tail(fd: int) -> bool:
    """True when the file does not end with a newline, so our line must start a fresh one."""
    size = os.fstat(fd).st_size
    return bool(size) and os.pread(fd, 1, size - 1) != b"\n"


def flag(decision: dict | None) -> str:
    """How a record shows in review: accepted, rejected, edited or undecided."""
    return {"accept": "accepted", "reject": "rejected", "edit": "edited"}.get(
        (decision or {}).get("action"), "undecided"
    )


def apply_decisions(
    records: Iterable[dict], decisions: dict[str, dict], counts: Counter | None = None
) -> tuple[list[dict], dict]:
    """The one place a reviewer's decisions reach records: rejects dropped, edits applied AND redacted.

    Builder, trainer and review server all call this, so a secret pasted into an edit is
    redacted wherever the edited record shows or trains; `counts` collects the redactions.
    """
    kept: list[dict] = []
    seen: set = set()
    review = {"rejected": 0, "edited": 0, "accepted": 0}
    for rec in records:
        seen.add(rec.get("id"))
        d = decisions.get(rec.get("id"))
        action = d["action"] if d else None
        if action == "reject":
            review["rejected"] += 1
            continue
        if (decisions.get((augmented_from(rec) or {}).get("from")) or {}).get("action") == "reject":
            review["rejected_augmentations"] = review.get("rejected_augmentations", 0) + 1
            continue  # rejecting a record rejects what datasets.augment made from it
        if action == "edit":
            rec = _redacted({**rec, **{k: v for k, v in d["fields"].items() if k in EDITABLE_FIELDS}}, counts)
            review["edited"] += 1
        elif action == "accept":
            review["accepted"] += 1
        kept.append(rec)
    stale = stale_decisions(kept, decisions, seen)
    for message in stale:
        log.warning("%s", message)
    if stale:
        review["stale"] = len(stale)
    return kept, review


def _anchor(kind: Any, source: Any) -> tuple | None:
    if not isinstance(source, dict) or not isinstance(source.get("path"), str):
        return None
    return kind, source["path"], source.get("start_line")


def stale_decisions(records: list[dict], decisions: dict[str, dict], ids: set | None = None) -> list[str]:
    """One warning per reject or edit whose record is gone while an undecided record now sits at its
    place (same kind, file and start line): its text changed, so the decision no longer applies.
    `ids`: every record id there was (rejected ones included), when `records` holds only the kept."""
    ids = ids if ids is not None else {r.get("id") for r in records}
    by_anchor: dict[tuple, str] = {}
    for d in decisions.values():
        key = _anchor(d.get("kind"), d.get("anchor"))
        if key is not None and d.get("action") in ("reject", "edit") and d["record_id"] not in ids:
            by_anchor[key] = d
    out = []
    for rec in records:
        d = by_anchor.pop(_anchor(rec.get("kind"), rec.get("source")), None) if by_anchor else None
        if d is not None and rec.get("id") not in decisions:
            where = f"{d['anchor']['path']}:{d['anchor'].get('start_line')}"
            out.append(
                f"{DECISIONS_FILE}: record {d['record_id']} ({where}) was {flag(d)} {d.get('time', '')[:10]}, "
                f"but its text has changed since; the new record {rec.get('id')} is back undecided - review it "
                "again (corpus-ft review RUN_DIR --serve)"
            )
    return out


def _redacted(rec: dict, counts: Counter | None) -> dict:
    """An edited record with its editable fields redacted as the builder redacts the repository's text."""
    from corpus_ft.redact import (
        redact,
        strip_control,  # nor terminal escapes or NULs a reviewer pasted
    )

    where = {
        "filename": (rec.get("source") or {}).get("path") or "text.txt",
        "language": (rec.get("meta") or {}).get("language") or "text",
        "counts": counts,
    }
    if isinstance(rec.get("text"), str):
        rec["text"] = redact(strip_control(rec["text"])[0], **where)
    if isinstance(rec.get("messages"), list):
        rec["messages"] = [{**m, "content": redact(strip_control(m["content"])[0], **where)} for m in rec["messages"]]
    return rec
