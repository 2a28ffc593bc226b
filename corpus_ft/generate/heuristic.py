"""The offline generator: no model, deterministic.

Questions name what they are about (the product and the section) and come in several types
when the text supports them: how do I (a task heading over steps or code), what is (a
definition sentence), what is it for, what is the default, what happens when, and an
overview of the section. Answers are whole paragraphs or whole lists of the chunk, never a
clipped sentence. Code summaries come from the body (what it calls, raises, sets and
returns) and the author's comments; a unit whose body says nothing the name does not is
left without a summary (a model generator can write one) instead of restating its name.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence

from corpus_ft.generate import Chunk, GeneratorConfig, QAPair

_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*+]\s+\[?\d+\]?)\s+\S")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+•])\s+\S")
_DEFINITION = re.compile(
    r"^(?P<article>The |A |An )?(?P<term>[`\w][\w `./+-]{0,60}?) (?P<verb>is|are|means|refers to|stands for) "
    r"(?P<rest>(?:a|an|the|one|any|some|responsible|what|how|where|when)\b.{8,})$"
)
_PURPOSE = re.compile(
    r"^(?P<article>The |A |An )?(?P<term>[`\w][\w `./+-]{0,60}?) "
    r"(?:is|are) (?:used (?:to|for)|useful (?:for|when)|meant (?:to|for)|designed (?:to|for)|there to)\b.{8,}$"
    r"|^(?P<article2>The |A |An )?(?P<term2>[`\w][\w `./+-]{0,60}?) (?:lets you|allows you to|helps you|enables you to|makes it easy to)\b.{8,}$"
)
_DEFAULT = re.compile(
    r"(?P<subj>`[^`]{2,60}`)(?: (?:setting|option|parameter|argument|flag|value|key|variable))? (?:defaults to|is `?[^ ]+`? by default|is set to .{1,40} by default)"
    r"|[Tt]he default (?:value )?(?:for|of) (?P<subj2>`[^`]{2,60}`|[A-Z_]{3,}) is"
    r"|^Default: (?P<value>.+)$"
)
_CONDITION = re.compile(r"^(?P<word>If|When|Unless) (?P<clause>[^,;:]{12,120}), (?P<rest>.{12,})$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"(\[])")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_VERB_PREFIX = {
    "is": "checks whether",
    "has": "checks whether it has",
    "can": "checks whether it can",
    "to": "converts to",
    "on": "handles",
    "handle": "handles",
    "do": "does",
    "get": "returns",
    "set": "sets",
    "init": "initialises",
    "new": "creates a new",
    "make": "makes",
    "build": "builds",
}
_VERBS = set(
    """accept add allow append apply assert assign authenticate authorize book build calculate call cancel
check clean clear close collect compare compute configure connect convert copy count create decode delete deserialize
dispatch download drain emit encode enqueue ensure enrich escalate evaluate execute expire export extract fail fetch
fill filter find finish flush format generate group handle hash import increment index init insert install list load
lock log login logout lookup map mark match merge migrate move normalize notify open pad parse patch pick poll pop
post prepare print process publish pull push put query queue read rebuild receive reconcile record refresh register
reject release reload remove render replace replay report request reset resolve restart restore retry return
rotate route run save scan schedule score search select send serialize serve set setup sign skip sort split start
stop store stream submit subscribe sum sync tag test track transform trigger try undo unlock unmatch update upload
upsert use validate verify visit wait walk watch wrap write deploy debug define design develop enable disable
manage organize organise structure customize customise extend define work handle write""".split()
)
_PLAIN_VERBS = {
    "add",
    "remove",
    "get",
    "set",
    "create",
    "delete",
    "update",
    "insert",
    "put",
    "make",
    "build",
    "send",
    "load",
    "save",
    "read",
    "write",
    "parse",
    "find",
    "fetch",
    "run",
    "handle",
    "check",
}
_GENERIC_HEADINGS = {
    "procedure",
    "steps",
    "instructions",
    "usage",
    "how to",
    "process",
    "what to do",
    "checklist",
    "example",
    "examples",
    "overview",
    "introduction",
    "details",
    "notes",
    "note",
    "summary",
    "basics",
    "background",
    "reference",
    "api",
    "contents",
    "table of contents",
    "quickstart",
    "answer",
    "question",
    "problem",
    "solution",
    "description",
    "resolution",
    "tip",
    "tips",
    "warning",
    "caveats",
    "discussion",
    "more",
    "misc",
    "other",
}
_NOT_A_TERM = {
    "its",
    "it",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "your",
    "our",
    "my",
    "their",
    "his",
    "her",
    "each",
    "every",
    "we",
    "you",
    "they",
    "he",
    "she",
    "which",
    "what",
    "who",
    "if",
    "when",
    "all",
    "one",
    "why",
    "how",
    "where",
    "result",
    "following",
    "above",
    "below",
    "same",
    "other",
    "next",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "former",
    "latter",
    "previous",
    "final",
    "last",
    "idea",
    "trick",
    "question",
    "common",
    "simple",
    "simplest",
    "typical",
    "usual",
    "common question",
    "answer",
    "reason",
    "problem",
    "solution",
    "point",
    "thing",
    "goal",
    "difference",
    "downside",
    "upside",
    "catch",
    "rule",
    "case",
    "way",
    "good",
    "bad",
    "easiest",
    "best",
    "main",
    "only",
    "important",
    "default",
    "output",
    "code",
    "example",
    "call",
    "function",
    "value",
    "name",
    "file",
    "line",
    "method",
    "class",
    "object",
    "type",
    "variable",
    "request",
    "response",
}
_DETERMINERS = {"a", "an", "the", "to", "your", "with", "from", "for", "on", "in", "into", "up", "out", "down", "off"}
_CLAUSE_WORDS = {
    "that",
    "which",
    "who",
    "whom",
    "believe",
    "believes",
    "think",
    "thinks",
    "say",
    "says",
    "said",
    "know",
    "knows",
    "hope",
    "feel",
    "feels",
    "recommend",
    "recommends",
    "suggest",
    "suggests",
}
_ASKS = re.compile(
    r"^(?:what|why|how|when|where|which|who|whose|is|are|can|could|does|do|did|should|will|would|may|must|"
    r"has|have)\b",
    re.I,
)
_PROPER = {
    "Python",
    "GitHub",
    "Git",
    "Linux",
    "Windows",
    "Docker",
    "Kubernetes",
    "Redis",
    "PostgreSQL",
    "Django",
    "Flask",
    "Celery",
    "Jinja",
    "OAuth",
    "JSON",
    "YAML",
    "HTTP",
    "HTTPS",
    "SSL",
    "TLS",
    "SQL",
    "CLI",
    "API",
}
_ADVERBS = {
    "also",
    "now",
    "only",
    "still",
    "then",
    "just",
    "even",
    "already",
    "currently",
    "usually",
    "always",
    "often",
    "never",
    "typically",
    "additionally",
    "instead",
    "therefore",
    "thus",
}
_CONTINUES = re.compile(
    r"^(?:for other|other |also|however|similarly|in addition|additionally|alternatively|otherwise|"
    r"or |but |and |it is also|you can also|you may also|you might also|this |these |that |those |it |they |then |instead|"
    r"finally|likewise|as (?:such|well|a result)|in this case|in that case|after that|for example|for instance|"
    r"you might have noticed|now,? |next,? |so )",
    re.I,
)
_PRONOUN_START = re.compile(r"^(?:it|this|that|these|those|they|he|she|we|such|so|then|also|both|either)\b", re.I)
_IDENTIFIER = re.compile(
    r"\w[_.]\w|\(\)"
)  # config_file, flask.g, run(): code names (CamelCase may be a brand: BlackSheep)
# Words that are verbs and nouns alike: a Title Case heading opening with one names a thing ("Request Files")
_NOUN_VERBS = {
    "request",
    "test",
    "debug",
    "log",
    "index",
    "record",
    "report",
    "query",
    "stream",
    "lock",
    "map",
    "hash",
    "match",
    "patch",
    "post",
    "queue",
    "route",
    "schedule",
    "score",
    "search",
    "sign",
    "sort",
    "store",
    "tag",
    "track",
    "watch",
    "work",
    "wrap",
    "import",
    "export",
    "list",
    "filter",
    "format",
    "group",
    "process",
    "call",
    "check",
    "lookup",
    "release",
    "reload",
    "scan",
    "sync",
    "upload",
    "download",
    "design",
    "return",
}
# A lone generic noun is no subject ("The property is a string-like object ...")
_GENERIC_NOUNS = {
    "property",
    "attribute",
    "parameter",
    "argument",
    "option",
    "setting",
    "field",
    "key",
    "instance",
    "component",
    "module",
    "package",
    "library",
    "tool",
    "feature",
    "approach",
    "method",
    "function",
    "result",
    "values",
    "data",
    "system",
    "process",
    "command",
}
_PREPOSITIONS = {
    "by",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "after",
    "before",
    "during",
    "since",
    "as",
    "once",
    "unlike",
    "like",
    "under",
    "over",
    "without",
    "within",
    "per",
    "via",
    "besides",
    "apart",
}
# An answer that opens like this leans on text before it ("It also includes ...", "But then you ...")
_DEPENDENT = re.compile(
    r"^(?:\.\.\.|…|(?:it|its|this|that|these|those|they|them|their|such|so|then|also|but|and|or|"
    r"however|instead|otherwise|here|there you|the above|the same|let's (?:say|imagine|see)|imagine)\b)",
    re.I,
)
# A paragraph that only points elsewhere ("In a future section you will see ...") answers nothing
_POINTER = re.compile(
    r"\b(?:in an? (?:future|later|previous|next|other) (?:section|chapter|page)|(?:check|see|read)(?: out)? "
    r"the [^.`]{0,80}\b(?:section|docs|documentation|guide|tutorial|intro|introduction|part)\b|please refer to|in the next (?:\w+ )?sections?|you (?:will|'ll) (?:see|learn) "
    r"(?:how|more|about)|(?:more|read) (?:about|on) (?:it|this|that) (?:in|at))",
    re.I,
)
_VERSION_NOTE = re.compile(
    r"^(?:New in version|Changed in version|Deprecated since version)\b"
)  # history, not an overview
_SIDE_NOTE = re.compile(r"^(?:Tip|Note|Info|Hint|Warning|Caution|Important|Technical Details|Check):", re.I)
_SUBJECT_STOP = _DETERMINERS | {
    "and",
    "or",
    "of",
    "how",
    "what",
    "why",
    "when",
    "using",
    "use",
    "about",
    "behind",
    "via",
    "vs",
    "versus",
    "new",
    "more",
    "some",
    "other",
    "is",
    "are",
    "do",
    "does",
    "can",
    "i",
}
_COMMENT = re.compile(r"^\s*(?:#|//|/\*+|\*|--)\s?(.*?)\s*(?:\*/)?$")
_MAX_ANSWER = 900  # characters of whole paragraphs before an answer stops adding the next one


def prose(text: str) -> str:
    """Prose text (a chunk's blocks other than code) without heading lines: what sentences are taken from."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def chunk_blocks(chunk: Chunk) -> list[dict]:
    """The blocks ingest parsed that a chunk holds, headings aside; a chunk written by hand is one paragraph."""
    found = chunk.get("blocks") or [{"type": "paragraph", "text": chunk["text"], "shown": chunk["text"]}]
    return [b for b in found if b["type"] not in ("heading", "front_matter")]


def paragraphs(text: str) -> list[str]:
    """Prose paragraphs of cleaned text: a list keeps its line breaks, other lines are joined."""
    out = []
    for para in re.split(r"\n\s*\n", prose(text)):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if not lines or _looks_like_code(lines):
            continue  # code the parser left unfenced is not prose to quote or ask about
        if _ITEM.match(lines[0]):
            items: list[str] = []
            for ln in lines:
                if _ITEM.match(ln) or not items:
                    items.append(ln)
                else:
                    items[-1] += " " + ln
            out.append("\n".join(items))
        else:
            out.append(" ".join(lines))
    return out


_CODE_LINE = re.compile(
    r"^(?:@[\w.]+|def |class |import |from \S+ import |return\b|raise |yield |async |await |>>> |\.\.\. |\$ |"
    r"[\w.\[\]'\"]+\s*[+\-*/]?=\s*\S|[\w.]+\(.*\)\s*$|[{}\[\]()]+,?$|(?:if|for|while|with|try|else|elif|except)\b.*:$)"
)


def _looks_like_code(lines: list[str]) -> bool:
    """Two or more lines, most of them statements: code without a fence around it."""
    return len(lines) >= 2 and sum(bool(_CODE_LINE.match(ln)) for ln in lines) >= 0.6 * len(lines)


def sentences(text: str) -> list[str]:
    """Sentences of the prose (lists left out), one paragraph's lines joined into one string."""
    out = []
    for para in paragraphs(text):
        if _ITEM.match(para):
            continue
        out.extend(s.strip() for s in _SENTENCE_END.split(para) if len(s.split()) >= 4)
    return out


def _clean_heading(heading: str) -> str:
    """A heading as a question can name it: no numbering or markup, code spans balanced."""
    h = re.sub(r"^[#\d.\s]+", "", heading).strip(" :*").strip()
    return h.replace("`", "") if h.count("`") % 2 else h


def _steps(text: str) -> list[str]:
    steps = [p for p in paragraphs(text) if _STEP.match(p)]
    lines = [ln for p in steps for ln in p.split("\n")]
    return lines if len(lines) >= 2 else []


def _lower_first(text: str) -> str:
    """ "Restart the worker" -> "restart the worker"; an acronym ("API keys") keeps its capitals."""
    return text[0].lower() + text[1:] if text and not text[:2].isupper() else text


def _title_case(text: str) -> bool:
    return sum(w[:1].isupper() for w in text.split()[1:]) >= 1


def _task(heading: str, product: str = "") -> str | None:
    """The task a heading names, as "do X" ("Installing Flask" -> "install Flask"), or None."""
    h = re.sub(r"^(?:runbook|how ?to|guide|procedure|playbook)\s*:\s*", "", heading.rstrip("?.").strip(), flags=re.I)
    words = h.split()
    if len(words) > 1 and all(w[:1].isupper() or w.lower() in _DETERMINERS | {"and", "of", "or"} for w in words):
        # Title Case: "Submitting Code" -> "submitting code", keeping names ("Flask") and acronyms ("API")
        h = " ".join(w if w == product or w.isupper() or not w.isalpha() or w in _PROPER else w.lower() for w in words)
    low = _lower_first(h)
    first, _, rest = low.partition(" ")
    if re.search(r"\b(?:it|them|this|these|those|that|everything|all)\b", low, re.I):
        return None  # "Put them together" needs the page to say what "them" is
    if low.lower().startswith("how to "):
        return low[7:]
    if not rest:
        return None
    second = rest.split()[0]
    # "Rotate the key", "Deploy to Production", "Install Flask" - but not "Debug Mode" (a noun phrase)
    object_ok = second.islower() or second.lower() in _DETERMINERS or second == product or second.startswith("`")
    titled = len(words) > 1 and all(
        w[:1].isupper() for w in words if w.lower() not in _DETERMINERS | {"and", "of", "or"}
    )
    if titled and first in _NOUN_VERBS and second.lower() not in _DETERMINERS:
        return None  # "Request Files", "Debug Mode", "Test Isolation": a noun phrase, not an order
    if first in _VERBS and object_ok:
        return low
    verb = _infinitive(first)
    if verb:  # "Starting the stack" -> "start the stack"
        m = re.match(r"and (\w+ing)\b(.*)$", rest)
        if m and _infinitive(m.group(1)):  # "Setting and disabling timeouts" -> "set and disable timeouts"
            rest = f"and {_infinitive(m.group(1))}{m.group(2)}"
        elif m:
            return None  # "Testing and Linting": "test and linting" is no task
        rest = re.sub(r"^of ", "", rest)  # "Merging of configuration" -> "merge configuration"
        return f"{verb} {rest}".strip()
    return None


def _infinitive(gerund: str) -> str | None:
    """ "starting" -> "start", "merging" -> "merge", "setting" -> "set"; None for other words."""
    if not gerund.endswith("ing"):
        return None
    stem = gerund[:-3]
    return next((v for v in (stem, stem + "e", stem[:-1]) if v in _VERBS), None)


def _procedure_question(heading: str, product: str = "") -> str:
    """A question a numbered list answers: "Rotate the key" -> "How do I rotate the key?"."""
    heading = re.sub(r"^(?:the )?steps (?:for|to) ", "", heading.strip(), flags=re.I)  # "Steps for Submitting Code"
    task = _task(heading, product)
    if task:
        return f"How do I {task}?"
    heading = heading.rstrip("?.").strip()
    low = heading if _title_case(heading) else _lower_first(heading)
    if low.endswith("s") and not low.endswith("ss") and " " not in low:
        return f"What are the {low}?"
    return f"What are the steps for {low}?"


def _names(text: str, term: str) -> bool:
    """Whether `term` names something on its own (a code name, a proper noun, or the text's own words)."""
    return "`" in term or any(w[:1].isupper() for w in term.split()) or term.lower() in text.lower()


class _Context:
    """What a chunk is about: product, document title and section, for questions that stand alone."""

    def __init__(self, chunk: Chunk):
        self.heads = [h for h in (_clean_heading(h) for h in chunk.get("heading_path") or []) if h]
        self.product = (chunk.get("product") or "").strip()
        specific = [h for h in self.heads if h.lower() not in _GENERIC_HEADINGS]
        self.leaf = self.heads[-1] if self.heads else ""
        self.topic = specific[-1] if specific else ""
        self.title = self.heads[0] if self.heads else ""

    def mentions(self, text: str) -> bool:
        low = text.lower()
        return bool(self.product) and self.product.lower() in low

    def suffix(self, question: str, *, section: bool = False) -> str:
        """` in Flask` (or ` in Flask's Configuration Handling`) when the question does not name it yet."""
        parts = []
        if self.product and not self.mentions(question):
            parts.append(self.product)
        if section and self.topic and self.topic.lower() not in question.lower():
            where = f"the {self.topic} section"
            parts = [f"{parts[0]}'s {self.topic}" if parts else where]
        return f" in {parts[0]}" if parts else ""

    def part_of_product(self, term: str) -> bool:
        """Whether `term` is a piece of the product (an API name, or named after it) rather than a
        thing of the wider world (Docker, Gunicorn, "WSGI applications") that the docs mention."""
        t = term.strip()
        if "`" in t or _IDENTIFIER.search(t) or (self.product and self.product.lower() in t.lower()):
            return True
        words = t.split()
        # a name of its own (Gunicorn, WSGI applications, Docker, Quickstart) is a thing of the wider world;
        # a common noun phrase in the product's docs ("the billing service") is a part of the product
        return not (
            any(w[:1].isupper() for w in words[1:])
            or any(w.isupper() and len(w) > 1 for w in words)
            or (len(words) == 1 and words[0][:1].isupper())
        )

    def about(self) -> str:
        """`Configuration Handling > Debug Mode` as a readable subject, or ''."""
        if not self.topic:
            return ""
        parent = next(
            (
                h
                for h in reversed(self.heads[:-1])
                if h.lower() not in _GENERIC_HEADINGS and h != self.topic and h.lower() != self.product.lower()
            ),
            "",
        )
        topic, parent = self.topic.rstrip("?"), parent.rstrip("?")
        return f"{topic} ({parent})" if parent and self.topic == self.leaf else topic


def blocks(found: list[dict]) -> list[str]:
    """A chunk's blocks as answers quote them: prose paragraphs (lists whole) and code in its fence, in order."""
    out: list[str] = []
    for b in found:
        if b["type"] == "code":
            out.append(b.get("shown") or b["text"])
        else:
            out.extend(paragraphs(b["text"]))
    return [b for b in out if b]


def _code_list(block: str) -> bool:
    """A list whose every item is only a code span (`- `def __init__(url, **kwargs)``): an API
    listing, not prose that says what the section is about."""
    lines = block.split("\n")
    return _ITEM.match(block) is not None and all(
        re.match(r"^\s*(?:[-*+•]|\d+[.)])\s+`[^`]+`[\s.,;]*$", ln) for ln in lines
    )


def _pointer_only(block: str) -> bool:
    """A short paragraph whose point is elsewhere: "In a future section you will see how to ...",
    "If you need a refresher, check the FastAPI tutorial section: ..."."""
    return bool(_POINTER.search(block)) and len(_SENTENCE_END.split(block)) <= 2


def dependent(block: str) -> bool:
    """True when a block cannot open an answer: it refers to text before it ("It also ...", "For other
    encodings ...", "Then you can ...") or is code."""
    return block.startswith(("```", "~~~")) or bool(_CONTINUES.match(block) or _DEPENDENT.match(block))


def _stem(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)] + repl
    return w


def on_subject(subject: str, answer: str, product: str = "") -> bool:
    """Whether the answer is about the subject a heading names: one of the subject's content words
    (stemmed; "factories" ~ "factory", "Proxies" ~ "proxying") appears in it. A subject made only of
    generic words (or the product's name) asks nothing to check."""
    words = {
        _stem(w)
        for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", subject)
        if w.lower() not in _SUBJECT_STOP and w.lower() != product.lower() and w.lower() not in _GENERIC_HEADINGS
    }
    if not words:
        return True
    said = {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", answer)}
    return any(w == v or (len(w) >= 5 and len(v) >= 5 and w[:5] == v[:5]) for w in words for v in said)


def _answer_from(parts: list[str], start: int, sentence: str | None = None, take_code: bool = False) -> str:
    """Whole blocks from `start` (from `sentence` on when the first one is long): a paragraph that
    ends with ':' takes the list or code after it (a how-to answer takes the code after it anyway),
    up to about _MAX_ANSWER characters. An opening that leans on what comes before ("It also ...")
    reaches back to the paragraph it leans on; with none in the chunk the answer is '' (no pair)."""
    first = parts[start]
    if sentence and len(first) > _MAX_ANSWER and sentence in first:
        first = first[first.index(sentence) :]
    back = start
    while dependent(first) and back > 0:
        back -= 1
        first = "\n\n".join(parts[back : start + 1])
    if dependent(first) or len(first) > 2 * _MAX_ANSWER:
        return ""
    out = [first]
    for part in parts[start + 1 :]:
        code_next = take_code and len(out) == 1 and part.startswith(("```", "~~~"))
        if not (out[-1].rstrip().endswith(":") or code_next) or len("\n\n".join(out)) + len(part) > 2 * _MAX_ANSWER:
            break
        out.append(part)  # "the steps are:" is answered by the list (or code) after it
    while len(out) > 1 and out[-1].rstrip().endswith(":"):
        out.pop()
    return "\n\n".join(out)


class HeuristicGenerator:
    """Generator protocol, offline: see the module docstring for the rules."""

    name = "heuristic"
    version = "2"

    def __init__(self, cfg: GeneratorConfig | None = None):
        self.cfg = cfg or GeneratorConfig()
        self.thin: set[str] = set()  # units whose body facts were too thin to summarise

    def questions(self, chunks: Sequence[Chunk]) -> list[list[QAPair]]:
        return [self._chunk_questions(c)[: self.cfg.questions_per_chunk] for c in chunks]

    def _chunk_questions(self, chunk: Chunk) -> list[QAPair]:
        ctx = _Context(chunk)
        found = chunk_blocks(chunk)
        parts = blocks(found)
        text = "\n\n".join(parts)
        paras = paragraphs("\n\n".join(b["text"] for b in found if b["type"] != "code"))
        pairs: list[QAPair] = []
        steps = _steps(text)
        has_code = any(b["type"] == "code" for b in found)
        topic = ctx.leaf if ctx.leaf.lower() not in _GENERIC_HEADINGS else ctx.topic
        if topic and len(topic.split()) == 1 and len(ctx.heads) > 1:
            parent = next((h for h in reversed(ctx.heads[:-1]) if h.lower() not in _GENERIC_HEADINGS), "")
            topic = f"{topic} {parent}".strip()  # "Installing" under "Waitress" -> "Installing Waitress"
        prose_words = sum(len(p.split()) for p in paras if not _ITEM.match(p))
        if topic and (steps or (has_code and _task(topic, ctx.product) and prose_words >= 12)):
            q = _procedure_question(topic, ctx.product)
            answer = "\n".join(steps) if steps else _how_answer(parts)
            code = {b.get("shown") or b["text"] for b in found if b["type"] == "code"}
            told = sum(
                len(p.split()) for p in parts if p in answer and p not in code
            )  # "Check it:" over code says nothing
            borrowed = (
                ctx.leaf.lower() in _GENERIC_HEADINGS
            )  # the subject is an ancestor's ("Dockerfile" over "Quickstart")
            if (not borrowed or on_subject(topic, answer, ctx.product)) and (steps or told >= 8):
                pairs.append(QAPair(question=q[:-1] + ctx.suffix(q) + "?", answer=answer))
        for i, para in enumerate(parts):
            if _ITEM.match(para) or para.startswith(("```", "~~~")):
                continue
            for s in _SENTENCE_END.split(para):
                q = _sentence_question(s.strip(), text, ctx)
                if q:
                    pairs.append(
                        QAPair(question=q, answer=_answer_from(parts, i, s.strip(), take_code=q.startswith("How do I")))
                    )
        # an overview starts where the section does, not at "For other encodings ..." or "It is also ..."
        prose_at = [
            i
            for i, p in enumerate(parts)
            if len(p.split()) >= 12
            and not p.startswith(("```", "~~~"))
            and not dependent(p)
            and not p.rstrip().endswith("?")
        ]  # a question does not answer one
        # the section's own prose before a side note ("Tip: ..."); a paragraph that only points elsewhere is no answer
        prose_at = sorted(
            (
                i
                for i in prose_at
                if not _pointer_only(parts[i]) and not _VERSION_NOTE.match(parts[i]) and not _code_list(parts[i])
            ),
            key=lambda i: bool(_SIDE_NOTE.match(parts[i])),
        )
        if ctx.leaf and prose_at and not chunk.get("continued"):
            q = ctx.leaf if ctx.leaf.endswith("?") and _ASKS.match(ctx.leaf) else None  # "Encoded Data?" is a label
            if q:
                q = q[:-1] + ctx.suffix(q) + "?"
            elif ctx.topic:
                who = (
                    f"the {ctx.product} documentation"
                    if ctx.product
                    else f"the {ctx.title} guide"
                    if ctx.title and ctx.title != ctx.topic
                    else "the documentation"
                )
                q = f"What does {who} say about {ctx.about()}?"
            if q:
                first = parts[prose_at[0]]
                answer = _answer_from(parts, prose_at[0], take_code=len(first.split()) < 40)
                # a section's own first paragraph is about its heading; one under a generic heading
                # ("Quickstart") must be about the ancestor the question names ("Dockerfile"), not uv.lock
                if ctx.topic == ctx.leaf or on_subject(ctx.topic, answer, ctx.product):
                    pairs.append(QAPair(question=q, answer=answer))
        seen, out = set(), []
        for p in pairs:
            key = p["question"].lower()
            if not p["answer"].strip() or p["answer"].rstrip().endswith(":"):
                continue  # "... you can access them:" with the code in the next chunk is half an answer
            if key not in seen and _PRONOUN_START.match(p["question"].split(" ", 2)[-1]) is None:
                seen.add(key)
                out.append(p)
        return out

    def summaries(self, units: Sequence[dict]) -> list[str | None]:
        return [self._summary(u) for u in units]

    def _summary(self, unit: dict) -> str | None:
        """What the body says beyond the name; None when it says nothing more (left to a model)."""
        qualified = unit.get("name") or ""
        short = qualified.rsplit(".", 1)[-1].rsplit("::", 1)[-1]
        words = [w.lower() for w in _WORDS.findall(short)]
        if not words:
            return None
        facts = body_facts(unit)
        # a class's first comment belongs to one of its methods' lines, not to the class
        comments = _comments(unit.get("text") or "") if unit.get("kind") != "class" else []
        if thin(facts) and not comments:
            if facts:
                self.thin.add(unit.get("id") or qualified)  # counted as `thin_summary` by the dataset stage
            return None
        kind = unit.get("kind") or "function"
        lead = f"`{qualified}`"
        if (
            kind != "class"
            and (words[0] in _VERBS or words[0] in _VERB_PREFIX)
            and len(words) > 1
            and not any(w in _PLAIN_VERBS for w in words[1:])
        ):  # "copy_add_param" is not "copies add param"
            lead += f" {_action(words)}"
        sentences_ = [
            lead + (f": it {facts}." if facts and lead != f"`{qualified}`" else f" {facts}." if facts else ".")
        ]
        if comments:
            sentences_.append(" ".join(comments))
        return " ".join(sentences_)


def _how_answer(parts: list[str]) -> str:
    """A task section's prose and code, whole blocks in order, up to about twice _MAX_ANSWER characters,
    from its first paragraph that stands alone ('' when every one leans on text before the chunk)."""
    out: list[str] = []
    start = next((i for i, b in enumerate(parts) if not dependent(b)), len(parts))
    for block in parts[start:]:
        if out and len("\n\n".join(out)) + len(block) > _MAX_ANSWER * 2:
            break
        out.append(block)
    while len(out) > 1 and out[-1].rstrip().endswith(":"):
        out.pop()
    return "\n\n".join(out)


def _term(m: re.Match, *groups: str) -> str:
    for g in groups:
        if m.groupdict().get(g):
            return m.group(g).strip()
    return ""


def _sentence_question(s: str, text: str, ctx: _Context) -> str | None:
    """A definition, purpose, default or condition question that the sentence's paragraph answers."""
    if s.endswith("?") or len(s.split()) < 5:
        return None
    m = _PURPOSE.match(s)
    if m:
        term = _term(m, "term", "term2")
        article = (m.group("article") or m.group("article2") or "").lower()
        if _good_term(term, text, ctx):
            verb = "are" if re.search(rf"{re.escape(term)} are ", s) else "is"
            q = f"What {verb} {article}{term} for"
            return q + (ctx.suffix(q) if ctx.part_of_product(term) else "") + "?"
    m = _DEFINITION.match(s)
    if m:
        term, article = m.group("term").strip(), (m.group("article") or "").lower()
        if _good_term(term, text, ctx):
            verb = "are" if m.group("verb") == "are" else "is"
            subject = article + term
            q = f"What does {subject} mean" if m.group("verb") in ("means", "stands for") else f"What {verb} {subject}"
            return q + (ctx.suffix(q) if ctx.part_of_product(term) else "") + "?"
    m = _DEFAULT.search(s)
    if m:
        subj = m.group("subj") or m.group("subj2")
        if subj:
            q = f"What is the default of {subj}"
            return q + ctx.suffix(q) + "?"
        if m.group("value") and ctx.leaf and ctx.leaf.startswith("`"):
            q = f"What is the default of {ctx.leaf}"
            return q + ctx.suffix(q) + "?"
    m = _CONDITION.match(s)
    if m and not _PRONOUN_START.match(m.group("clause")) and ctx.topic:
        clause = m.group("clause").strip()
        want = re.match(r"you (?:want|need|wish|would like|'d like) to (.+)$", clause)
        if want and m.group("word") != "Unless":
            if re.search(r"\b(?:this|these|those|it|them|that|such|above|below)\b", want.group(1), re.I):
                return None  # "If you want to use any of these forms ..." needs the page
            if re.search(
                r"\b(?:you|we|one)\s+(?:should|can|could|must|will|may|might|need|have|would)\b", want.group(1)
            ):
                return None  # "When you need to ask ... you should normally use ...": the comma came late
            q = f"How do I {want.group(1)}"
            return q + ctx.suffix(q) + "?"
        if re.match(r"(?:you|you're|your|you've|you'd|we|we're|our|one)\b", clause, re.I) or m.group(
            "rest"
        ).lstrip().startswith(("`", "or ", "and ", "and/or")):
            return None  # about the reader, not the product: "If your question is short, ..."
        if re.search(r"\b(?:this|that|these|those|above|below|it|they|them)\b", clause, re.I):
            return None
        if re.search(
            r"\b(?:things?|stuff|everything|something|anything|great|nice|difficult|easy|hard|fine)\b", clause, re.I
        ):
            return None  # "when things are great": nothing to ask about
        where = ctx.product or ctx.about()
        section = (
            f" ({ctx.topic})"
            if ctx.product and len(clause.split()) < 7 and ctx.topic.lower() not in clause.lower()
            else ""
        )
        return f"In {where}, what happens {m.group('word').lower()} {clause}{section}?"
    return None


def _good_term(term: str, text: str, ctx: _Context | None = None) -> bool:
    words = term.strip("` ").split()
    if any(w.lower() in _CLAUSE_WORDS for w in words):
        return False  # "The maintainers believe that Requests is ...": a clause, not a term
    if ctx is not None and ctx.product and term.strip("` ").lower() == ctx.product.lower() and len(ctx.heads) > 1:
        return False  # "Requests allows you to override User-Agent" deep in a FAQ is not what Requests is for
    if not words or len(words) > 6 or words[0].lower() in _NOT_A_TERM or words[-1].lower() in _NOT_A_TERM:
        return False
    if words[0].lower() in _PREPOSITIONS or (len(words) == 1 and words[0].lower() in _GENERIC_NOUNS):
        return False  # "By default the certifi CA bundle is used ...": an adverbial, not the subject
    if words[-1].lower() in _ADVERBS:
        return False  # "HTTPX also allows you to ...": the subject is "HTTPX", not "HTTPX also"
    if (
        len(words) >= 2
        and words[0].lower().endswith("ing")
        and words[0].lower() not in ("string", "thing", "ring")
        and words[1].lower() in _DETERMINERS
    ):
        return False  # "Inspecting the connection `scope` ...": an activity, not a thing to define
    if "`" not in term and len(words) >= 3 and (words[0].lower().endswith("ing") or words[0].lower() in _VERBS):
        return False  # "Writing tests lets you ...": an activity, not a thing to define
    if len(words) == 1 and words[0].islower() and "`" not in term and len(words[0]) < 4:
        return False
    return _names(text, term)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _action(words: list[str]) -> str:
    """What a function named like `words` does: "parse_config" -> "parses config"."""
    head, rest = words[0], " ".join(words[1:])
    if head in _VERB_PREFIX:
        return f"{_VERB_PREFIX[head]} {rest}".strip()
    return f"{_third_person(head)} {rest}".strip()


def _third_person(verb: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_BORING_CALLS = set(
    """len isinstance str int list dict set tuple print getattr hasattr setattr super range enumerate zip
sorted min max any all type repr bool float iter next id hash format callable issubclass reversed map filter vars
append extend get items keys values pop update add join split strip startswith endswith lower upper replace
cast t.cast typing.cast t.TYPE_CHECKING""".split()
)
_NOT_CALLS = {
    "if",
    "for",
    "while",
    "switch",
    "return",
    "catch",
    "function",
    "func",
    "new",
    "sizeof",
    "typeof",
    "match",
    "elif",
    "else",
    "assert",
    "await",
    "yield",
    "throw",
    "raise",
    "defer",
    "go",
    "try",
    "with",
    "not",
    "and",
    "or",
}


_NOISE_CALL = re.compile(
    r"^(?:[\w.]*\b(?:logger|log|logging|_log|LOG)\.(?:debug|info|warning|warn|error|exception|critical|"
    r"log|trace)|warnings\.warn|click\.style|os\.getpid|time\.(?:time|monotonic|perf_counter))$"
)
_CONSTANTS = {
    "True",
    "False",
    "None",
    "''",
    '""',
    "b''",
    'b""',
    "0",
    "1",
    "-1",
    "[]",
    "{}",
    "()",
    "true",
    "false",
    "nil",
    "null",
}


def thin(facts: str) -> bool:
    """Facts that teach nothing a glance at the code does not: one thing named at most and nothing
    raised ("returns `self._x`", "sets `self.url`", "calls `self._close()`", "returns a dict",
    "defines `__init__()`", a class that subclasses a base and declares one field). Such a unit is
    left to a model generator rather than summarised."""
    named = re.sub(r"^subclasses (?:`[^`]+`(?:, | and )?)+", "", facts)  # the base is in the first line already
    names = [n for n in re.findall(r"`([^`]+)`", named) if n not in _CONSTANTS]  # "returns `False` and `True`"
    return not facts or (len(names) <= 1 and not re.search(r"\b(?:raises|throws)\b", facts))


def body_facts(unit: dict) -> str:
    """ "calls `x()` and `y()`, sets `self.z`, raises `E` and returns `v`" from the body, or ''."""
    text = unit.get("text") or ""
    if (unit.get("language") or "") == "python":
        facts = _python_facts(text, unit.get("kind") == "class")
        if facts is not None:
            return facts
    return _text_facts(text, (unit.get("name") or "").rsplit(".", 1)[-1])


def _python_facts(text: str, is_class: bool) -> str | None:
    try:
        tree = ast.parse(textwrap.dedent(text))
    except SyntaxError:
        return None
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))), None)
    if node is None:
        return None
    if isinstance(node, ast.ClassDef):
        bases = [ast.unparse(b) for b in node.bases if ast.unparse(b) not in ("object", "t.Generic")][:2]
        methods = [
            n.name
            for n in node.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (not n.name.startswith("_") or n.name in ("__init__", "__call__"))
        ]
        fields = [n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
        parts = []
        if bases:
            parts.append(f"subclasses {_join([f'`{b}`' for b in bases])}")
        if fields:
            parts.append(f"declares {_join([f'`{f}`' for f in fields[:6]])}")
        if methods:
            parts.append(f"defines {_join([f'`{m}()`' for m in methods[:6]])}")
        return _sentence_join(parts) if (methods or fields) else ""
    calls, raises, sets, returns, yielded, logs = [], [], [], [], [], []
    yields = False

    def visit(n: ast.AST) -> None:
        nonlocal yields
        for child in ast.iter_child_nodes(n):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Call):
                name = ast.unparse(child.func)
                if _NOISE_CALL.match(name):  # logging and styling say nothing of what it does; its message may
                    arg = child.args[0] if child.args else None
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and 12 <= len(arg.value) <= 90
                        and "%" not in arg.value
                        and "{" not in arg.value
                        and not logs
                    ):
                        logs.append(arg.value.strip())
                elif (
                    len(name) <= 40
                    and name not in _BORING_CALLS
                    and name.rsplit(".", 1)[-1] not in _BORING_CALLS
                    and "(" not in name
                    and name not in calls
                ):
                    calls.append(name)
            elif isinstance(child, ast.Raise) and child.exc is not None:
                exc = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                name = ast.unparse(exc)
                if len(name) <= 40 and name not in raises:
                    raises.append(name)
            elif isinstance(child, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for t in targets:
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and ast.unparse(t).startswith(("self.", "cls.")):
                        name = ast.unparse(t)
                        if len(name) <= 40 and name not in sets:
                            sets.append(name)
            elif isinstance(child, ast.Return) and child.value is not None:
                value = _value(child.value)
                if value not in ("`None`", "`self`") and value not in returns:
                    returns.append(value)
            elif isinstance(child, (ast.Yield, ast.YieldFrom)):
                yields = True
                if child.value is not None and _value(child.value) not in yielded:
                    yielded.append(_value(child.value))
            visit(child)

    for statement in node.body:  # the body only: defaults (`typer.Option()`) and decorators are not what it does
        visit(ast.Module(body=[statement], type_ignores=[]))
    # `raise E(...)` is a raise and `return f(x)` a return: each is named once, where it says most
    calls = [
        c
        for c in calls
        if c not in raises and not any(r.startswith((f"`{c}(", f"the result of `{c}(")) for r in returns)
    ]
    parts = []
    if calls:
        parts.append(f"calls {_join([f'`{c}()`' for c in calls[:4]])}")
    if sets:
        parts.append(f"sets {_join([f'`{s}`' for s in sets[:3]])}")
    if raises:
        parts.append(f"raises {_join([f'`{r}`' for r in raises[:3]])}")
    if yields:
        parts.append(f"yields {_join(yielded[:2])}" if yielded else "is a generator")
    if returns:
        parts.append(f"returns {_join(returns[:2])}")
    if logs and parts:
        parts.append(f"logs “{logs[0].rstrip('.')}”")
    return _sentence_join(parts)


def _value(node: ast.expr) -> str:
    """A returned or yielded value as a reader would name it: the code when short, else its shape."""
    code = ast.unparse(node)
    if len(code) <= 50:
        return f"`{code}`"
    if isinstance(node, ast.Call):
        return f"the result of `{ast.unparse(node.func)}(...)`"
    shapes = {
        ast.ListComp: "a list",
        ast.List: "a list",
        ast.DictComp: "a dict",
        ast.Dict: "a dict",
        ast.SetComp: "a set",
        ast.GeneratorExp: "a generator",
        ast.Tuple: "a tuple",
        ast.JoinedStr: "an f-string",
    }
    return next((v for k, v in shapes.items() if isinstance(node, k)), "a computed value")


def _sentence_join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1] if parts else ""


def _text_facts(text: str, own_name: str) -> str:
    """The same facts for languages without a parser here: regexes over the body."""
    body = text.split("{", 1)[1] if "{" in text else "\n".join(text.split("\n")[1:])
    body = re.sub(r"//[^\n]*|/\*.*?\*/|#[^\n]*", "", body, flags=re.S)
    body = re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`", '""', body)
    calls = []
    for m in re.finditer(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\s*\(", body):
        name = m.group(1)
        last = name.rsplit(".", 1)[-1]
        if name in _NOT_CALLS or last in _BORING_CALLS or last == own_name or name in calls or len(name) > 40:
            continue
        before = body[max(0, m.start() - 12) : m.start()]
        if re.search(r"\b(?:new|func|function|fn|def|class)\s*$", before):
            continue
        calls.append(name)
    raises = list(dict.fromkeys(re.findall(r"\bthrow\s+new\s+([A-Z]\w*)|\braise\s+([A-Z]\w*)", body)))
    raises = [a or b for a, b in raises]
    returns = [
        r.strip()
        for r in re.findall(r"\breturn\s+([^;\n{}]{1,50});?\s*$", body, re.M)
        if r.strip() not in ("nil", "null", "None", "this", "self", "err", "true", "false", "")
    ]
    calls = [c for c in calls if c not in raises and not any(r.startswith(c + "(") for r in returns)]
    parts = []
    if calls:
        parts.append(f"calls {_join([f'`{c}()`' for c in calls[:4]])}")
    if raises:
        parts.append(f"throws {_join([f'`{r}`' for r in raises[:3]])}")
    if returns:
        parts.append(f"returns {_join([f'`{r}`' for r in list(dict.fromkeys(returns))[:2]])}")
    return _sentence_join(parts)


def _comments(text: str, limit: int = 2) -> list[str]:
    """The first comments inside a body, as sentences (the author's own explanation); a comment
    that runs over several lines is read as one text, so no sentence is cut at a line end."""
    blocks: list[list[str]] = []
    previous = False
    for line in text.split("\n")[1:]:
        m = _COMMENT.match(line)
        body = m.group(1).lstrip(": ").strip() if m else ""  # `#: doc` attribute comments
        keep = bool(
            m
            and body
            and not body.startswith(
                (
                    "TODO",
                    "FIXME",
                    "noqa",
                    "type:",
                    "!",
                    "pragma",
                    "Args",
                    "Arguments",
                    "Returns",
                    "Raises",
                    "Parameters",
                    "mypy",
                    "pyright",
                    "fmt:",
                )
            )
        )
        if keep and previous:
            blocks[-1].append(body)
        elif keep:
            blocks.append([body])
        previous = keep
    out: list[str] = []
    for block in blocks:
        joined = " ".join(block)
        for sentence in _SENTENCE_END.split(joined):
            sentence = sentence.strip()
            if len(sentence.split()) < 5:
                continue
            out.append(sentence[0].upper() + sentence[1:] + ("" if sentence.endswith((".", "!", "?")) else "."))
            if len(out) >= limit:
                return out
        if out:
            return out  # the first comment that says something; later ones are about later lines
    return out
