"""The offline generator: no model, deterministic.

Questions name what they are about (the product and the section) and come in several types
when the text supports them: how do I (a task heading over steps or code), what is (a
definition sentence), what is it for, what is the default, what happens when, and an
overview of the section. Answers are whole paragraphs or whole lists of the chunk, never a
clipped sentence. It writes no code summaries: those come from doc comments (read by ingest)
or from a model generator, never from a list of what the body calls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpus_ft.generate import Chunk, GeneratorConfig, QAPair

_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*+]\s+(?:\[\d+\]|\d+[.)]))\s+\S")  # "- 100 \"continue\"" is a list of values
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
manage organize organise structure customize customise extend define work handle write make access modify""".split()
)
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
    "getting started",
    "quick start",
    "user guide",
    "guide",
    "documentation",
}
# Words that name no subject on their own: a heading made only of them ("Common function", "More details",
# "General usage") asks nothing until a parent heading says what it is about.
_VAGUE_WORDS = _GENERIC_HEADINGS | {
    "common",
    "function",
    "functions",
    "general",
    "simple",
    "basic",
    "miscellaneous",
    "others",
    "things",
    "stuff",
    "sample",
    "samples",
    "intro",
    "demo",
    "features",
    "information",
    "info",
    "example",
    "examples",
    "usage",
    "use",
    "getting",
    "started",
    "quick",
    "start",
    "guide",
    "the",
    "a",
    "an",
    "and",
    "of",
    "more",
    "to",
    "with",
    "for",
    "in",
    "on",
    "by",
    "from",
}
# The last word of a heading that labels the kind of text, not its subject ("Collections Examples",
# "HTTP2 guide"): the subject is what comes before it.
_LABEL_PREFIX = re.compile(r"^(?:examples?|sample|demo|hello(?:,? world)?)\s*:?\s+", re.I)  # "Example kubectl plugin"
_LABEL_SUFFIX = re.compile(r"\s+(?:examples?|samples?|guide|demo|tutorial|walkthrough)$", re.I)
# A heading that announces a change ("Redirect Changes", "HTTP errors update"): it says what changed, it
# names no task to ask "How do I ..." about.
_CHANGE_NOTE = re.compile(
    r"\b(?:changes?|updates?|updated|removals?|removed|deprecations?|deprecated|breaking|replacements?|replaced)$"
    r"|^(?:removal|deprecation|replacement)s? of\b|^changes? (?:to|in)\b",
    re.I,
)


def vague_heading(heading: str, product: str = "") -> bool:
    """A heading that makes no subject of its own: only vague words, or a shell command ("$ pip install x")."""
    if heading.lstrip().startswith(("$", ">>>")):
        return True
    words = [w.lower().strip("`:()*") for w in heading.split() if w.lower() != product.lower()]
    return all(w in _VAGUE_WORDS for w in words if w)


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
# A page of symptoms and their fixes.
_TROUBLESHOOTING = re.compile(r"troubleshoot|\bfaq\b|common (?:problems|issues|errors|pitfalls)|known issues", re.I)
# A heading that is a code name or call signature: "app.listen(...)", "ctx.throw([status], [msg])", "request.query=".
_SIGNATURE = re.compile(r"`?(?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?P<args>\(.*\))?(?P<set>\s*=)?`?")
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
    r"the [^.`]{0,80}\b(?:section|docs|documentation|document|guide|tutorial|intro|introduction|part)\b|please refer to|in the next (?:\w+ )?sections?|you (?:will|'ll) (?:see|learn) "
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
        # Title Case: "Submitting Code" -> "submitting code", keeping names ("Kubernetes") and acronyms ("API")
        h = " ".join(
            w
            if w == product or w.isupper() or not w.isalpha() or w in _PROPER or re.search(r".[A-Z]", w)
            else w.lower()
            for w in words
        )  # "Using ProxyAgent" keeps the code name's capitals
    low = _lower_first(h)
    first, _, rest = low.partition(" ")
    if re.search(r"\b(?:it|them|this|these|those|that|everything|all)\b", low, re.I):
        return None  # "Put them together" needs the page to say what "them" is
    if low.lower().startswith("how to "):
        return low[7:]
    if not rest:
        return None
    second = rest.split()[0]
    # "Rotate the key", "Deploy to Production", "Install Redis" - but not "Debug Mode" (a noun phrase)
    object_ok = (
        second.islower()
        or second.lower() in _DETERMINERS
        or second in (product, *_PROPER)
        or second.isupper()  # "Integrate Celery", "Enable CORS"
        or second.startswith("`")
    )
    titled = len(words) > 1 and all(
        w[:1].isupper() for w in words if w.lower() not in _DETERMINERS | {"and", "of", "or"}
    )
    if titled and first in _NOUN_VERBS and second.lower() not in _DETERMINERS:
        return None  # "Request Files", "Debug Mode", "Test Isolation": a noun phrase, not an order
    if (first in _VERBS or first in _HOWTO_VERBS) and object_ok:
        return low
    verb = _infinitive(first)
    if verb:  # "Starting the stack" -> "start the stack"
        m = re.match(r"and (\w+ing)\b(.*)$", rest)
        if m and _infinitive(m.group(1)):  # "Setting and disabling timeouts" -> "set and disable timeouts"
            rest = f"and {_infinitive(m.group(1))}{m.group(2)}"
        elif m or rest.startswith(("and ", "or ")):
            return None  # "Testing and Linting", "Hashing and Mutability": a verb and a noun make no task
        rest = re.sub(r"^of ", "", rest)  # "Merging of configuration" -> "merge configuration"
        return f"{verb} {rest}".strip()
    return None


def _as_asker(task: str) -> str:
    """A task as the user asks it: "update your code" -> "update my code"."""
    return re.sub(r"\byour\b", "my", re.sub(r"\byourself\b", "myself", task))


def _infinitive(gerund: str) -> str | None:
    """ "starting" -> "start", "merging" -> "merge", "setting" -> "set"; None for other words."""
    if not gerund.endswith("ing"):
        return None
    stem = gerund[:-3]
    return next((v for v in (stem, stem + "e", stem[:-1]) if v in _VERBS), None)


def _procedure_question(heading: str, product: str = "") -> str | None:
    """A question a numbered list answers: "Rotate the key" -> "How do I rotate the key?"."""
    heading = re.sub(r"^(?:the )?steps (?:for|to) ", "", heading.strip(), flags=re.I)  # "Steps for Submitting Code"
    heading = _LABEL_SUFFIX.sub("", heading) or heading  # "Upgrading Guide" -> "Upgrading"
    task = _task(heading, product)
    if task:
        return f"How do I {_as_asker(task)}?"
    heading = heading.rstrip("?.").strip()
    if ":" in heading.replace("::", "") or (product and product.lower() in heading.lower()):
        return None  # "foo: Java HTML Parser" is a title, not a procedure; the product is named by the suffix
    if vague_heading(heading, product) or _TROUBLESHOOTING.search(heading) or not noun_phrase(heading):
        return None  # "FAQ", "Examples": no task whose steps these are
    low = _plain_words(heading, product)
    if low.endswith("s") and not low.endswith("ss") and " " not in low:
        return f"What are the {low}?"
    head = low.split()[-1].lower()
    if not (re.search(r"(?:ing|tion|sion|ment|ance|ure)$", head) or head in _ACTIVITY_NOUNS):
        return None  # "Simple packages", "Best practices", `parseJson`: a numbered list is no steps *for* a thing
    return f"What are the steps for {_with_article(low)}?"


# Nouns that name an activity, so "the steps for X" reads ("the steps for a release").
_ACTIVITY_NOUNS = {
    "setup",
    "install",
    "upgrade",
    "release",
    "build",
    "workflow",
    "process",
    "deploy",
    "migration",
    "update",
}


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

    def subject(self) -> str:
        """The heading a section's overview question asks about: its own, or for a heading that names no
        subject ("Examples", "Notes", "$ pip install x") the nearest ancestor's; '' when none has one."""
        for i, h in enumerate(reversed(self.heads)):
            h = h.rstrip("?").strip()
            if i == 0 and self.product and h.lower() == self.product.lower():
                return h  # the product's own title section: "What is X?"
            if (
                h
                and h.lower() not in _GENERIC_HEADINGS
                and not vague_heading(h, self.product)
                and not _LABEL_ONLY.match(h)
            ):
                return h
        return ""

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
        if vague_heading(topic, self.product):  # "Overview (Authentication)"; a shell command is no subject at all
            keep = parent and not vague_heading(parent, self.product) and not topic.startswith(("$", ">>>"))
            return f"{topic} ({parent})" if keep else ""
        if self.topic != self.leaf and self.product and topic.lower() == self.product.lower():
            return ""  # "Getting started" under the product's title: no subject the section is about
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
    writes_code_summaries = False  # code summaries come from doc comments or from a model generator

    def __init__(self, cfg: GeneratorConfig | None = None):
        self.cfg = cfg or GeneratorConfig()

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
        if topic and len(topic.split()) == 1 and len(ctx.heads) > 1 and topic.lower().endswith("ing"):
            parent = next((h for h in reversed(ctx.heads[:-1]) if h.lower() not in _GENERIC_HEADINGS), "")
            if parent and not _task(parent, ctx.product) and parent.split()[0].lower() not in _VERBS:
                topic = f"{topic} {parent}".strip()  # "Installing" under "Waitress" -> "Installing Waitress"
            # (not "Debugging" under "Specify dynamic completion": a task under a task makes no object)
        prose_words = sum(len(p.split()) for p in paras if not _ITEM.match(p))
        covered: set[str] = set()  # answers a how-to or a question of the source already gives
        overviews: set[str] = set()  # questions a whole section answers (one sentence of it does not)
        asked = (chunk.get("question") or "").strip()
        if asked and not chunk.get("continued"):  # a FAQ page's title or front matter asks it as written
            answer = _how_answer(parts, from_code=True)
            if answer and not _one_sentence_intro(answer, parts):
                pairs.append(QAPair(question=asked, answer=answer))
                covered.add(answer)
        q = _procedure_question(topic, ctx.product) if topic else None
        if q and (steps or (has_code and _task(topic, ctx.product) and prose_words >= 12)):
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
                covered.add(answer)
        if topic and not covered and _mostly_code(parts) and not chunk.get("continued"):
            # a section that is mostly code shows how to do what its heading names: prose and code answer it
            q = _code_question(topic, ctx.product)
            answer = _how_answer(parts, from_code=True)
            if q and _holds_code(answer):
                pairs.append(QAPair(question=q[:-1] + ctx.suffix(q) + "?", answer=answer))
                covered.add(answer)
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
        if ctx.leaf and ctx.leaf.endswith("?") and _ASKS.match(ctx.leaf) and not chunk.get("continued") and not asked:
            # a heading that asks a question ("How do I reset a key?") is answered by its whole section
            q = ctx.leaf[:-1] + ctx.suffix(ctx.leaf) + "?"
            answer = _how_answer(parts, from_code=True)
            if answer and answer not in covered and not one_sentence(answer):  # one sentence points, not answers
                pairs.append(QAPair(question=q, answer=answer))
                covered.add(answer)
        elif ctx.leaf and prose_at and not chunk.get("continued"):
            subject = ctx.subject()
            q = _overview_question(subject, ctx) if subject else None  # "Encoded Data?" is a label, not a question
            if q:
                q = q[:-1] + ctx.suffix(q) + "?"
                overviews.add(q)
                # the overview's answer is the section from its first paragraph that stands alone, whole
                # blocks with their lists and code, never only the sentence that introduces them
                answer = _whole_answer(parts, prose_at[0])
                if any(p.startswith(("```", "~~~")) for p in parts[: prose_at[0]]):
                    answer = ""  # prose after the section's code comments on it ("note how we ..."): no overview
                # a section's own first paragraph is about its heading; one under a generic heading
                # ("Quickstart") must be about the ancestor the question names ("Dockerfile"), not uv.lock
                if (
                    answer not in covered
                    and not one_sentence(answer)  # an overview of one sentence introduces, it does not answer
                    and (subject == ctx.leaf or on_subject(subject, answer, ctx.product))
                ):
                    pairs.append(QAPair(question=q, answer=answer))
        seen, out = set(), []
        for p in pairs:
            key = p["question"].lower()
            p = QAPair(question=p["question"], answer=standalone(p["answer"], parts))
            if not p["answer"].strip() or p["answer"].rstrip().endswith(":"):
                continue  # "... you can access them:" with the code in the next chunk is half an answer
            if p["question"] in overviews and one_sentence(p["answer"]):
                continue  # an overview is not answered by the one sentence left of an introduction
            if key not in seen and _PRONOUN_START.match(p["question"].split(" ", 2)[-1]) is None:
                seen.add(key)
                out.append(p)
        return out

    def summaries(self, units: Sequence[dict]) -> list[str | None]:
        """None for every unit: without a model, a summary would be a list of what the body calls.
        The dataset stage takes summaries from doc comments and counts the rest as needing a model."""
        return [None] * len(units)


def _how_answer(parts: list[str], from_code: bool = False) -> str:
    """A task section's prose and code, whole blocks in order, up to about twice _MAX_ANSWER characters,
    from its first paragraph that stands alone ('' when every one leans on text before the chunk);
    `from_code`: a code block may open the answer too (a section that is mostly code)."""
    start = next(
        (i for i, b in enumerate(parts) if not dependent(b) or (from_code and b.startswith(("```", "~~~")))),
        len(parts),
    )
    return _whole_answer(parts, start)


def _whole_answer(parts: list[str], start: int) -> str:
    """Blocks from `start` in order, prose, lists and code alike, cut on a block boundary at about twice
    _MAX_ANSWER characters: an answer is the section, not its first sentence."""
    out: list[str] = []
    for block in parts[start:]:
        if out and len("\n\n".join(out)) + len(block) > _MAX_ANSWER * 2:
            break
        out.append(block)
    while len(out) > 1 and out[-1].rstrip().endswith(":"):
        out.pop()
    return "\n\n".join(out)


# The end of an answer that points at what comes next ("... like the following:", "Here is an example.",
# "Keep reading for details.", "```…``` or"): without the thing it points to, the answer does not stand alone.
_POINTS_ON = re.compile(
    r"(?:\bthe following\b[^.]*|\bas follows\b[^.]*|\bbelow\b[^.]*|^(?:here (?:is|are)|here's)\b[^.]*|"
    r"\bkeep reading\b[^.]*|\bfor (?:example|instance),?|\be\.g\.,?|\blike so\b|\bsuch as\b|"
    r"^there are (?:two|three|four|several|a few|\d+) (?:\w+ )?(?:ways|approaches|options|methods)\b[^.]*|"
    r"\b(?:under|the|a|an|of|to|for|with|by|from|at|in|on|see)(?=\s*$)|"
    r"\b(?:or|and|but)\b|:)\s*[.:]?\s*$",
    re.I,
)
# "Here is an example ..." anywhere in the last sentence (run together with the one before it: "elements.Here").
_EXAMPLE_NEXT = re.compile(r"\bhere (?:is|are) (?:an? )?(?:\w+ )?(?:example|snippet|sample)s?\b", re.I)
# An answer's own prose that leans on text before the answer ("The above ...", "as shown above").
_LEANS_BACK = re.compile(
    r"\b(?:the above|as above|(?:shown|mentioned|described|listed|defined|seen|explained|given|discussed) (?:further |earlier )?above|"
    r"above (?:example|code|snippet|section|command|steps?|list|table)|(?:code|example|snippet|command) above)\b",
    re.I,
)


def _last_sentence(block: str) -> tuple[str, str]:
    """(the block without its last sentence, the last sentence) of a prose block."""
    found = _SENTENCE_END.split(block.strip())
    return " ".join(found[:-1]).strip(), found[-1].strip()


def points_on(block: str) -> bool:
    """A prose block whose last sentence introduces what follows it ("... as follows:", "Here is an example.")."""
    if block.startswith(("```", "~~~")):
        return False
    last = re.sub(r"^\s*(?:\d+[.)]|[-*+•])\s+", "", block.split("\n")[-1])  # a list's last item
    return bool(_POINTS_ON.search(_last_sentence(last)[1]) or _EXAMPLE_NEXT.search(_last_sentence(last)[1]))


# An answer that talks about the page instead of the subject ("This page provides an overview of ...").
_ABOUT_THE_PAGE = re.compile(
    r"\bthis (?:page|part of the documentation|section|document|guide|chapter|tutorial) (?:is|provides|describes|"
    r"covers|explains|shows|contains|will|lists|gives)\b",
    re.I,
)
# Text ingest writes where an API reference is generated from docstrings: it stands for text the answer lacks.
_AUTODOC = "generated from its docstrings (autodoc)"


# An answer's first sentence that refers to something before it: "above", or "this approach" / "that method"
# (what the approach is, the text before the answer said).
OPENS_BACK = re.compile(
    r"\babove\b|\b(?:this|that|these|those) (?:approach|approaches|method|pattern|technique|solution|way|example|"
    r"snippet|setup|version|option)\b",
    re.I,
)


def leans_back(answer: str) -> bool:
    """The answer's prose before its first code or list refers to something above the answer."""
    first = answer.strip().split("\n\n", 1)[0]
    if OPENS_BACK.search(_SENTENCE_END.split(first, 1)[0]) and not first.startswith(("```", "~~~")):
        return True  # "You may recognize this from the help above.", "The upside of this approach is ..."
    for block in answer.split("\n\n"):
        if block.startswith(("```", "~~~")) or _ITEM.match(block):
            return False
        if _LEANS_BACK.search(block):
            return True
    return False


def _step_without_its_code(answer: str) -> bool:
    """A numbered step that ends with ':' followed by the next step or nothing: what it introduced is missing
    (a bullet ending with ':' over bullets is a list with its sub-list, whole)."""
    lines = [ln for ln in answer.split("\n") if ln.strip()]
    for i, ln in enumerate(lines):
        if re.match(r"^\s*\d+[.)]\s", ln) and ln.rstrip().endswith(":"):
            if i + 1 == len(lines) or re.match(r"^\s*\d+[.)]\s", lines[i + 1]):
                return True
    return False


def standalone(answer: str, parts: list[str]) -> str:
    """The answer made to stand alone, or '': one that ends by pointing forward takes the blocks after it
    (code included) up to the size limit, else loses the pointing sentence; one that leans on "the above"
    or opens with a list item that continues another ("- Or, ...") is dropped."""
    blocks = [b for b in answer.split("\n\n") if b.strip()]
    if not blocks or leans_back(answer) or answer.count(_AUTODOC) >= 2:
        return ""
    if len(_SENTENCE_END.split(" ".join(answer.split()))) <= 2 and _ABOUT_THE_PAGE.search(answer):
        return ""  # an introduction to the page, not an answer
    if not _holds_code(answer) and _step_without_its_code(answer):
        return ""  # "2. Update the middleware:" with the code it introduces left out
    first = blocks[0].split("\n")[0]
    if _ITEM.match(first) and _DEPENDENT.match(re.sub(r"^\s*(?:\d+[.)]|[-*+•])\s+", "", first)):
        return ""
    if re.match(r"^\s*(?:[2-9]|\d\d+)[.)]\s", first):
        return ""  # "2. Register ..." is the middle of a numbered list whose start is elsewhere
    last = blocks[-1]
    if not points_on(last):
        return answer
    at = next((i for i, p in enumerate(parts) if p.strip() == last.strip()), None)
    if at is not None:
        more = []
        for p in parts[at + 1 :]:
            if len("\n\n".join(blocks + more + [p])) > _MAX_ANSWER * 2 + _MAX_ANSWER // 2:
                break
            more.append(p)
            if not points_on(p):
                break
        if more and not points_on(more[-1]):
            return "\n\n".join(blocks + more)
    while blocks and points_on(blocks[-1]):
        if _ITEM.match(blocks[-1].split("\n")[-1]):
            return ""  # a list whose last item points at an example it lacks: no clean place to cut
        rest, _ = _last_sentence(blocks[-1])
        blocks = blocks[:-1] + ([rest] if rest and not rest.rstrip().endswith(":") else [])
    return "\n\n".join(blocks)


def _holds_code(answer: str) -> bool:
    """An answer built from a chunk's parts holds a code block: code parts are shown in their fence."""
    return any(ln.startswith(("```", "~~~")) for ln in answer.split("\n"))


def one_sentence(answer: str) -> bool:
    """An answer that is a single sentence of prose, without a list or code: too thin to teach a section."""
    if _holds_code(answer) or any(_ITEM.match(ln) for ln in answer.split("\n")):
        return False
    return len([s for s in _SENTENCE_END.split(" ".join(answer.split())) if s.strip()]) <= 1


def _one_sentence_intro(answer: str, parts: list[str]) -> bool:
    """One sentence where the section says more (it introduces what follows), or one that ends in ':'."""
    return one_sentence(answer) and (len(parts) > 1 or answer.rstrip().endswith(":"))


def _mostly_code(parts: list[str]) -> bool:
    """A section whose code blocks hold at least half its characters and one of them is a program or
    a shell session (an example-led how-to page; a JSON shape or a diagram shows, it does not do)."""
    from corpus_ft.redact import is_code_language

    fences = [b for b in parts if b.startswith(("```", "~~~"))]
    code = sum(len(b) for b in fences)
    tags = [b.lstrip("`~").split("\n", 1)[0].strip().split(" ")[0].strip("{}").lower() for b in fences]
    runnable = any(is_code_language(t) or t in _SHELL_TAGS for t in tags)
    return runnable and code >= 80 and code >= 0.5 * sum(len(b) for b in parts)


_SHELL_TAGS = {"sh", "bash", "shell", "console", "zsh", "powershell", "ps1", "bat", "cmd", "shell-session"}


def _clause(words: list[str]) -> bool:
    """A heading that is a sentence ("The `prefix` parameter is removed", "Consistency meets flexibility"),
    not a thing or a task: a verb of being or a third-person verb after its first word."""
    for w in (w.lower().strip("`,.") for w in words[1:]):
        if w in ("is", "are", "was", "were", "be", "been", "has", "have", "can", "will", "does", "do", "now"):
            return True
        if w.endswith("s") and not w.endswith("ss") and (w[:-1] in _VERBS or w[:-1] in _THIRD_PERSON_VERBS):
            return True
    return False


_THIRD_PERSON_VERBS = set(
    """meet accept support allow become take get make need work mean contain fail include declare throw
occur happen exist depend differ look break cause ignore require expect behave""".split()
)
# Verbs that lead task headings of code-led sections ("Bind Uri", "Skip logging") beside _VERBS.
_HOWTO_VERBS = set(
    """bind skip avoid redirect upload mount control serve customize limit specify provide change enforce
prevent override hide show combine constrain integrate implement require protect secure""".split()
)


def _code_question(topic: str, product: str = "") -> str | None:
    """The how-to a code-led section answers, from its heading: a task ("Bind the URI") as it is,
    a thing ("Parameters in path") as "How do I use parameters in path?"."""
    topic = _LABEL_PREFIX.sub("", _LABEL_SUFFIX.sub("", topic.strip()))
    if _CHANGE_NOTE.search(topic.rstrip("?.: ")) or vague_heading(topic, product):
        return None
    task = _task(topic, product)
    if task:
        return f"How do I {_as_asker(task)}?"
    h = topic.rstrip("?.: ").strip()
    if product and h.lower().startswith(product.lower() + " "):
        h = h[len(product) :].strip()  # "Acme Queries" -> "Queries" (not "acme.extend()" -> ".extend()")
    words = h.split()
    if not words or ":" in h or len(words) > 8 or _PRONOUN_START.match(h) or _clause(words):
        return None
    if "&" in words:
        return None  # "Route & Path Parsing" names two topics, not a task
    if re.search(r"\b(?:this|these|those|it|them)\b", h, re.I) or (words[0].lower().endswith("ing") and len(words) > 1):
        return None  # "Identifying this as the issue": needs the page; an unknown gerund is no thing to use
    low = " ".join(
        w if w == product or w in _PROPER or not w.isalpha() or any(c.isupper() for c in w[1:]) else w.lower()
        for w in words
    )
    if words[0].lower() in _VERBS | _HOWTO_VERBS:
        return f"How do I {low}?" if len(words) > 1 else None  # "Walk" alone says nothing of what is walked
    if len(words) == 1 and (_IDENTIFIER.search(h) or re.search(r"[a-z][A-Z]", h)) and "`" not in h:
        return f"How do I use `{h}`?"  # a code name: "PathFlag", "cli.App.Name"
    if not noun_phrase(h):
        return None  # "Path", "Database", "Providing help": "How do I use <it>?" does not read
    return f"How do I use {low}?"


# A heading that names no subject: a version ("v2.0.1", "Version 3"), a label of the kind of text.
_LABEL_ONLY = re.compile(r"^(?:v?\d+(?:\.[\dxX*]+)+\b.*|(?:version|release)\s+v?\d.*|examples?|notes?|see also)$", re.I)
_PREPOSITIONS = {"on", "in", "for", "with", "of", "from", "to", "by", "at", "via", "without", "into", "under"}
# One-word headings that name a task on the product ("Installation" -> "How do I install X?").
_TASK_NOUNS = {
    "installation": "install",
    "installing": "install",
    "install": "install",
    "setup": "set up",
    "configuration": "configure",
    "configuring": "configure",
    "deployment": "deploy",
    "deploying": "deploy",
    "upgrading": "upgrade",
    "migration": "migrate",
}


def _plain_words(text: str, product: str = "") -> str:
    """A Title Case heading as running text ("Request Context" -> "request context"), keeping names,
    acronyms and code ("API keys", "`flask.g`")."""
    return " ".join(
        w.lower()
        if _hyphenated_words(w) and w != product
        else w
        if w == product or w in _PROPER or not w.isalpha() or w.isupper() or any(c.isupper() for c in w[1:])
        else w.lower()
        for w in text.split()
    )


def _hyphenated_words(word: str) -> bool:
    """ "Built-in", "Single-Page": plain words joined by hyphens (not "Flask-SQLAlchemy", a name)."""
    parts = word.split("-")
    return len(parts) > 1 and all(p.isalpha() and p[1:].islower() for p in parts)


# Gerunds that name a field of work on their own ("How does logging work?"), though their verb is a task word.
_ING_FIELDS = set(
    """logging testing routing caching debugging streaming scheduling versioning packaging profiling
tracing formatting indexing hashing matching locking filtering sorting templating rendering
serialization""".split()
)
_NOT_GERUNDS = {"string", "thing", "ring", "spring", "king", "setting", "settings", "building", "ceiling", "something"}
# Endings of nouns that read without an article ("How does configuration work?"): abstract and mass nouns.
_MASS_END = re.compile(r"(?:tion|sion|ment|ity|ance|ence|ism|ure|age|cy|ness|ware|ogy|ics|ing|data|ity)$", re.I)
# Words a noun phrase does not open with: a preposition, a number or quantity, a question word, an adverb.
_NOT_PHRASE_START = _PREPOSITIONS | set(
    """one two three more most further other another some any all each every why when where what how
whether welcome a an not no beyond about across against along among around behind below beneath beside
between despite inside outside through toward towards until upon""".split()
)
# Words that make a heading a clause or a comparison, not the name of a thing.
_CLAUSE_MARKERS = {"that", "which", "who", "whose", "when", "if", "not", "vs", "versus", "than", "because", "while"}


_POINTING = {"this", "these", "those", "it", "them", "here", "there"}
_NOT_ADVERBS = {"apply", "reply", "supply", "family", "assembly", "anomaly", "monopoly", "butterfly", "only"}


def _plural(word: str) -> bool:
    """ "views", "APIs", "URLs": a plural noun (not "class", "status", "analysis", "CORS")."""
    w = word.strip("`*,")
    return bool(re.fullmatch(r"[A-Z]{2,}s", w)) or (
        w.endswith("s") and not w.endswith(("ss", "us", "is")) and not w.isupper() and len(w) > 2
    )


def _adverb(word: str) -> bool:
    """ "lazily", "externally": a manner adverb (six letters or more, ending in -ly)."""
    return len(word) >= 6 and word.endswith("ly") and word not in _NOT_ADVERBS


def _gerund(word: str) -> bool:
    w = word.lower().strip("`*")
    return w.endswith("ing") and len(w) > 5 and w not in _NOT_GERUNDS


def noun_phrase(phrase: str) -> bool:
    """Whether a heading reads as the name of one thing a user can ask "How does X work?" or "What are X?"
    about: not a gerund clause with an object ("Providing active help"), not a clause ("Values not
    present ..."), not opened by a preposition, number or adverb ("In code", "One template engine"), not
    two things joined ("Performance and scalability"), and a lone word that is a field, a mass noun, a
    plural, a name or code ("Logging", "Middleware", "Signals", "Jinja") rather than a bare count noun
    ("Tutorial", "Blog") or an adjective ("Advanced", "Declarative")."""
    words = [w.strip("`*,") for w in phrase.split()]
    low = [w.lower() for w in words]
    if not words or not all(low):
        return False
    if low[0] in _NOT_PHRASE_START or low[-1] in _PREPOSITIONS | _DETERMINERS | {"and", "or"}:
        return False
    if any(w in _CLAUSE_MARKERS or w in _ADVERBS or w in _POINTING for w in low) or _clause(words):
        return False  # "Address already in use", "Working with this document"
    joined = re.search(r"\b(?:and|or)\b", phrase)
    if joined and not all(_plural(w) for w in (phrase[: joined.start()].split() or [""])[-1:] + words[-1:]):
        return False  # two topics ("Performance and scalability"); two plurals read as one ("Views and models")
    if re.search(r"&|'s$|\s/\s|!$", phrase) or any(_adverb(w) for w in low):
        return False  # a possessive, an exclamation, "Lazily loading views"
    if re.search(r"(?<![\w/.-])[A-Za-z]{3,}/[A-Za-z]{3,}(?![\w/.-])", phrase):  # "Copy/Paste", "Before/After"
        return False
    if _gerund(words[0]) and len(words) > 1 and low[1] not in _PREPOSITIONS and low[0] not in _ING_FIELDS:
        return False  # "Binding externally", "Sharing state across ...": an activity with its object
    if len(words) > 1 and (
        low[-1].endswith("ly") or re.search(r"(?:ing|ed)$", low[-1]) and not _MASS_END.search(low[-1])
    ):
        return False  # "Binding externally", "Default values not present after deserialization"
    if len(words) == 1:
        w = words[0]
        if "`" in phrase or _IDENTIFIER.search(w) or re.search(r"[a-z][A-Z]|^[A-Z0-9]{2,}s?$", w):
            return True  # an acronym or code: "CORS", "`g`", "getJSON" (a capital first letter is only a heading's)
        if _gerund(w):
            return low[0] in _ING_FIELDS or _infinitive(low[0]) is None  # "Caching", not "Enabling"
        if re.search(r"(?:ive|al|ous|ful|able|ible|ed|ic)$", low[0]) and not _MASS_END.search(low[0]):
            return False  # "Advanced", "Declarative", "Tutorial": no thing of its own
        return bool(_MASS_END.search(low[0])) or (low[0].endswith("s") and not low[0].endswith("ss"))
    return True


def _with_article(phrase: str) -> str:
    """ "help command" -> "the help command": a singular count noun phrase takes "the"; a mass noun
    ("content security policy") or a plural reads without it. The head is the last word before a preposition."""
    words = phrase.split()
    head = words[next((i for i, w in enumerate(words) if i and w.lower() in _PREPOSITIONS), len(words)) - 1].strip("`")
    if phrase.lower().startswith(("the ", "a ", "an ")) or _MASS_END.search(head) or head.lower() in _ING_FIELDS:
        return phrase
    if head.isupper() or re.search(r".[A-Z]", head) or "`" in phrase.split()[0]:
        return phrase  # a name ("ASGI", "MongoDB") or code takes no article
    if head.endswith("s") and not head.endswith("ss"):
        return phrase
    return f"the {phrase}"


def _overview_question(heading: str, ctx: _Context) -> str | None:
    """The question a user asks that a section's prose answers, from its heading's shape: a task ("Define
    and collect hooks", "Installing X") -> "How do I ...?"; a code name -> "What does `name` do?"; a
    concept -> "What are ...?" / "How does ... work?"; None for a heading that is no subject (a sentence,
    a version, a colon title)."""
    product = ctx.product
    h = _LABEL_PREFIX.sub("", _LABEL_SUFFIX.sub("", heading.strip())).strip(" :?.")
    # "🔌 Middleware Ecosystem", "About Responses": an emoji or "About" is no part of the subject
    h = re.sub(r"^(?:[^\w`$]+|about\s+|welcome to\s+)", "", h, flags=re.I).strip()
    sig = _SIGNATURE.fullmatch(h)
    if sig and (sig.group("args") or sig.group("set") or re.search(r"[._]", sig.group("name"))):
        # an API heading ("app.listen(...)", "request.query=", "`ctx.state`") asks what the name does
        if sig.group("set"):
            return f"How do I set `{sig.group('name')}`?"
        return f"What does `{sig.group('name')}{'()' if sig.group('args') else ''}` do?"
    h = re.sub(r"\s+\([^)]*\)$", "", h).strip()  # "Hooks (advanced)": the parenthesis qualifies, it is no subject
    if product and h.lower().startswith(product.lower() + " "):
        h = h[len(product) + 1 :].strip()  # "Acme Queries" -> "Queries"
    if product and h.lower() == product.lower():
        return f"What is {product}?"
    words = h.split()
    if not words or _LABEL_ONLY.match(h) or _CHANGE_NOTE.search(h) or vague_heading(h, product):
        return None
    exception = re.match(r"`?\w+(?:Exception|Error)\b", h)
    if any(_TROUBLESHOOTING.search(a) for a in ctx.heads[:-1]) and (":" in h or _clause(words) or exception):
        # a symptom under a troubleshooting page: "`JsonIOException`: 'Abstract classes ...'",
        # "Custom type adapter is not used" -> how to fix it, what to do about it
        if exception:
            return f"How do I fix {h}?"
        symptom = _lower_first(re.sub(r"^(?:when(?:ever)?|if)\s+", "", h, flags=re.I))
        return f"What should I do if {symptom}?"
    if ":" in h.replace("::", "") or "&" in words or len(words) > 7 or _PRONOUN_START.match(h):
        return None
    if len(words) == 1 and h.lower() in _TASK_NOUNS:
        return f"How do I {_TASK_NOUNS[h.lower()]} {product}?".replace(" ?", "?")
    task = _task(h, product)
    if task:
        return f"How do I {_as_asker(task)}?"
    if _clause(words):
        return None  # "The `prefix` parameter is removed" is a sentence, not a subject
    code = re.fullmatch(r"`([^`]+)`(?:\s+(?:function|method|class|decorator|option|flag|parameter|attribute))?", h)
    if code or (len(words) == 1 and (_IDENTIFIER.search(h) or re.search(r"[a-z][A-Z]", h))):
        return f"What does `{code.group(1) if code else h}` do?"
    if len(words) == 1 and re.fullmatch(r"[a-z][a-z0-9_]*[a-z0-9]", h) and not _gerund(h) and not _plural(h):
        return f"What does `{h}` do?"  # a lowercase one-word heading is an option or function name ("timeout")
    if not noun_phrase(h):
        return None  # "Providing active help", "Performance and scalability", "Tutorial": no question reads well
    low = _plain_words(h, product)
    if re.match(r"(?:the )?(?:purpose|concept|idea|goal|role|notion|meaning|anatomy) of ", low, re.I):
        return f"What is {_with_article(low)}?"  # "Purpose of the context": what it is, not how it works
    # the head noun is the last word before a preposition ("Expansion On Windows" is singular)
    head = next((i for i, w in enumerate(words) if i and w.lower() in _PREPOSITIONS), len(words)) - 1
    last = words[head].lower()
    plural = (last.endswith("s") and not last.endswith(("ss", "us", "is")) and not words[head].isupper()) or bool(
        re.fullmatch(r"`?[A-Z]{2,}s`?", words[head])
    )  # "Hooks", "APIs", "Configuration basics"; not "CORS"
    if plural and "`" not in words[head]:
        return f"What are {low}?"
    return f"How does {_with_article(low)} work?"


def _condition_setting(topic: str, product: str, clause: str = "") -> str:
    """Where a condition holds, said in words, not glued on in parentheses: "Flask, when receiving JSON
    in views" (a task heading), "Flask's application discovery" (a thing), "Flask" (no subject)."""
    h = re.sub(r"\s+\([^)]*\)$", "", topic).strip(" :")
    if not h or ":" in h or vague_heading(h, product) or h.lower() == product.lower() or _clause(h.split()):
        return product
    first = h.split()[0].lower()
    if _infinitive(first) and not _gerund(clause.split()[0] if clause else ""):
        return (
            f"{product}, when {_plain_words(h, product)}"  # "Receiving JSON in Views" -> "when receiving JSON in views"
        )
    if _task(h, product) or _gerund(first) or re.search(r"\bof\b", h) or not noun_phrase(h) or h[:1].islower():
        # a task ("Define and collect hooks"), an activity, "Purpose of the context", an option name ("delay"):
        # "Acme's <heading>" does not read as a place, so the product alone says where
        return product
    return f"{product}'s {_plain_words(h, product)}"


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
        if clause.count("(") != clause.count(")") or re.search(r"\b(?:e\.g|i\.e|etc)\.?$", clause):
            return None  # a sentence split inside "(e.g. ...)": the clause is cut
        if re.match(rf"(?:not|{'|'.join(sorted(_PREPOSITIONS))}|{'|'.join(sorted(_PARTICIPLES))})\b", clause):
            return None  # "if not provided", "if for some reason ...", "when set to `false`": no subject of its own
        if re.search(r"\b(?:had|was|were|did)\b", clause) or re.match(
            r"(?:[a-z]+ed|instead|however|also|now|then|otherwise|still|so)\b", clause
        ):
            return None  # a story ("If the server had ...") or a clause without its subject ("If configured by ...")
        want = re.match(r"you (?:want|need|wish|would like|'d like) to (.+)$", clause)
        if want and m.group("word") != "Unless":
            if re.search(r"\b(?:this|these|those|it|them|that|such|above|below)\b", want.group(1), re.I):
                return None  # "If you want to use any of these forms ..." needs the page
            if re.search(
                r"\b(?:you|we|one)\s+(?:should|can|could|must|will|may|might|need|have|would)\b", want.group(1)
            ):
                return None  # "When you need to ask ... you should normally use ...": the comma came late
            task = _as_asker(re.sub(r"^be able to ", "", want.group(1)))
            verb, _, obj = task.partition(" ")
            if not obj or (" " not in obj and obj.isalpha() and obj.islower() and not noun_phrase(obj)):
                return None  # "If you want to use text, ...": a bare count noun ("text") names nothing to do
            q = f"How do I {task}"
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
        if ctx.product:  # "... when an error occurs in Acme": the question names the product once, up front
            clause = re.sub(rf"\s+(?:in|with|by) {re.escape(ctx.product)}$", "", clause) or clause
        if ctx.product and len(clause.split()) < 7 and ctx.topic.lower() not in clause.lower():
            where = _condition_setting(ctx.topic.rstrip("?"), ctx.product, clause)  # the section says where, in words
        return f"In {where}, what happens {m.group('word').lower()} {clause}?"
    return None


# Irregular past participles: a condition clause opening with one has no subject ("when set to `false`").
_PARTICIPLES = {
    "set",
    "built",
    "given",
    "made",
    "written",
    "shown",
    "done",
    "kept",
    "left",
    "sent",
    "found",
    "put",
    "run",
}


def _good_term(term: str, text: str, ctx: _Context | None = None) -> bool:
    words = term.strip("` ").split()
    if any(w.lower() in _CLAUSE_WORDS for w in words):
        return False  # "The maintainers believe that Acme is ...": a clause, not a term
    if ctx is not None and ctx.product and term.strip("` ").lower() == ctx.product.lower() and len(ctx.heads) > 1:
        return False  # "Acme allows you to override User-Agent" deep in a FAQ is not what Acme is for
    if not words or len(words) > 6 or words[0].lower() in _NOT_A_TERM or words[-1].lower() in _NOT_A_TERM:
        return False
    if words[0].lower() in _PREPOSITIONS or (len(words) == 1 and words[0].lower() in _GENERIC_NOUNS):
        return False  # "By default the certifi CA bundle is used ...": an adverbial, not the subject
    if words[-1].lower() in _ADVERBS:
        return False  # "<Product> also allows you to ...": the subject is "<Product>", not "<Product> also"
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
