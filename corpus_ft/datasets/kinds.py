"""Candidate records of the four kinds, before the shared quality filters.

Each builder returns (candidates, removed) where removed are the kind's own rejections
({"reason", "record"}: `ungrounded` qa answers, code units with `no_summary`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from corpus_ft.datasets.chunk import with_context
from corpus_ft.datasets.config import BuildConfig
from corpus_ft.datasets.records import chat, meta, record_id, source
from corpus_ft.generate import Chunk, Generator

_TOKEN = re.compile(r"\w+", re.UNICODE)
KEYWORD_TEMPLATES = (
    "Tell me about {kw}.",
    "What does our documentation say about {kw}?",
    "Explain {kw}.",
    "I need to know about {kw}. What should I read?",
    "Give me an overview of {kw}.",
)


def paragraphs(chunks: Sequence[Chunk], gen_name: str = "none", version: str = "1") -> list[dict]:
    """Text-completion records for continued pre-training: chunk text under its heading path."""
    out = []
    for c in chunks:
        text = with_context(c)
        out.append({"id": record_id("paragraphs", c["unit_id"], text), "kind": "paragraphs", "text": text,
                    "source": source(c), "meta": meta(gen_name, version, c["language"],
                                                      heading_path=c["heading_path"], chunk_id=c["id"])})
    return out


def grounding(answer: str, chunk_text: str) -> float:
    """Share of the answer's words (2+ characters) that appear in the chunk."""
    words = [w for w in _TOKEN.findall(answer.lower()) if len(w) > 1]
    if not words:
        return 0.0
    vocab = set(_TOKEN.findall(chunk_text.lower()))
    return sum(w in vocab for w in words) / len(words)


def qa(chunks: Sequence[Chunk], generator: Generator, cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """Question-answer pairs grounded in one chunk; answers the chunk does not support are removed."""
    kept, removed = [], []
    for c, pairs in zip(chunks, generator.questions(chunks)):
        for pair in pairs:
            q, a = pair["question"].strip(), pair["answer"].strip()
            score = grounding(a, c["text"])
            rec = {"id": record_id("qa", c["unit_id"], c["id"], q, a), "kind": "qa",
                   "messages": chat("qa", cfg.system_prompt, q, a), "source": source(c),
                   "meta": meta(generator.name, generator.version, c["language"], heading_path=c["heading_path"],
                                chunk_id=c["id"], grounding=round(score, 3))}
            (kept if score >= cfg.grounding_threshold else removed).append(rec)
    return kept, [{"reason": "ungrounded", "record": r} for r in removed]


@lru_cache(maxsize=4)
def _yake(top: int):
    import yake

    return yake.KeywordExtractor(lan="en", n=2, top=top, dedup_lim=0.7)


def keyword_text(text: str) -> str:
    """Prose for YAKE: no code, no heading markup, every line a sentence (so a heading and the
    line after it never merge into one bogus phrase)."""
    from corpus_ft.generate.heuristic import prose

    lines = []
    for line in re.sub(r"\[REDACTED_\w+\]", " ", prose(text)).split("\n"):
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip().strip("`*_")
        if not line or not any(ch.isalnum() for ch in line):  # blank or an rst underline
            continue
        lines.append(line if line[-1] in ".!?:;" else line + ".")
    return "\n".join(lines)


def extract_keywords(text: str, top: int, heading: str = "") -> list[str]:
    """YAKE keywords (1-2 word phrases), best first; a phrase inside a chosen one is skipped."""
    out: list[str] = []
    for phrase, _score in _yake(top * 4).extract_keywords(keyword_text(f"{heading}\n{text}" if heading else text)):
        p = phrase.strip(" `*_#.,")
        if p.isupper() and len(p) > 5:  # SHOUTED headings of plain-text files
            p = p.lower()
        words = set(p.lower().split())
        if len(p) < 3 or not any(ch.isalpha() for ch in p) or any(words & set(q.lower().split()) for q in out):
            continue  # one phrase per idea: "service level" after "ledgerline service" adds nothing
        out.append(p)
        if len(out) >= top:
            break
    return out


def keywords(chunks: Sequence[Chunk], cfg: BuildConfig) -> list[dict]:
    """"Tell me about <keywords>" -> the chunk, templates rotated by chunk so prompts vary."""
    out = []
    for c in chunks:
        kws = extract_keywords(c["text"], cfg.keywords_per_record, (c.get("heading_path") or [""])[-1])
        if not kws:
            continue
        template = KEYWORD_TEMPLATES[int(c["id"].rsplit("-", 1)[-1], 16) % len(KEYWORD_TEMPLATES)]
        user = template.format(kw=", ".join(kws[:-1]) + " and " + kws[-1] if len(kws) > 1 else kws[0])
        answer = with_context(c)
        out.append({"id": record_id("keywords", c["unit_id"], c["id"], user), "kind": "keywords",
                    "messages": chat("keywords", cfg.system_prompt, user, answer), "source": source(c),
                    "meta": meta("yake", "1", c["language"], heading_path=c["heading_path"],
                                 chunk_id=c["id"], keywords=kws)})
    return out


def good_docstring(doc: str | None, min_words: int) -> str | None:
    """The docstring's first paragraph when it says enough to be a summary."""
    if not doc:
        return None
    first = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    first = " ".join(first.split())
    if len(_TOKEN.findall(first)) < min_words or first.lower().startswith(("todo", "fixme", "deprecated", "@")):
        return None
    return first


_PY_DOCSTRING = re.compile(r'[ \t]*[rRuU]?("""|\'\'\')[\s\S]*?\1[ \t]*\n(?:[ \t]*\n)?')


def without_docstring(code: str, language: str) -> str:
    """Code to explain with its docstring taken out, so the answer is not a copy of the prompt.
    Only Python keeps the docstring inside the unit; other languages' doc comments sit above it."""
    if language != "python":
        return code
    header = re.search(r":[ \t]*(?:#[^\n]*)?\n", code)  # end of the `def`/`class` header
    if not header:
        return code
    body = code[header.end():]
    m = _PY_DOCSTRING.match(body)
    return code[:header.end()] + body[m.end():] if m else code


def _fence(language: str, code: str) -> str:
    return f"```{language}\n{code}\n```"


def code_summary(units: Sequence[dict], generator: Generator, cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """Summary -> code (write it) and code -> summary (explain it), docstring first, else generated."""
    summaries: list[str | None] = [good_docstring(u.get("docstring"), cfg.min_docstring_words) for u in units]
    need = [i for i, s in enumerate(summaries) if s is None]
    generated = generator.summaries([units[i] for i in need]) if need else []
    origin = ["docstring" if s else generator.name for s in summaries]
    for i, s in zip(need, generated):
        summaries[i] = s.strip() if s and s.strip() else None
    out, removed = [], []
    for u, summary, how in zip(units, summaries, origin):
        lang, name, kind = u.get("language") or "", u.get("name") or "", u.get("kind") or "function"
        gen_name, version = ("docstring", "1") if how == "docstring" else (generator.name, generator.version)
        where = f"`{name}` ({lang} {kind} in `{u['path']}`)"
        code = u.get("text") or ""
        pairs = (
            ("summary_to_code", f"Write {where}.\n\nWhat it does: {summary}", _fence(lang, code)),
            ("code_to_summary", f"Explain what {where} does.\n\n{_fence(lang, without_docstring(code, lang))}",
             summary or ""),
        )
        for direction, user, assistant in pairs:
            rec = {"id": record_id("code_summary", u["id"], direction, user, assistant), "kind": "code_summary",
                   "messages": chat("code_summary", cfg.system_prompt, user, assistant), "source": source(u, u["id"]),
                   "meta": meta(gen_name, version, lang, direction=direction, name=name, summary_source=how)}
            if summary is None:
                removed.append({"reason": "no_summary", "record": rec})
            else:
                out.append(rec)
    return out, removed
