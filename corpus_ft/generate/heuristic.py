"""The offline generator: no model, deterministic. Questions come from headings, definitions
("X is ...") and numbered procedure steps, answers are the chunk's own sentences; code
summaries come from the name (camelCase/snake_case split), the signature and comments.

It is a baseline that runs anywhere and makes the pipeline testable; a model (`hf`,
`openai`) writes far more varied questions and summaries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpus_ft.generate import Chunk, GeneratorConfig, QAPair

_FENCE_BLOCK = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.S | re.M)
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*+]\s+\[?\d+\]?)\s+\S")
_DEFINITION = re.compile(
    r"^(?P<article>The |A |An )?(?P<term>[`*\w][\w `*./-]{1,60}?) (?P<verb>is|are|means|refers to|stands for) (?P<rest>.{8,})$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"(\[])")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_VERB_PREFIX = {"is": "checks whether", "has": "checks whether it has", "can": "checks whether it can",
                "to": "converts to", "on": "handles", "handle": "handles", "do": "does", "get": "returns",
                "set": "sets", "init": "initialises", "new": "creates a new", "make": "makes", "build": "builds"}
_VERBS = set("""accept add allow append apply assert assign authenticate authorize book build calculate call cancel
check clean clear close collect compare compute configure connect convert copy count create decode delete deserialize
dispatch download drain emit encode enqueue ensure enrich escalate evaluate execute expire export extract fail fetch
fill filter find finish flush format generate group handle hash import increment index init insert list load lock
log login logout lookup map mark match merge migrate move normalize notify open pad parse patch pick poll pop
post prepare print process publish pull push put query queue read rebuild receive reconcile record refresh register
reject release reload remove render replace replay report request reset resolve restart restore retry return
rotate route run save scan schedule score search select send serialize serve set setup sign skip sort split start
stop store stream submit subscribe sum sync tag test track transform trigger try undo unlock unmatch update upload
upsert use validate verify visit wait walk watch wrap write""".split())
_GENERIC_HEADINGS = {"procedure", "steps", "instructions", "usage", "how to", "process", "what to do", "checklist"}
_NOT_A_TERM = {"its", "it", "this", "that", "these", "those", "there", "here", "your", "our", "my", "their", "his", "her",
               "each", "every", "we", "you", "they", "he", "she", "which", "what", "who", "if", "when", "all", "one", "why", "how", "where"}
_COMMENT = re.compile(r"^\s*(?:#|//|/\*+|\*|--)\s?(.*?)\s*(?:\*/)?$")


def prose(text: str) -> str:
    """Text without fenced code and heading markers: what sentences are taken from."""
    text = _FENCE_BLOCK.sub(" ", text)
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def sentences(text: str) -> list[str]:
    """Sentences of the prose, one list item or line of a paragraph joined into one string."""
    out = []
    for para in re.split(r"\n\s*\n", prose(text)):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if not lines or all(_STEP.match(ln) for ln in lines):
            continue
        out.extend(s.strip() for s in _SENTENCE_END.split(" ".join(lines)) if len(s.split()) >= 4)
    return out


def _clean_heading(heading: str) -> str:
    return re.sub(r"^[#\d.\s]+", "", heading).strip(" :`*").strip()


def _steps(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in prose(text).split("\n")]
    steps = [ln.strip() for ln in lines if _STEP.match(ln)]
    return steps if len(steps) >= 2 else []


def _procedure_question(heading: str) -> str:
    """A question a numbered list answers: "Rotate the key" -> "How do I rotate the key?"."""
    h = re.sub(r"^(?:runbook|how ?to|guide|procedure|playbook)\s*:\s*", "", heading.rstrip("?.").strip(), flags=re.I)
    low = h[0].lower() + h[1:] if h else h
    first, _, rest = low.partition(" ")
    if low.startswith("how to "):
        return f"How do I {low[7:]}?"
    if first in _VERBS:
        return f"How do I {low}?"
    stem = first[:-3] if first.endswith("ing") else ""
    verb = next((v for v in (stem, stem + "e", stem[:-1]) if v in _VERBS), None) if stem else None
    if verb:  # "Starting the stack" -> "How do I start the stack?"
        return f"How do I {verb} {rest}?".replace(" ?", "?")
    if first.endswith("s") and not first.endswith("ss") and " " not in low:
        return f"What are the {low}?"
    return f"What are the steps for {low}?"


class HeuristicGenerator:
    """Generator protocol, offline: see the module docstring for the rules."""

    name = "heuristic"
    version = "1"

    def __init__(self, cfg: GeneratorConfig | None = None):
        self.cfg = cfg or GeneratorConfig()

    def questions(self, chunks: Sequence[Chunk]) -> list[list[QAPair]]:
        return [self._chunk_questions(c)[: self.cfg.questions_per_chunk] for c in chunks]

    def _chunk_questions(self, chunk: Chunk) -> list[QAPair]:
        text = chunk["text"]
        heads = [_clean_heading(h) for h in chunk.get("heading_path") or [] if _clean_heading(h)]
        heading = heads[-1] if heads else ""
        sents = sentences(text)
        pairs: list[QAPair] = []
        steps = _steps(text)
        if steps and heading:
            # "Procedure" or "Steps" says nothing: name the parent section instead.
            topic = heads[-2] if len(heads) > 1 and heading.lower() in _GENERIC_HEADINGS else heading
            pairs.append(QAPair(question=_procedure_question(topic), answer="\n".join(steps)))
        for s in sents:
            m = _DEFINITION.match(s)
            if m and not s.endswith("?") and len(m.group("term").split()) <= 6 and m.group("term").split()[0].lower() not in _NOT_A_TERM:
                term = (m.group("article") or "").lower() + m.group("term").strip("`* ")
                verb = "are" if m.group("verb") == "are" else "is"
                q = f"What does {term} mean?" if m.group("verb") in ("means", "stands for") else f"What {verb} {term}?"
                pairs.append(QAPair(question=q, answer=s))
        if heading and sents:
            where = f" in {heads[0]}" if len(heads) > 1 else ""
            q = heading if heading.endswith("?") else f"What does the documentation say about {heading}{where}?"
            pairs.append(QAPair(question=q, answer=" ".join(sents[:2])))
        seen, out = set(), []
        for p in pairs:
            if p["question"].lower() not in seen:
                seen.add(p["question"].lower())
                out.append(p)
        return out

    def summaries(self, units: Sequence[dict]) -> list[str | None]:
        return [self._summary(u) for u in units]

    def _summary(self, unit: dict) -> str | None:
        qualified = unit.get("name") or ""
        short = qualified.rsplit(".", 1)[-1].rsplit("::", 1)[-1]
        words = [w.lower() for w in _WORDS.findall(short)]
        if not words:
            return None
        kind = unit.get("kind") or "function"
        lang = unit.get("language") or ""
        if kind == "class":
            first = f"`{qualified}` is a {lang} class representing {_article(words[0])} {' '.join(words)}."
        else:
            owner = qualified.rsplit(".", 1)[0] if "." in qualified else ""
            of = f" of `{owner}`" if owner and kind == "method" else ""
            if owner and owner.rsplit(".", 1)[-1] in (short, "__init__") or short in ("__init__", "constructor", "new"):
                first = f"`{qualified}` is the {lang} constructor of `{owner or short}`."
            else:
                first = f"`{qualified}` is a {lang} {kind}{of} that {_action(words)}."
        parts = [first]
        params = _parameters(unit.get("signature") or "")
        if params:
            parts.append(f"It takes {_join(params)}.")
        ret = _return_type(unit.get("signature") or "")
        if ret:
            parts.append(f"It returns `{ret}`.")
        comments = _comments(unit.get("text") or "")
        if comments:
            parts.append(" ".join(comments))
        return " ".join(parts)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _action(words: list[str]) -> str:
    """What a function named like `words` does: "parse_config" -> "parses config",
    "overdueCount" -> "works out the overdue count" (no verb in the name: say so plainly)."""
    head, rest = words[0], " ".join(words[1:])
    if head in _VERB_PREFIX:
        return f"{_VERB_PREFIX[head]} {rest}".strip()
    if head in _VERBS:
        return f"{_third_person(head)} {rest}".strip()
    return f"works with the {' '.join(words)}"


def _third_person(verb: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _join(items: list[str]) -> str:
    items = [f"`{i}`" for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _parameters(signature: str) -> list[str]:
    """Parameter names from a declaration in any C-like or Python-like language."""
    m = re.search(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)", signature)
    if not m:
        return []
    names = []
    depth, current = 0, ""
    for ch in m.group(1) + ",":
        depth += ch in "<[{("
        depth -= ch in ">]})"
        if ch == "," and depth == 0:
            param = re.split(r"[=:]", current.strip(), maxsplit=1)[0].strip()
            tokens = re.findall(r"[A-Za-z_]\w*", param)
            if param.startswith(("&", "mut ")) or (tokens and tokens[0] in ("self", "cls", "this")):
                tokens = []
            if tokens:
                # Python/TS/Rust: name first (`x: int`); Go: `x int`; C/Java: type first (`int x`).
                name = tokens[0] if ":" in current or len(tokens) == 1 or signature.lstrip().startswith("func") else tokens[-1]
                names.append(name)
            current = ""
        else:
            current += ch
    return [n for n in names if n not in ("self", "cls", "this")][:6]


def _return_type(signature: str) -> str:
    m = re.search(r"\)\s*(?:->|:)\s*([\w.\[\], |<>&']+?)\s*[:{]?\s*$", signature.strip())
    return m.group(1).strip() if m and m.group(1).strip() not in ("None", "void") else ""


def _comments(text: str, limit: int = 2) -> list[str]:
    """The first comment lines inside a body, as sentences (the author's own explanation)."""
    out = []
    for line in text.split("\n")[1:]:
        m = _COMMENT.match(line)
        if m and len(m.group(1).split()) >= 3 and not m.group(1).startswith(("TODO", "FIXME", "noqa", "type:", "!")):
            sentence = m.group(1).strip()
            out.append(sentence[0].upper() + sentence[1:] + ("" if sentence.endswith(".") else "."))
            if len(out) >= limit:
                break
    return out
