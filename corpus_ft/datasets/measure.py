"""How good a built dataset is, measured by the tool itself: the `quality` block of stats.json,
which card.md, the review page and `corpus-ft bench quality` show.

Per kind: markup left in the text, questions asked twice, code summaries that only restate the
name, where the records come from (source category), grounding, length percentiles, code the
redactor corrupted, and a one-line verdict against the goals below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from corpus_ft.datasets.quality import markup_residue
from corpus_ft.redact import is_code_language

# Goals a dataset worth a GPU hour meets (issue 12); the verdict names every one that is missed.
GOALS = {
    "markup_residue": 0.02,
    "link_residue": 0.01,
    "duplicate_question": 0.01,
    "name_only_summary": 0.02,
    "call_list_summary": 0.05,
    "thin_summary": 0.05,
    "one_sentence_answer": 0.05,
    "excluded_share": 0.02,
    "from_tests": 0.01,
    "boilerplate": 0.01,
    "translated": 0.01,
    "corrupted_code": 0,
    "vague_question": 0.03,
    "dangling_answer": 0.02,
    "module_product": 0.01,
    "weak_keyword": 0.05,
    "keyword_chunk": 0.02,
    "cut_introduction": 0.03,
    "install_stub": 0.01,
    "mid_thought": 0.03,
    "qa_coverage": 0.8,  # a floor, not a ceiling: the share of substantial doc sections that feed a qa record
}
# What each share signal counts, as the verdict and the card name it.
LABELS = {
    "markup_residue": "markup residue",
    "link_residue": "link or role residue (Markdown, reST, HTML, JSX, wiki syntax) outside code",
    "duplicate_question": "questions asked twice",
    "name_only_summary": "summaries that restate the name",
    "call_list_summary": "summaries that only list the calls a body makes",
    "thin_summary": "thin summaries (only the name restated, or only when the code is called)",
    "one_sentence_answer": "one-sentence answers to questions a section should answer",
    "excluded_share": "records from tests/changelogs/licences",
    "from_tests": "records from tests (by file or directory name, any directory)",
    "boilerplate": "boilerplate and people lists (community, marketing, licence, changelog pages, rosters)",
    "translated": "text in another language than the corpus's own",
    "qa_coverage": "doc sections (40+ words) that feed a qa record",
    "vague_question": "questions from a vague heading or a clause fragment",
    "dangling_answer": "answers that point at text they do not hold (the following, below, the above)",
    "module_product": "questions naming a build module (a parent, root or workspace) as the product",
    "weak_keyword": "keyword prompts with a generic or fragment term (ecosystem word, lone capitalised word, cut heading)",
    "keyword_chunk": "keyword records whose text is a link list, has empty bullets or only points elsewhere",
    "cut_introduction": "records that end on a sentence introducing a block they do not hold",
    "install_stub": "paragraphs that are only an install command and a line of prose",
    "mid_thought": "passages that open mid-thought (a reply, a connective, the next list item, the example above)",
}
MIN_SECTION_WORDS = 40
GOAL_CATEGORIES = ("test", "changelog", "license")  # the signal: records drawn from these unless opted in
CATEGORY_PLURALS = {"test": "tests", "changelog": "changelogs", "license": "licences"}


def _excluded_label(opted_in: list[str]) -> str:
    """The card's row names only the categories it counts: one opted in (`datasets.include`) is said to be."""
    counted = [CATEGORY_PLURALS[c] for c in GOAL_CATEGORIES if c not in opted_in]
    label = "records from " + (", ".join(counted) or "no excluded category")
    return label + (f" ({', '.join(opted_in)} opted in)" if opted_in else "")


_DOC_LANGUAGES = ("markdown", "rst", "text", "html")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_REDACTED = re.compile(r"\[REDACTED_[A-Z0-9_]+\]")
_TRIPLE_QUOTED = re.compile(r'("""|\'\'\').*?(?:\1|\Z)', re.S)
_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,})([^\n]*)\n(.*?)^ {0,3}\1", re.S | re.M)
_FILLER = frozenset(
    """a an the is are be of that which this it its python java go golang javascript typescript rust c cpp
csharp kotlin ruby php scala swift function method class constructor representing represents works work with for to
and in on by object instance given new helper utility wrapper defined definition implementation implements type""".split()
)


def category_of(unit: dict) -> str:
    """The unit's source category: ingest's `category` column (content policy), or for a
    units.parquet written before categories existed, ingest's default for its kind."""
    from corpus_ft.ingest import default_category

    if unit.get("category"):
        return str(unit["category"])
    return default_category(unit.get("kind") or ("section" if unit.get("language") in _DOC_LANGUAGES else "function"))


def restates_name(summary: str, name: str) -> bool:
    """True when a summary says nothing but the name ("`load_units` is a python function that loads units")."""
    if re.search(r"\bis an? \w+ (?:function|method|class)\b.*\b(?:works with the|representing an? )", summary):
        return True
    own = {_stem(w.lower()) for w in _WORDS.findall(name)}
    words = [_stem(w) for w in re.findall(r"[a-z]+", summary.lower()) if w not in _FILLER and len(w) > 1]
    return not words or all(w in own for w in words)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def corrupted_code(record: dict) -> int:
    """`[REDACTED_…]` marks inside code of a programming language that sit neither in a string literal
    nor in a comment: the redactor replaced an expression and broke the code."""
    texts = [m["content"] for m in record.get("messages") or [] if m["role"] != "system"] or [record.get("text") or ""]
    bad = 0
    for text in texts:
        for block in _FENCED.finditer(text):
            # in shell, YAML, INI, text or an untagged block a value is a literal: replacing it is right
            if not is_code_language(block.group(2).strip().split(" ")[0].strip("{}")):
                continue
            code = block.group(3)
            # A triple-quoted string (a docstring) spans lines: a mark inside it sits in a literal.
            spans = [m.span() for m in _TRIPLE_QUOTED.finditer(code)]
            at = 0
            for line in code.split("\n"):
                line_at, at = at, at + len(line) + 1
                if _REDACTED.fullmatch(line.strip()):
                    continue  # a whole literal (a key block) replaced
                for mark in _REDACTED.finditer(line):
                    if any(a < line_at + mark.start() < b for a, b in spans):
                        continue
                    before = re.sub(r"\\.", "", line[: mark.start()])
                    outside = re.sub(r"\"[^\"]*\"|'[^']*'", "", before)
                    if re.search(r"#|//|^\s*(?:\*|--)", outside):
                        continue  # in a comment: prose, not code
                    if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                        bad += 1
    return bad


# A path that holds tests by its file or directory name, whatever the directory is called.
_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|__tests__|e2e|testdata|test_data|[\w-]*[-_]tests?|tests?[-_][\w-]+)/"
    r"|(?:^|/)(?:test_[^/]+\.py|[^/]+_tests?\.(?:py|go|rs|rb|exs?|c|cc|cpp)|conftest\.py|"
    r"[^/]+\.(?:test|spec|test-d)\.[cm]?[jt]sx?|[^/]+(?:Test|Tests|IT)\.(?:java|kt|cs|scala)|[^/]+_spec\.rb)$"
)
_CODE_TEST_DIR = re.compile(r"(?:^|/)(?:testing|spec|specs|fixtures)/")  # of code; a docs/testing/ page is docs
_TEST_NAME = re.compile(r"(?:^|\.)test_\w+$")
_GO_TEST_NAME = re.compile(r"(?:^|\.)(?:Test|Benchmark|Example|Fuzz)[A-Z_]\w*$")
_LINK_RESIDUE = re.compile(
    r"!?\[[^\]\n]+\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)"  # Markdown inline link or image  [text](url)
    r"|\[[^\]\n]+\]\[[^\]\n]*\]"  # Markdown reference link  [text][ref]
    r"|^\s*\[[^\]\n]+\]:\s+\S+"  # Markdown link definition  [ref]: url
    r"|<https?://[^>\s]+>"  # autolink
    r"|`[^`\n]+\s<[^>\n]+>`_{1,2}"  # reST hyperlink  `text <url>`_
    r"|`[^`\n]+`_{1,2}(?!\w)"  # reST reference  `text`_
    r"|(?<![\w|])\|[A-Za-z][\w -]*\|(?![\w|])"  # reST substitution  |name|
    r"|:[\w+.-]+(?::[\w+.-]+)*:`[^`\n]+`"  # role  :func:`x`
    r"|\{[\w+.-]+\}`[^`\n]*`"  # MyST role  {ref}`x`
    r"|<(?:a|img|br|p|div|span|sup|details|summary)\b[^>]*>"  # HTML tags
    # JSX component tags: closing, with attributes, self-closing or a compound name (a bare `<Name>` or
    # `<MIME_type>` in prose is a placeholder)  </Tabs>, <TabItem value="npm">, <Demo />, <CodeBlock>
    r"|(?<![\w.])(?:</[A-Z][\w.]*\s*>|<[A-Z][\w.]*(?:\s+[\w:-]+=[^<>\n]*|\s*/)>|<[A-Z][a-z]+(?:[A-Z][a-z]*)+>)"
    r"|\{/\*.*?\*/\}"  # JSX comment  {/* draft */}
    r"|\[\[[^\]\n]+\]\]",  # wiki link  [[Page]]
    re.M,
)
# A cross-reference's target left beside its text, with or without the role around it:
# `Schema <pkg.Schema>`, post_dump <pkg.decorators.post_dump>`
# (a target is a dotted name, a URL or a page; `<token>` in a code span is a placeholder)
_TARGET_RESIDUE = re.compile(
    r"`[^`\n]+\s<~?(?:[\w-]+(?:\.[\w-]+)+|https?://[^>\s]+|[\w./-]+\.(?:md|rst|html?))>`|[\w.]+\s<[\w.]+\.[\w.]+>`"
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"(\[])")
_DEFINITION_Q = re.compile(r"^What (?:is|are|does) (?:the default of )?.{1,80}?(?: mean| for)?(?: in [^?]+)?\?$")
_ITEM_LINE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+\S", re.M)


def link_residue(text: str) -> bool:
    """Links, references and roles left in text outside code in any markup's syntax: a model that
    learns `[the docs](../x.md)` or `` `Schema <marshal.Schema>`_ `` writes them back."""
    from corpus_ft.datasets.quality import outside_code

    if _TARGET_RESIDUE.search(outside_code(text)):
        return True
    # code spans are code; the `text` of a role (:func:`x`) or a reST link (`x`_) is not a code span
    prose = re.sub(r"(?<![`:}\w])(`+)(?!`)[^`\n]+?\1(?![`_])", " ", outside_code(text))
    return bool(_LINK_RESIDUE.search(prose))


def from_test(record: dict, unit: dict | None = None) -> bool:
    """A record whose source is a test: by a file or directory name that holds tests (any directory),
    or a code unit named as a test function (`test_x`, `TestX`, `BenchmarkX`)."""
    path = (record.get("source") or {}).get("path") or ""
    meta = record.get("meta") or {}
    name = meta.get("name") or ""
    if _TEST_PATH.search(path):
        return True
    if record.get("kind") != "code_summary":
        return False
    return bool(
        _CODE_TEST_DIR.search(path)
        or _TEST_NAME.search(name)
        or (meta.get("language") == "go" and _GO_TEST_NAME.search(name))
    )


def call_list(summary: str) -> bool:
    """A summary that only lists what the body calls ("`x` calls `a()`, `b()` and `c()`.")."""
    return bool(re.search(r"\bcalls\b", summary)) and len(re.findall(r"`[^`]+\(\)`", summary)) >= 2


# Words a summary of code may use without saying anything about it: articles, pronouns, the verbs of
# getters, setters and factories ("Returns the foo", "Gets the given bar", "Creates a new baz").
_SAYS_NOTHING = frozenset(
    """a an the is are be of to for from in on by at as with and or this that these those it its self itself
given specified provided current supplied new get gets getter return returns returned set sets setter create
creates make makes build builds construct constructs function method class instance helper utility wrapper
will can should does do simply just basically also true false if whether not otherwise""".split()
)
# A doc comment that only says when the code runs ("Called when the request ends."), not what it does.
_ONLY_WHEN = re.compile(
    r"^(?:this (?:method|function|hook|callback) )?(?:is |gets )?(?:called|invoked|fired|triggered|executed|run|hit)"
    r"\b[^.!?]*[.!?]?$",
    re.I,
)


# A sentence that only says who calls the code ("Both X and Y call this function.", "Used by the parser.").
_ONLY_CALLERS = re.compile(
    r"\bcalls? this (?:function|method)\b|^(?:only )?(?:called|used|invoked) (?:only )?(?:by|from|in)\b|"
    r"\bnever (?:used|called) elsewhere\b",
    re.I,
)


# A summary cut short: no closing punctuation and a last word that needs more after it ("Returns the value
# of the", "Adds the item to the list, which will be").
_CUT_END = re.compile(
    r"\b(?:the|a|an|of|to|for|with|and|or|by|into|be|is|are|was|will|would|should|can|whose|than|its|their)$",
    re.I,
)


def cut_summary(summary: str) -> bool:
    """A summary that stops mid-sentence: no closing punctuation after a word that needs a continuation."""
    text = " ".join(summary.split())
    return bool(text) and not re.search(r"[.!?:;)\]`\"']$", text) and bool(_CUT_END.search(text))


# A sentence that only names the interface a method satisfies ("X implements the json.Marshaler interface."),
# not what the method does.
_ONLY_IMPLEMENTS = re.compile(r"^(?:\S+ )?(?:implements|satisfies) (?:the )?\S+ (?:interface|trait)\.?$", re.I)


def thin_summary(summary: str, name: str = "") -> bool:
    """A summary that says nothing beyond the name (fewer than two words that are neither the name's nor a
    getter/setter's filler: "Returns the foo" for `getFoo`, "Parent returns the parent command"), or that only
    says when the code is called."""
    text = " ".join(summary.split())
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", re.sub(r"`[^`]*`", "X", text)) if x.strip()]
    says_nothing = (_ONLY_WHEN.match, _ONLY_CALLERS.search, _ONLY_IMPLEMENTS.match)
    if sentences and all(any(f(x) for f in says_nothing) for x in sentences):
        return True
    own = {_stem_e(w.lower()) for w in _WORDS.findall(name)}
    text = re.sub(r"^`[^`]+`", " ", text)  # a summary that opens with a code name opens with its subject
    for part in {name, name.rsplit(".", 1)[-1]} - {""}:  # the name itself, as Go and Javadoc open a comment,
        # qualified too: "Start is a wrapper for Server.Start" names only the method it forwards to
        text = re.sub(rf"(?<![\w.])(?:\w+\.)*{re.escape(part)}(?:\(\))?(?!\w)", " ", text)
    words = [_stem_e(w) for w in re.findall(r"[a-z]{2,}", text.lower()) if w not in _SAYS_NOTHING]
    return len([w for w in words if w not in own]) < 2


def _stem_e(word: str) -> str:
    """`_stem` that also drops a final e, so "prepares" and "prepare" meet."""
    stem = _stem(word)
    return stem[:-1] if stem.endswith("e") and len(stem) > 3 else stem


def weak_keywords(record: dict) -> list[str]:
    """The keywords of a keyword record that a reader rejects as generic or fragments: an ecosystem word
    ("API", "JSON", "Cargo.toml"), a lone capitalised word other than the section's heading ("Missing"),
    an install command, a heading cut short ("Supporting serialization"), a general-English word or API
    label ("filter", "Returns"), or a term the record's answer never uses outside code blocks (a code name
    that is not the passage's subject) -- read from the answer itself, not from the builder's counts."""
    from corpus_ft.datasets.kinds import generic_keyword, specific_keywords, truncated_heading

    heading = ((record.get("meta") or {}).get("heading_path") or [""])[-1] or ""
    kws = (record.get("meta") or {}).get("keywords") or []
    prose = _FENCED.sub(" ", _response(record)).replace("`", " ").lower()
    return [
        k
        for k in kws
        if not specific_keywords([k], heading, "", set())
        or truncated_heading(k, heading)
        or generic_keyword(k)
        or not _mentioned(k, prose)
    ]


def _mentioned(keyword: str, prose: str) -> bool:
    """Whether the prose (lowercase) names the keyword as whole words, its words apart by spaces or hyphens."""
    words = [re.escape(w) for w in keyword.replace("`", " ").lower().split()]
    return bool(words) and bool(re.search(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?![\w-])", prose))


def weak_keyword_record(record: dict) -> bool:
    """A keyword prompt a reader rejects: half or more of its keywords are generic or fragments."""
    kws = (record.get("meta") or {}).get("keywords") or []
    return bool(kws) and 2 * len(weak_keywords(record)) >= len(kws)


def keyword_chunk_ok(record: dict) -> bool:
    """Whether a keyword record's answer can anchor its keywords (see `kinds.keyword_worthy`): not a link
    list, no empty bullets, not a short page that only points elsewhere."""
    from corpus_ft.datasets.kinds import keyword_worthy

    text = _response(record)
    blocks = [{"type": "code", "text": m.group(0)} for m in _FENCED.finditer(text)]
    prose = _FENCED.sub(" ", text)
    return keyword_worthy({"text": prose, "blocks": [{"type": "paragraph", "text": prose}, *blocks]})


def cut_introduction(text: str) -> bool:
    """A passage that ends on the sentence introducing what follows ("… as follows:"), without it."""
    from corpus_ft.datasets.chunk import introduces

    return introduces(text)


def mid_thought_text(record: dict) -> bool:
    """A passage whose first sentence surely leans on text before it (see `chunk.leans_back`): a connective, a
    reply or a pointer back. The record does not say whether its chunk opened on a heading (the crumb replaces
    one), so the milder signs `chunk.opens_mid_thought` also uses ("This …", a list item) are not counted."""
    from corpus_ft.datasets.chunk import leans_back

    text = _response(record)
    if (record.get("meta") or {}).get("heading_path"):
        text = text.partition("\n")[2]  # the heading crumb
    first = _FENCED.sub("\n\n```\n\n", text).strip().split("\n\n", 1)[0].strip()
    return bool(first) and not first.startswith("```") and leans_back(first)


def install_stub_text(text: str) -> bool:
    """A passage that is only an install command and a line or two of prose."""
    from corpus_ft.datasets.chunk import install_stub

    blocks = [{"type": "code", "text": m.group(3)} for m in _FENCED.finditer(text)]
    prose = _FENCED.sub(" ", text)
    return install_stub({"text": text, "blocks": [{"type": "paragraph", "text": prose}, *blocks]})


def one_sentence_answer(question: str, answer: str) -> bool:
    """A single sentence of prose (no list, no code) answering a question that is not a definition or
    a condition ("What is X?" may be answered by one sentence; "What does the guide say about X?" may not)."""
    if _DEFINITION_Q.match(question.strip()) and not question.startswith("What does the"):
        return False
    if re.match(r"^In .{1,80}, what happens (?:if|when|unless) ", question):
        return False  # a condition is answered by the sentence that states the rule
    if "```" in answer or "~~~" in answer or _ITEM_LINE.search(answer):
        return False
    return len([x for x in _SENTENCE.split(" ".join(answer.split())) if x.strip()]) <= 1


# What a question is about, by its form: the overview's subject, a how-to's object, a condition's clause.
_OVERVIEW_Q = re.compile(r"^What does the .+? (?:documentation|guide) say about (?P<s>.+?)\?$")
_WORKS_Q = re.compile(r"^How does (?P<s>.+?) work(?: in [^?]{1,60})?\?$")
_HOWTO_Q = re.compile(r"^How do I (?:use )?(?P<s>.+?)(?: in [^?]{1,60})?\?$")
_CONDITION_Q = re.compile(r"^In [^,]{1,80}(?:, when [^,]{1,80})?, what happens (?:if|when|unless) (?P<s>.+?)\?$")
# Words that make no subject on their own ("Overview", "Common function", "More details").
_VAGUE = frozenset(
    """overview introduction intro details detail notes note misc miscellaneous other others more example examples
    sample samples usage use summary basics basic background general common function functions simple things stuff
    getting started start guide documentation docs reference contents info information features tips tip
    the a an and of""".split()
)
# A subject that labels a kind of text or a change, not a thing a user asks about ("Maps Examples",
# "HTTP2 guide", "Redirect changes").
_LABEL_END = re.compile(r"\b(?:examples?|samples?|guide|demo)$", re.I)
_CHANGE_END = re.compile(
    r"\b(?:changes?|updates?|deprecations?|removals?|replacements?)$|^(?:removal|deprecation|replacement)s? of\b", re.I
)  # "How do I redirect changes?"
_JOINERS = frozenset("for with in on to from by of as and or when if without into via".split())
_FUNCTION_END = frozenset("the a an of to for with and or by from that which as in on at your its".split())


def _glued_name(question: str) -> bool:
    """A heading pasted into a question: a parent heading in parentheses before the "?" ("... hooks
    (`foo`)?"), a title with a colon, or a name said twice ("Databases Databases", "queries database
    queries", "foo ... in foo")."""
    # code spans and quoted messages may repeat words and hold parentheses
    q = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "`x`", question)
    if re.search(r"\s\((?:`x`|[A-Za-z][^()]*)\)(?: in [^?]+)?\?$", q) or re.search(r"\w: [A-Z]\w* [A-Z]", q):
        return True
    # the question before its " in PRODUCT" suffix (which may share a word with it: "a store in Acme Store")
    said = re.findall(r"[A-Za-z]{4,}", re.sub(r" in [^?]+\?$", "", q))
    head = [w for w in (_word_stem(w) for w in said) if w not in _QUESTION_WORDS]
    return len(head) != len(set(head))  # "Acme Acme", "queries store queries"


_QUESTION_WORDS = frozenset("what does work when where which how have this that with from into".split())


def _word_stem(word: str) -> str:
    w = word.lower()
    return w[:-1] if w.endswith("s") and not w.endswith("ss") else w


def vague_question(question: str) -> bool:
    """A question a user would not ask: its subject is only vague words, a label ("... Examples"), a shell
    command, or a clause cut from a sentence (no subject of its own, a story's past tense, a dangling word)."""
    q = " ".join(question.split())
    if _OVERVIEW_Q.match(q) or (not _CONDITION_Q.match(q) and _glued_name(q)):
        return True  # "What does the X documentation say about Y?" names a section, it asks nothing
    m = _WORKS_Q.match(q)
    if m:
        from corpus_ft.generate.heuristic import noun_phrase

        # "How does providing active help work?", "How does tutorial work?": the subject is no noun phrase
        return not noun_phrase(m.group("s"))
    m = _HOWTO_Q.match(q)
    if m:
        subject = re.sub(r"\s*\([^)]*\)$", "", m.group("s")).strip()
        qualifier = m.group("s")[len(subject) :].strip(" ()")
        words = [w.lower().strip("`*:") for w in subject.split()]
        if subject.startswith(("$", ">>>")):
            return True
        if all(w in _VAGUE for w in words if w) or _LABEL_END.search(subject):
            # "Overview (Authentication)": a vague heading qualified by its parent asks something
            return not qualifier or all(w.lower() in _VAGUE for w in qualifier.split())
        if q.startswith("How do I") and (
            _CHANGE_END.search(subject) or re.match(r"(?:use )?(?:examples?|hello)\b", m.group("s"), re.I)
        ):
            return True  # "How do I redirect changes?", "How do I use example plugin?"
        glued = re.match(r"(?:use )?(`?[\w.]*(?:[a-z][A-Z]|[._]\w|\()[\w.()]*`?) (?P<next>[\w-]+)", m.group("s"))
        version = glued and re.fullmatch(r"`?v?\d+(?:\.\w+)*`?", glued.group(1))  # "v1.x Middleware" is no code name
        if q.startswith("How do I") and glued and not version and glued.group("next").lower() not in _JOINERS:
            return True  # "How do I use SetPathParam PathParam?": a code name glued to its parent heading
        if q.startswith("How do I") and re.match(r"\w+ &", subject):
            return True  # "How do I route & Path Parsing?": two topics read as a task
        if q.startswith("How do I") and re.match(r"\w+ [A-Z][a-z]+\b", subject) and _task_word(subject.split()[1]):
            return True  # "How do I debug Specify flag completion?": a heading glued after a verb
        return bool(words) and words[-1] in _FUNCTION_END
    m = _CONDITION_Q.match(q)
    if m:
        clause = re.sub(r"\s*\([^)]*\)$", "", m.group("s"))
        return bool(
            re.match(r"(?:[a-z]+ed|instead|however|also|now|then|otherwise|still)\b", clause)
            or re.search(r"\b(?:had|was|were|did)\b", clause)
            or re.match(r"(?:it|this|that|these|those|they|so)\b", clause, re.I)
            or clause.split()[-1].lower() in _FUNCTION_END - {"in", "on", "at"}  # "passed in" is whole
        )
    return False


def _task_word(word: str) -> bool:
    """A capitalised word that is a verb of a task heading ("Specify", "Configure")."""
    from corpus_ft.generate.heuristic import _VERBS

    return word.lower() in _VERBS or word.lower() in ("specify", "provide", "define", "change", "make")


# The last sentence of an answer pointing at what should follow it; a first paragraph pointing back.
_FORWARD = re.compile(
    r"(?:\bthe following\b|\bas follows\b|\b(?:shown|see|listed|described|given|outlined) below\b|\bbelow[,:]|"
    r"^(?:here (?:is|are)|here's)\b|\bkeep reading\b|\bfor (?:example|instance),?\s*$|\be\.g\.,?\s*$|"
    r"\blike so\b|\b(?:or|and)\s*$|:\s*$|^there are (?:two|three|four|several|a few|\d+) (?:\w+ )?(?:ways|approaches|options|methods)\b)",
    re.I,
)
_BACKWARD = re.compile(
    r"\b(?:the above|as above|(?:shown|mentioned|described|listed|defined|seen|explained|given|discussed) (?:further |earlier )?above|"
    r"above (?:example|code|snippet|section|command|steps?|list|table)|(?:code|example|snippet|command) above)\b",
    re.I,
)


_ABOUT_THE_PAGE = re.compile(
    r"\bthis (?:page|part of the documentation|section|document|guide|chapter|tutorial) (?:is|provides|describes|"
    r"covers|explains|shows|contains|will|lists|gives)\b",
    re.I,
)


def dangling_answer(answer: str) -> bool:
    """An answer that does not stand alone: it ends by pointing at what follows (an introduction without the
    thing it introduces), leans on "the above" before any code or list of its own, or opens mid-list ("- Or, ...")."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", answer.strip()) if b.strip()]
    if not blocks:
        return False
    last = re.sub(r"^\s*(?:[-*+•]|\d+[.)])\s+", "", blocks[-1].split("\n")[-1])  # a list's last item
    if not blocks[-1].startswith(("```", "~~~")):
        end = _SENTENCE.split(" ".join(last.split()))[-1]
        if _FORWARD.search(end) or re.search(
            r"\bhere (?:is|are) (?:an? )?(?:\w+ )?(?:example|snippet|sample)s?\b", end, re.I
        ):
            return True
    for block in blocks:
        if block.startswith(("```", "~~~")) or _ITEM_LINE.match(block):
            break
        if _BACKWARD.search(block):
            return True
    flat = " ".join(answer.split())
    from corpus_ft.generate.heuristic import OPENS_BACK

    if not blocks[0].startswith(("```", "~~~")) and OPENS_BACK.search(_SENTENCE.split(blocks[0], 1)[0]):
        return True  # "You may recognize this from the help above.", "The upside of this approach is ..."
    if len(_SENTENCE.split(flat)) <= 2 and _ABOUT_THE_PAGE.search(flat):
        return True  # "This page provides an overview of ...": an introduction, no answer
    if answer.count("generated from its docstrings (autodoc)") >= 2:
        return True  # placeholders for an API reference the answer does not hold
    if "```" not in answer and re.search(r"^\s*\d+[.)]\s.*:[ \t]*(?:\n\s*\d+[.)]\s|\s*$)", answer.strip(), re.M):
        return True  # "2. Update the middleware:" then "3. ...": the code it introduced is missing
    if re.search(r"\b(?:under|the|a|an|of|to|for|with|by|from|at|in|on|see)\s*$", flat):
        return True  # cut mid-sentence
    if re.match(r"^\s*(?:[2-9]|\d\d+)[.)]\s", blocks[0]):
        return True  # a numbered list's middle without its start
    return bool(re.match(r"^\s*(?:[-*+•]|\d+[.)])\s+(?:or|and|but|also)\b", blocks[0], re.I))


# A build module's name where a question names the product ("the Acme Parent documentation", "in acme-root?").
_MODULE_NAME = re.compile(
    r"(?:\b[\w.]+ (?:Parent|Root|Workspace|Monorepo|Aggregator|BOM)|\b[\w.]+-(?:parent|root|workspace|monorepo|aggregator|bom))"
    r"(?= documentation\b| guide\b|'s\b|\?$|,)"
)


def module_product(question: str) -> bool:
    """The question names a grouping module (a Maven parent, a workspace or monorepo root) as the product."""
    return bool(_MODULE_NAME.search(question))


def section_words(unit: dict) -> int:
    """Words of a doc section's prose and code, without its heading lines."""
    lines = [ln for ln in (unit.get("text") or "").split("\n") if not re.match(r"^\s*#{1,6}\s", ln)]
    heads = {str(h).strip() for h in unit.get("heading_path") or []}
    return sum(
        len(ln.split()) for ln in lines if ln.strip() not in heads and not re.fullmatch(r"\s*[=\-~^*#]{3,}\s*", ln)
    )


def _where(record: dict) -> str:
    src = record.get("source") or {}
    text = " ".join(_content(record).split())
    return f"{src.get('path')}:{src.get('start_line')}: {text[:110]}{'…' if len(text) > 110 else ''}"


def _content(record: dict) -> str:
    if "messages" in record:
        return "\n\n".join(m["content"] for m in record["messages"] if m["role"] != "system")
    return record.get("text") or ""


def _response(record: dict) -> str:
    if "messages" in record:
        return record["messages"][-1]["content"]
    return record.get("text") or ""


def percentiles(values: Sequence[int]) -> dict:
    """p5/p50/p95 (nearest rank) of the values; {} when there are none."""
    if not values:
        return {}
    s = sorted(values)
    return {f"p{p}": s[min(len(s) - 1, int(p / 100 * len(s)))] for p in (5, 50, 95)}


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def dataset_quality(
    kind: str,
    records: Sequence[dict],
    removed: Iterable[dict],
    units: Sequence[dict],
    *,
    include: Iterable[str] = (),
    generation: dict | None = None,
    decisions: dict[str, dict] | None = None,
    read_records: Sequence[dict] = (),
) -> dict:
    """The `quality` block of stats.json for one kind's kept records (all splits).

    With `decisions` (review/decisions.jsonl, latest per record), the verdict also needs a person's
    read of these records and of `read_records` (those a review rejected out of the build).
    """
    by_id = {u["id"]: u for u in units}
    n = len(records)
    reasons = Counter(r.get("reason") for r in removed)
    cats = Counter(
        category_of(by_id.get(r["source"]["unit_id"], {"language": r["meta"].get("language")})) for r in records
    )
    excluded = [c for c in GOAL_CATEGORIES if c not in set(include)]
    q: dict = {
        "records": n,
        "markup_residue": _share(sum(markup_residue(_content(r)) for r in records), n),
        "categories": {c: _share(k, n) for c, k in cats.most_common()},
        "excluded_share": _share(sum(cats[c] for c in excluded), n),
        "opted_in": [c for c in GOAL_CATEGORIES if c not in excluded],
        "corrupted_code": sum(corrupted_code(r) > 0 for r in records),
        "length_chars": percentiles([len(_response(r)) for r in records]),
    }
    examples: dict[str, list[str]] = {}

    def signal(key: str, hits: list[dict], of: int) -> None:
        q[key] = _share(len(hits), of)
        if hits:
            examples[key] = [_where(r) for r in hits[:2]]

    from corpus_ft.ingest import corpus_language, people_list, text_language

    own = corpus_language(list(units))
    signal("link_residue", [r for r in records if link_residue(_content(r))], n)
    signal("from_tests", [r for r in records if from_test(r, by_id.get(r["source"]["unit_id"]))], n)
    boiler = {"community", "marketing", "license", "changelog"} - set(include)
    signal(
        "boilerplate",
        [
            r
            for r in records
            if category_of(by_id.get(r["source"]["unit_id"], {"language": r["meta"].get("language")})) in boiler
            or (kind != "code_summary" and people_list(_response(r)))
        ],
        n,
    )
    if kind != "code_summary":
        signal("translated", [r for r in records if text_language(_response(r)) not in ("", own)], n)
    if kind == "keywords":
        signal("weak_keyword", [r for r in records if weak_keyword_record(r)], n)
        signal("keyword_chunk", [r for r in records if not keyword_chunk_ok(r)], n)
        signal("mid_thought", [r for r in records if mid_thought_text(r)], n)
    if kind == "paragraphs":
        signal("cut_introduction", [r for r in records if cut_introduction(_response(r))], n)
        signal("install_stub", [r for r in records if install_stub_text(_response(r))], n)
        signal("mid_thought", [r for r in records if mid_thought_text(r)], n)
    if kind == "qa":
        signal(
            "one_sentence_answer",
            [r for r in records if one_sentence_answer(r["messages"][1]["content"], _response(r))],
            n,
        )
        for key, test in (
            ("vague_question", lambda r: vague_question(r["messages"][1]["content"])),
            ("dangling_answer", lambda r: dangling_answer(_response(r))),
            ("module_product", lambda r: module_product(r["messages"][1]["content"])),
        ):
            signal(key, [r for r in records if test(r)], n)
        fed = {r["source"]["unit_id"] for r in records}
        sections = [u for u in units if u.get("kind") == "section" and section_words(u) >= MIN_SECTION_WORDS]
        unfed = sorted((u for u in sections if u["id"] not in fed), key=section_words, reverse=True)
        q["qa_coverage"] = round(1 - len(unfed) / len(sections), 4) if sections else 1.0
        q["qa_coverage_sections"] = len(sections)
        q["sections_without_qa"] = [
            f"{u['path']}:{u.get('start_line')} {' > '.join(map(str, u.get('heading_path') or [])) or u.get('name')}"
            f" ({section_words(u)} words)"
            for u in unfed[:5]
        ]
        if unfed:
            examples["qa_coverage"] = q["sections_without_qa"][:2]
    if kind == "qa":
        answers: dict[str, set[str]] = {}
        for r in records:
            answers.setdefault(_key(r["messages"][1]["content"]), set()).add(" ".join(_response(r).split()))
        q["duplicate_question"] = _share(sum(len(answers[_key(r["messages"][1]["content"])]) > 1 for r in records), n)
        scores = [float(r["meta"].get("grounding") or 0.0) for r in records]
        checked = (generation or {}).get("grounding_checked", 0)
        q["grounding"] = {
            "mean": round(sum(scores) / len(scores), 3) if scores else 0.0,
            "lexical_removed": _share(reasons["ungrounded"], n + reasons["ungrounded"]),
            **(
                {"check_dropped": _share((generation or {}).get("grounding_dropped", 0), checked), "checked": checked}
                if checked
                else {}
            ),
        }
    if kind == "code_summary":
        explain = [r for r in records if r["meta"].get("direction") == "code_to_summary"]
        generated = [r for r in explain if r["meta"].get("summary_source") != "docstring"]
        name_only = sum(restates_name(_response(r), r["meta"].get("name") or "") for r in explain)
        q["name_only_summary"] = _share(name_only, len(explain))
        q["name_only_summaries"] = name_only
        q["summary_sources"] = {"docstring": len(explain) - len(generated), "generated": len(generated)}
        q["skipped"] = {
            k: reasons[k]
            for k in ("stub", "abstract", "generated", "vendored", "no_summary", "needs_model_generator")
            if reasons[k]
        }
        signal("call_list_summary", [r for r in explain if call_list(_response(r))], len(explain))
        signal(
            "thin_summary",
            [r for r in explain if thin_summary(_response(r), r["meta"].get("name") or "")],
            len(explain),
        )
    examples.update(
        {k: v for k, v in _residue_examples(records).items() if q.get("markup_residue") and k not in examples}
    )
    q["examples"] = examples
    if decisions is not None:
        q["read"] = person_read([*records, *(read_records or [])], decisions)
    q["verdict"] = verdict(q)
    return q


def _residue_examples(records: Sequence[dict]) -> dict[str, list[str]]:
    hits = [r for r in records if markup_residue(_content(r))][:2]
    return {"markup_residue": [_where(r) for r in hits]} if hits else {}


def _key(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.lower()))


# A person's read is the check the signals cannot replace: on repositories no rule was written for,
# a blind reader kept 53-80% of the records per kind while every signal met its goal. So "ready" needs
# the signals within goal and a read: at least READ_SAMPLE records of the kind (all of a smaller set)
# accepted, edited or rejected on the review page, of which READ_GOAL or more kept.
READ_GOAL = 0.85
READ_SAMPLE = 20


def person_read(records: Sequence[dict], decisions: dict[str, dict]) -> dict:
    """How many of these records a person decided on in review, how many they kept, how many are needed."""
    ids = {r.get("id") for r in records}
    actions = [d.get("action") for rid, d in decisions.items() if rid in ids]
    return {
        "read": len(actions),
        "kept": sum(a != "reject" for a in actions),
        "needed": min(READ_SAMPLE, len(ids)),
    }


def _read_miss(read: dict) -> str | None:
    n, kept = read["read"], read["kept"]
    if n and n >= read["needed"] and kept < READ_GOAL * n:
        return f"a person kept {kept} of {n} records read ({kept / n:.0%}; goal >= {READ_GOAL:.0%})"
    return None


def misses(q: dict) -> list[tuple[str, str]]:
    """(signal, what is wrong with its figure and goal) for every signal that misses its goal."""
    out = []
    if q.get("read") and (text := _read_miss(q["read"])):
        out.append(("read", text))
    for key, goal in GOALS.items():
        if key not in q or key == "corrupted_code":
            continue
        if key == "qa_coverage":
            if q[key] < goal:
                out.append(
                    (key, f"{LABELS[key]} {q[key]:.0%} of {q.get('qa_coverage_sections', 0)} (goal >= {goal:.0%})")
                )
        elif q[key] > goal:
            out.append((key, f"{LABELS[key]} {q[key]:.1%} (goal <= {goal:.0%})"))
    if q.get("corrupted_code"):
        out.append(("corrupted_code", f"{q['corrupted_code']} records with code corrupted by redaction (goal 0)"))
    return out


def verdict(q: dict) -> str:
    """One line: `ready` only when every signal meets its goal, else each missed goal with its figure
    and two examples (path:line and the record's opening) so a person sees the problem at once."""
    if not q.get("records"):
        return "empty: nothing to train on (see warnings and removed.jsonl)"
    found = misses(q)
    read = q.get("read")
    if not found and read is not None and read["read"] < read["needed"]:
        return (
            f"unread: every signal meets its goal, but a person has read {read['read']} of the "
            f"{read['needed']} records needed - accept or reject a sample on the review page "
            "(corpus-ft review RUN --serve), then rebuild"
        )
    if not found:
        return "ready"
    parts = []
    for key, text in found:
        ex = (q.get("examples") or {}).get(key) or []
        parts.append(text + (" - e.g. " + " | ".join(ex[:2]) if ex else ""))
    return "look at: " + "; ".join(parts)


def quality_rows(q: dict) -> list[tuple[str, str, bool | None]]:
    """(signal, figure, meets its goal or None when it has none): what card.md and the review page show."""
    if not q:
        return []
    rows: list[tuple[str, str, bool | None]] = [
        (
            "markup residue (records whose text outside code still shows markup)",
            f"{q['markup_residue']:.1%}",
            q["markup_residue"] <= GOALS["markup_residue"],
        )
    ]
    if "duplicate_question" in q:
        rows.append(
            (
                "questions asked twice with different answers",
                f"{q['duplicate_question']:.1%}",
                q["duplicate_question"] <= GOALS["duplicate_question"],
            )
        )
    if "name_only_summary" in q:
        rows.append(
            (
                "summaries that only restate the name",
                f"{q['name_only_summary']:.1%} ({q['name_only_summaries']})",
                q["name_only_summary"] <= GOALS["name_only_summary"],
            )
        )
        src = q.get("summary_sources") or {}
        rows.append(
            ("summaries from docstrings / generated", f"{src.get('docstring', 0)} / {src.get('generated', 0)}", None)
        )
        if q.get("skipped"):
            rows.append(("code units skipped", ", ".join(f"{k} {v}" for k, v in q["skipped"].items()), None))
    for key in (
        "link_residue",
        "call_list_summary",
        "thin_summary",
        "weak_keyword",
        "keyword_chunk",
        "cut_introduction",
        "install_stub",
        "mid_thought",
        "one_sentence_answer",
        "vague_question",
        "dangling_answer",
        "module_product",
        "from_tests",
        "boilerplate",
        "translated",
    ):
        if key in q:
            rows.append((LABELS[key], f"{q[key]:.1%}", q[key] <= GOALS[key]))
    if "qa_coverage" in q:
        rows.append(
            (
                f"{LABELS['qa_coverage']} (of {q.get('qa_coverage_sections', 0)})",
                f"{q['qa_coverage']:.0%}",
                q["qa_coverage"] >= GOALS["qa_coverage"],
            )
        )
    rows.append(
        (
            _excluded_label(q.get("opted_in", [])),
            f"{q['excluded_share']:.1%}",
            q["excluded_share"] <= GOALS["excluded_share"],
        )
    )
    rows.append(
        ("share by source category", ", ".join(f"{c} {v:.0%}" for c, v in q["categories"].items()) or "-", None)
    )
    rows.append(("records with code corrupted by redaction", str(q["corrupted_code"]), q["corrupted_code"] == 0))
    if "grounding" in q:
        g = q["grounding"]
        text = f"mean {g['mean']:.2f}, {g['lexical_removed']:.1%} removed as ungrounded"
        if "check_dropped" in g:
            text += f", model check dropped {g['check_dropped']:.1%} of {g['checked']}"
        rows.append(("grounding of answers in their chunk", text, None))
    lengths = q.get("length_chars") or {}
    if lengths:
        rows.append(
            (
                "response length in characters (p5 / p50 / p95)",
                f"{lengths['p5']} / {lengths['p50']} / {lengths['p95']}",
                None,
            )
        )
    if q.get("read") is not None:
        r = q["read"]
        done = r["read"] >= r["needed"]
        rows.append(
            (
                f"records a person read on the review page and kept (goal: {r['needed']} read, >= {READ_GOAL:.0%} kept)",
                f"{r['kept']} of {r['read']}" + ("" if done else f" (read {r['needed'] - r['read']} more)"),
                done and r["kept"] >= READ_GOAL * r["read"],
            )
        )
    return rows
