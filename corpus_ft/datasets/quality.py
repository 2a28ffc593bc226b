"""Filters every dataset kind passes: empty, too short/long, too little content, exact and
near-duplicates (MinHash LSH). Each removed candidate keeps the reason it was removed."""

from __future__ import annotations

import hashlib
import re

from corpus_ft.datasets.config import BuildConfig

REASONS = (
    "empty",
    "exact_duplicate",
    "near_duplicate",
    "too_short",
    "too_long",
    "min_content",
    "ungrounded",
    "duplicate_question",
    "no_summary",
    "needs_model_generator",
    "stub",
    "abstract",
    "generated",
    "vendored",
    "max_records",
)
_WORD = re.compile(r"\w", re.UNICODE)
_TOKEN = re.compile(r"\w+", re.UNICODE)


def response(record: dict) -> str:
    """What the model learns to produce: the assistant turn, or the text of a completion record."""
    if "messages" in record:
        return next((m["content"] for m in reversed(record["messages"]) if m["role"] == "assistant"), "")
    return record.get("text") or ""


def content(record: dict) -> str:
    """Everything but the system prompt, roles kept, so swapped user/assistant turns differ."""
    if "messages" in record:
        return "\n".join(f"{m['role']}: {m['content']}" for m in record["messages"] if m["role"] != "system")
    return record.get("text") or ""


def check(record: dict, cfg: BuildConfig) -> str | None:
    """The reason one record fails the per-record checks, or None."""
    out = response(record)
    if not out.strip() or (
        "messages" in record and not any(m["content"].strip() for m in record["messages"] if m["role"] == "user")
    ):
        return "empty"
    if len(out.strip()) < cfg.min_chars:
        return "too_short"
    if len(content(record)) > cfg.max_chars:
        return "too_long"
    visible = re.sub(r"\s+", "", out)
    if len(_TOKEN.findall(out)) < cfg.min_words or len(_WORD.findall(visible)) < cfg.min_word_ratio * len(visible):
        return "min_content"
    return None


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _shingles(text: str, n: int = 3) -> set[bytes]:
    words = _TOKEN.findall(text.lower())
    if len(words) < n:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


def dedup_group(record: dict) -> str:
    """Records compete for duplicates only within one task (e.g. code->summary vs summary->code)."""
    return f"{record['kind']}/{record['meta'].get('direction') or ''}"


def filter_records(records: list[dict], cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """(kept, removed): removed entries are {"reason", "record"}; the first of duplicates is kept."""
    from datasketch import MinHash, MinHashLSH

    kept: list[dict] = []
    removed: list[dict] = []
    seen: set[str] = set()
    lsh: dict[str, MinHashLSH] = {}
    for rec in records:
        reason = check(rec, cfg)
        if reason is None:
            key = hashlib.sha256((dedup_group(rec) + "\0" + _normal(content(rec))).encode()).hexdigest()
            if key in seen:
                reason = "exact_duplicate"
            seen.add(key)
        if reason is None:
            mh = MinHash(num_perm=cfg.minhash_perm, seed=1)
            mh.update_batch(list(_shingles(content(rec))))
            group = dedup_group(rec)
            if group not in lsh:  # building an index solves for its band sizes: do it once per group
                lsh[group] = MinHashLSH(threshold=cfg.near_dup_threshold, num_perm=cfg.minhash_perm)
            index = lsh[group]
            if index.query(mh):
                reason = "near_duplicate"
            else:
                index.insert(rec["id"], mh)
        if reason is None:
            kept.append(rec)
        else:
            removed.append({"reason": reason, "record": rec})
    return kept, removed


_FENCE_LINE = re.compile(r"^\s*(?:(?:[-*+]|\d+[.)])\s+)*(`{3,}|~{3,})")  # also a fence opening a list item
_ADORNMENT = re.compile(r"^\s*([=\-~^\"'#*+_.<>])\1{2,}\s*$")
_CODE_SPAN = re.compile(r"(?<![:}`\w])(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # not the `text` of a role
_RESIDUE = re.compile(
    r":[\w+.-]+(?::[\w+.-]+)*:`[^`\n]+`"  # reST/Sphinx role  :func:`x`
    r"|\{[\w+.-]+(?::[\w+.-]+)*\}`[^`\n]*`"  # MyST role  {ref}`x`
    r"|^\s*\.\. [\w+.-]+(?::[\w+.-]+)*::"  # reST directive  .. note::
    r"|^\s*(?:`{3,}|~{3,}|:{3,})\{[\w:+.-]+\}"  # MyST directive  ```{note}
    r"|^\s*\.\. _[^:\n]+:\s*$"  # reST target  .. _label:
    r"|^\s*:(?:param|type|returns?|rtype|raises?|members|undoc-members|show-inheritance)\b[^:\n]*:"
    r"|^\s*(?:!!!|\?\?\?\+?)\s*[\w-]+"  # mkdocs admonition  !!! note
    r"|^\s*/{3,}(?:\s*[\w-]+.*)?\s*$",  # pymdownx blocks  /// tip, //// tab | Linux
    re.M,
)


def outside_code(text: str) -> str:
    """The lines of a text outside its fenced code blocks (what a reader sees as prose)."""
    lines, fence = [], None
    for line in text.split("\n"):
        m = _FENCE_LINE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip():
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        lines.append(line)
    return "\n".join(lines)


def markup_residue(text: str) -> bool:
    """True when text outside code fences still carries document markup a reader should never
    see: reST heading underlines, :role:`x` / {role}`x` references, `.. directive::` lines."""
    lines, fence, prev = [], None, ""
    for line in text.split("\n"):
        m = _FENCE_LINE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip():
                fence = None
            continue
        if m and not line[m.end() :].startswith("{"):  # a MyST directive fence is residue, not code
            fence = m.group(1)
            continue
        if _ADORNMENT.match(line) and prev.strip() and not _ADORNMENT.match(prev):
            return True  # a heading underline
        lines.append(line)
        prev = line
    return bool(_RESIDUE.search(_CODE_SPAN.sub("", "\n".join(lines))))
