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
    yield from _FENCE.findall(text)
    yield text
    for open_, close in (("[", "]"), ("{", "}")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            yield text[start : end + 1]


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


_TEMPLATE = re.compile(r"<(?:task|product|thing|question)>|…")  # the prompt's shape, copied back
_NOT_IN_TEXT = re.compile(
    r"^\W*(?:not in (?:the )?text|the text does not (?:say|answer|mention|state)|"
    r"i (?:don't|do not|cannot|can't) (?:know|answer)|no answer)\b",
    re.I,
)


def parse_questions(text: str, limit: int | None = None) -> list[str] | None:
    """Questions from a JSON list (of strings, or of objects with "question"/"q"), or one per line; None if none."""
    text = _clean(text)
    for candidate in _json_candidates(text):
        try:
            value = json.loads(candidate)
        except (ValueError, TypeError):
            continue
        if isinstance(value, dict):
            value = next(
                (value[k] for k in ("questions", "pairs", "qa", "items", "data") if isinstance(value.get(k), list)),
                [value],
            )
        if isinstance(value, list):
            out = [
                q if isinstance(q, str) else q.get("question", q.get("q")) if isinstance(q, dict) else None
                for q in value
            ]
            out = [" ".join(q.split()) for q in out if isinstance(q, str) and q.strip() and not _TEMPLATE.search(q)]
            if out or value == []:
                return out[:limit]
    lines = [
        re.sub(r"^\s*(?:[-*]\s*|\d+[.)]\s*)?(?:\**(?:q|question)\s*\d*\**\s*[:.)]\**\s*)?", "", ln, flags=re.I).strip()
        for ln in text.splitlines()
    ]
    out = [ln for ln in lines if ln.endswith("?") and len(ln.split()) >= 3 and not _TEMPLATE.search(ln)]
    return out[:limit] if out else None


def parse_answer(text: str) -> str | None:
    """The answer without fences or an `Answer:` label; None for "NOT IN TEXT" and empty replies."""
    text = _clean(text)
    fenced = _FENCE.fullmatch(text)
    if fenced and not re.search(r"\w", text.split("```", 2)[1].split("\n", 1)[0] or ""):
        text = fenced.group(1).strip()
    text = re.sub(r"^\s*(\*\*)?answer(\*\*)?\s*:\s*", "", text, flags=re.I).strip()
    if not text or _NOT_IN_TEXT.match(text) or not re.search(r"[A-Za-z]{2}", text):
        return None
    return text


def parse_verdict(text: str) -> bool | None:
    """SUPPORTED -> True, UNSUPPORTED -> False (also yes/no), None when the reply says neither."""
    words = re.findall(r"[a-z]+", _clean(text).lower())[:3]
    if not words:
        return None
    if words[0] in ("unsupported", "no", "not", "false"):
        return False
    if words[0] in ("supported", "yes", "true"):
        return True
    return None
