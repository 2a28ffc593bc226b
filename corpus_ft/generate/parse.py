"""Turn a model's reply into question-answer pairs or a summary, or None when it cannot be read.

Models wrap JSON in code fences, add a sentence before it, return an object instead of a
list, or ignore the format and write `Q: … A: …` lines; all of those parse. Anything else
is None, and the generator counts it as unparseable instead of guessing.
"""

from __future__ import annotations

import json
import re

from corpus_ft.generate import QAPair

_THINK = re.compile(r"<think>.*?</think>", re.S)  # reasoning models' scratchpad
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.S)
_QA_LINE = re.compile(r"^\s*(?:[-*]\s*|\d+[.)]\s*)?\**(q|question|a|answer)\s*\d*\**\s*[:.)]\**\s*(.*)$", re.I)
_MIN_SUMMARY_CHARS = 20


def _clean(text: str) -> str:
    return _THINK.sub("", text or "").strip()


def _pairs_from_json(value) -> list[QAPair] | None:
    if isinstance(value, dict):
        for key in ("pairs", "qa", "questions", "items", "data"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            value = [value]
    if not isinstance(value, list):
        return None
    pairs = []
    for item in value:
        if not isinstance(item, dict):
            continue
        q = item.get("question", item.get("q"))
        a = item.get("answer", item.get("a"))
        if isinstance(q, str) and isinstance(a, str) and q.strip() and a.strip():
            pairs.append(QAPair(question=q.strip(), answer=a.strip()))
    return pairs


def _json_candidates(text: str):
    for block in _FENCE.findall(text):
        yield block
    yield text
    for open_, close in (("[", "]"), ("{", "}")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            yield text[start:end + 1]


def _pairs_from_lines(text: str) -> list[QAPair]:
    pairs, question, answer, current = [], None, None, None
    for line in text.splitlines():
        m = _QA_LINE.match(line)
        if m:
            role = "q" if m.group(1).lower().startswith("q") else "a"
            if role == "q":
                if question and answer:
                    pairs.append(QAPair(question=question.strip(), answer=answer.strip()))
                question, answer = m.group(2), None
            elif question is not None:
                answer = m.group(2)
            current = role
        elif line.strip() and current == "a" and answer is not None:
            answer += " " + line.strip()
        elif line.strip() and current == "q" and question is not None and answer is None:
            question += " " + line.strip()
    if question and answer and answer.strip():
        pairs.append(QAPair(question=question.strip(), answer=answer.strip()))
    return [p for p in pairs if p["question"] and p["answer"]]


def parse_qa(text: str, limit: int | None = None) -> list[QAPair] | None:
    """Question-answer pairs from JSON (fenced, embedded, list or object) or Q:/A: lines; None if none."""
    text = _clean(text)
    for candidate in _json_candidates(text):
        try:
            pairs = _pairs_from_json(json.loads(candidate))
        except (ValueError, TypeError):
            continue
        if pairs:
            return pairs[:limit]
    pairs = _pairs_from_lines(text)
    return pairs[:limit] if pairs else None


def parse_summary(text: str) -> str | None:
    """The summary paragraph without fences, labels or quotes; None when too short to be one."""
    text = _clean(text)
    fenced = _FENCE.fullmatch(text)
    if fenced:
        text = fenced.group(1).strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
            text = value.get("summary", "") if isinstance(value, dict) else ""
        except ValueError:
            pass
    text = re.sub(r"^\s*(\*\*)?summary(\*\*)?\s*:\s*", "", text, flags=re.I).strip().strip('"').strip()
    text = " ".join(text.split())
    return text if len(text) >= _MIN_SUMMARY_CHARS and re.search(r"[A-Za-z]{2}", text) else None
