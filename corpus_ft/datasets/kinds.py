"""Candidate records of the four kinds, before the shared quality filters.

Each builder returns (candidates, removed) where removed are the kind's own rejections
({"reason", "record"}: `ungrounded` qa answers, code units with `no_summary`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from corpus_ft.datasets.chunk import opens_mid_thought, points_elsewhere, prose_text, with_context
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
        out.append(
            {
                "id": record_id("paragraphs", c["unit_id"], text),
                "kind": "paragraphs",
                "text": text,
                "source": source(c),
                "meta": meta(gen_name, version, c["language"], heading_path=c["heading_path"], chunk_id=c["id"]),
            }
        )
    return out


def grounding(answer: str, chunk_text: str) -> float:
    """Share of the answer's words (2+ characters) that appear in the chunk."""
    words = [w for w in _TOKEN.findall(answer.lower()) if len(w) > 1]
    if not words:
        return 0.0
    vocab = set(_TOKEN.findall(chunk_text.lower()))
    return sum(w in vocab for w in words) / len(words)


_NOT_A_TITLE = {
    "readme",
    "introduction",
    "overview",
    "features",
    "installation",
    "install",
    "usage",
    "about",
    "contents",
    "documentation",
    "docs",
    "getting started",
    "quickstart",
    "quick start",
    "summary",
}


def product_name(units: Sequence[dict], repo: str | None = None) -> str:
    """For a run ingested before ingest named the product: the repository directory's name as the
    docs spell it when they use it (3+ times), else ''. Never a page's heading: the first heading
    of a README can be any section ("Compatibility")."""
    sections = [u for u in units if u.get("kind") == "section"]
    name = re.sub(r"[-_.](?:main|master|src|repo|git)$", "", Path(repo).name if repo else "", flags=re.I)
    if len(name) < 2:
        return ""
    spellings = Counter(
        m.group(0)
        for u in sections
        for m in re.finditer(rf"(?<![\w/.-]){re.escape(name)}(?![\w/-]|\.\w)", _prose_only(u), re.I)
    )
    return spellings.most_common(1)[0][0] if sum(spellings.values()) >= 3 else ""


def _prose_only(unit: dict) -> str:
    """A unit's text without code blocks or `code` spans (where a package's import name, not its name, is spelled)."""
    found = unit.get("blocks") or [{"type": "paragraph", "text": unit.get("text") or ""}]
    text = "\n\n".join(b["text"] for b in found if b["type"] != "code")
    return re.sub(r"`[^`\n]*`", " ", text)


def unit_blocks(unit: dict) -> list[dict]:
    """The unit's typed blocks (paragraph, list, code, table, admonition, front matter) when ingest wrote
    them, else []: the one place the dataset stage reads the `blocks` column."""
    import json

    raw = unit.get("blocks")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [b for b in raw or [] if isinstance(b, dict)]


_ASKS = re.compile(r"^(?:what|why|how|when|where|which|who|is|are|can|could|does|do|should|will|would)\b", re.I)


def asked_question(unit: dict) -> str:
    """The question a FAQ-style source asks as written: its front matter's `title`, or the title of a
    page without headings, when that is a question ("How do I rotate a key?"); else ''."""
    title = ""
    for b in unit_blocks(unit):
        if str(b.get("type") or b.get("kind") or "").replace("-", "_") in ("front_matter", "frontmatter"):
            fields = b.get("fields") or b.get("meta") or {}
            title = str(fields.get("title") or "") if isinstance(fields, dict) else ""
            if not title:
                m = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", str(b.get("text") or ""), re.M)
                title = m.group(1) if m else ""
            break
    if not title and not unit.get("heading_path"):
        title = str(unit.get("name") or "")  # a page without headings is named by its front matter title
    title = " ".join(title.split())
    return title if title.endswith("?") and _ASKS.match(title) and len(title.split()) >= 3 else ""


def qa(
    chunks: Sequence[Chunk], generator: Generator, cfg: BuildConfig, product: str = "", units: Sequence[dict] = ()
) -> tuple[list[dict], list[dict]]:
    """Question-answer pairs grounded in one chunk; answers the chunk does not support are removed,
    and no two records share a question (see `unique_questions`)."""
    kept, removed = [], []
    units_seen: set[str] = set()
    asked = {u["id"]: asked_question(u) for u in units}
    marked = []
    for c in chunks:  # a section's later chunks are `continued`: its overview question is asked once
        extra = {"question": asked[c["unit_id"]]} if asked.get(c["unit_id"]) else {}
        marked.append(Chunk(**c, **extra, product=product, continued=c["unit_id"] in units_seen))
        units_seen.add(c["unit_id"])
    chunks = marked
    for c, pairs in zip(chunks, generator.questions(chunks)):
        for pair in pairs:
            q, a = pair["question"].strip(), pair["answer"].strip()
            score = grounding(a, c["text"])
            rec = qa_record(c, q, a, generator, cfg, score)
            (kept if score >= cfg.grounding_threshold else removed).append(rec)
    kept, duplicates = unique_questions(kept, generator, cfg)
    return kept, [{"reason": "ungrounded", "record": r} for r in removed] + duplicates


def qa_record(c: Chunk, q: str, a: str, generator: Generator, cfg: BuildConfig, score: float) -> dict:
    return {
        "id": record_id("qa", c["unit_id"], c["id"], q, a),
        "kind": "qa",
        "messages": chat("qa", cfg.system_prompt, q, a),
        "source": source(c),
        "meta": meta(
            generator.name,
            generator.version,
            c["language"],
            heading_path=c["heading_path"],
            chunk_id=c["id"],
            grounding=round(score, 3),
        ),
    }


def question_key(question: str) -> str:
    """Questions that differ only in case, spacing or punctuation are the same question."""
    return " ".join(_TOKEN.findall(question.lower()))


def unique_questions(records: list[dict], generator: Generator, cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """One record per question: a repeated question is removed as `duplicate_question`. It is not told
    apart by naming its section ("..., according to the “Install > Notes” section?"): a reader asks about
    the product, not about a page's headings, so a question only a heading path tells apart makes no record."""
    kept, removed, seen = [], [], set()
    for r in records:
        key = question_key(r["messages"][1]["content"])
        if key in seen:
            removed.append({"reason": "duplicate_question", "record": r})
            continue
        seen.add(key)
        kept.append(r)
    return kept, removed


@lru_cache(maxsize=4)
def _yake(top: int):
    import yake

    return yake.KeywordExtractor(lan="en", n=2, top=top, dedup_lim=0.7)


def keyword_text(text: str) -> str:
    """Prose for YAKE (a chunk's prose blocks, clean from ingest): no URLs or `code`, every line a
    sentence (so a heading and the line after it never merge into one bogus phrase)."""
    from corpus_ft.generate.heuristic import prose

    lines = []
    clean = re.sub(r"\[REDACTED_\w+\]|https?://\S+|`[^`\n]*`", " ", prose(text))
    for line in clean.split("\n"):
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip().strip("`*_")
        if not line or not any(ch.isalnum() for ch in line):  # blank or an rst underline
            continue
        lines.append(line if line[-1] in ".!?:;" else line + ".")
    return "\n".join(lines)


# Never domain terms: markup and doc-tool words, release/changelog vocabulary, filler.
NOT_KEYWORDS = frozenset(
    """autoclass autofunction automethod automodule autodata autoattribute members undoc toctree
maxdepth versionadded versionchanged deprecated seealso literalinclude code-block codeblock sourcecode rst md
markdown html http https www com org github pypi readme docs doc documentation released release releases unreleased
version versions changelog changes change changed issue issues pr prs fix fixes fixed bugfix bug bugs
patch minor major note notes warning tip example examples following see also eg e.g i.e etc todo fixme noqa true
false none null self cls this that yes no default added removed new old use used using via""".split()
)
_VERB_WORDS = frozenset(
    """add allow build call check create define delete enable disable fetch find get install load make
pass read remove return run save send set start stop update use write configure declare deploy ensure import include
provide specify avoid learn see try keep let encrypt decrypt translate convert override customize customise register
serve install upgrade migrate launch connect enforce integrate attempt implement require checkout instruct mock
raise hit submit yield""".split()
)
# Verbs that are rarely nouns in technical prose: as a phrase's last word (or first, lowercase) they make it a clause
# ("error occurs", "decorators execute", "proxies remove", "access inside" aside)
_VERB_ONLY = frozenset(
    """occur execute fail remove begin finish happen exist contain become seem appear belong depend
differ expect ensure provide require include implement accept perform behave apply remain instruct start end run
stop allow enable let make take give mean need want try add grow recognize recognise indicate recommend submit
yield receive power""".split()
)
# Words a noun phrase does not end on: particles and prepositions ("package underneath"), comparatives ("data faster")
_NOT_LAST = frozenset(
    """underneath beneath behind above below across along around through into onto upon within without
about after before between over under up down out off in on at by for from of to with as than faster slower higher
lower larger smaller bigger better worse easier harder simpler longer shorter earlier later greater fewer newer older
instead anyway too either inside outside built made done given taken written shown known seen sent kept left found
held brought is are was were be been being has have had do does did can could will would should must may
might""".split()
)
_OBJECT_WORDS = frozenset(
    """the a an to it its your their our all any each this these that those them you my his her
into with""".split()
)
_COMPARATIVES = frozenset(
    """faster slower higher lower larger smaller bigger better worse easier harder simpler longer
shorter earlier later greater fewer newer older nicer cleaner richer safer stronger wider""".split()
)
_VERB_NEXT = frozenset("as the a an its their your it them when if until once automatically immediately".split())
# Words after which a phrase has ended: function words, verbs of being, punctuation-like words
_ENDS_PHRASE = frozenset(
    """is are was were be been being can could will would should must may might do does did has have
had not no so than then when where which who whose while if as at by for from in into of on onto or and but nor to
every each all some any many most few
with without within the a an this that these those it its their your our via per e.g i.e etc""".split()
)
_NOUN_ED = frozenset("""feed seed speed need bed embed red shed hundred""".split())
_VERSIONISH = re.compile(r"^v?\d+(?:\.\d+)*[a-z]*\d*$|^\d{4}-\d{2}(?:-\d{2})?$|^[a-z]?\d+$", re.I)


def is_keyword(phrase: str) -> bool:
    """A term of the domain: letters, not markup, version or changelog vocabulary."""
    words = phrase.lower().split()
    if not words or len(phrase) < 3 or not any(ch.isalpha() for ch in phrase):
        return False
    if re.search(r"\bpull requests?\b", phrase.lower()):
        return False  # project housekeeping; "request" alone is a term of many domains (HTTP)
    return not any(w.strip(".,:;()") in NOT_KEYWORDS or _VERSIONISH.match(w.strip(".,:;()")) for w in words)


# Words that never make a term on their own or lead one: verbs, adjectives, adverbs and fillers
# that YAKE ranks high in technical prose ("<Product> supports", "Valid", "case explicitly").
GENERIC_WORDS = frozenset(
    """able about above across actually after again against all allow allows almost alone along
already also although always among another any anything anyway appear appears approach around available away back
basic basically because become becomes before behind being below best better between beyond both brief briefly can
cannot case cases certain certainly change changes clear clearly common commonly complete completely consider
contains correct correctly could current currently default defaults different directly does doing done during each
easily easy either else enough entire entirely especially even every everything exact exactly example excellent
existing explicitly extra fairly far few fine first following follows full fully further general generally get gets
given gives go goes good great handle handles have having here however important include included includes including
individual instead just keep kind large later least less let lets like likely little long look lot main mainly make
makes making many may maybe mean means might more most mostly much must need needed needs never new next nice none
normal normally not note now number often old once one only other others otherwise our over own part particular
per perhaps plain please possible possibly pretty previous probably proper properly provide provided provides quick
quickly quite rather really recommended regular related relevant required requires respectively right same see seen
separate set several should show shows similar simple simply since single small so some something sometimes soon
specific specifically still such suitable support supported supports sure take takes than that the their them then
there these thing things this those though through thus together too top toward true try typical typically unlike
unless until upon use used useful uses using usual usually valid various very via want wants way ways well what
whatever when where whether which while whole why wide will with within without work works would yet you your
area areas idea ideas world section sections chapter matter manner fashion big obvious straightforward additional
significant huge tiny real actual detail details granular overall nature aspect aspects involving regarding
concerning depending according""".split()
)
_CODE_SPAN = re.compile(r"`([A-Za-z_][\w.\-]{1,40}(?:\(\))?)`")


def noun_phrase(phrase: str, text: str) -> bool:
    """Whether a phrase reads as a noun phrase a person would search for, without a tagger: it does
    not end on a particle, comparative or past form ("package underneath", "data faster", "Job Failed"),
    is not joined by a conjunction ("command and line tool"), does not open with a verb ("configure
    Uvicorn") and is not a name followed by its verb ("Uvicorn translates" before "the ...")."""
    words = phrase.split()
    if not words:
        return False
    low = [w.lower().strip(".,:;!?()") for w in words]
    last = low[-1].rsplit("-", 1)[-1]  # "Built-in" ends on "in"
    if phrase.rstrip().endswith("?") or last in _NOT_LAST or last in GENERIC_WORDS:
        return False
    if last.endswith("ed") and len(last) > 4 and last not in _NOUN_ED and "`" not in phrase:
        return False
    conj = [i for i, w in enumerate(low) if w in ("and", "or", "but", "nor", "&")]
    if conj and not (len(low) == 3 and conj == [1] and words[0][:1].isupper() == words[2][:1].isupper()):
        return False  # "Arguments and Options" is a topic; "command and line tool" a fragment
    if low[0] in _VERB_WORDS and (
        len(low) == 1 or low[1] in _OBJECT_WORDS or words[1][:1].isupper() or words[0][:1].islower()
    ):
        return False  # "configure <Product>", "Encrypt", "Install the package"
    if low[0] in _COMPARATIVES:
        return False  # "longer buffer"
    if len(low) >= 2 and (_verb_form(last) or (words[0][:1].islower() and _verb_form(low[0], base_only=low[0] == "s"))):
        return False  # "error occurs", "server starts", "code failing"; "instruct <Product>"
    if re.search(re.escape(phrase), text, re.I) and not re.search(
        rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, re.I
    ):
        return False  # "party libraries" only ever inside "third-party libraries"
    follows = [f.lower() for f in re.findall(rf"(?<![\w-]){re.escape(phrase)}[ \t]+([A-Za-z][\w-]*)", text, re.I)]
    if (
        len(low) >= 2
        and last.endswith("s")
        and not last.endswith(("ss", "us", "is", "ics"))
        and (words[0][:1].isupper() or not low[0].endswith("s"))
    ):
        if follows and all(f in _OBJECT_WORDS or f in _VERB_NEXT or f.endswith("ly") for f in follows):
            return False  # "<Product> translates the ...", "protocol starts as ...": a subject and its verb
    before = re.findall(rf"([A-Za-z][\w]*)[ \t]+{re.escape(phrase)}(?![\w-])", text)
    if (
        len(low) >= 2
        and all(w[:1].isupper() for w in words)
        and before
        and all(b[:1].isupper() and b.lower() not in _ENDS_PHRASE | _VERB_WORDS | GENERIC_WORDS for b in before)
    ):
        return False  # "Party Packages" only ever after "Third": the tail of a longer name
    if (
        len(low) >= 2
        and not re.search(r"[^s]s$", last)
        and follows
        and all(
            f not in _ENDS_PHRASE
            and f not in GENERIC_WORDS
            and not f.endswith("ly")
            and f not in _VERB_WORDS
            and not _verb_after(f)
            for f in follows
        )
    ):
        return False  # "Quart web" (framework), "UNIX domain" (socket): the front of a longer name
    return True


def _verb_after(word: str) -> bool:
    """A word after a phrase that reads as its verb ("protocol runs", "network calls", "data received")."""
    from corpus_ft.generate.heuristic import _VERBS

    if word.endswith("ed"):
        return True
    stem = re.sub(r"(?:es|s)$", "", word) if re.search(r"[^s]s$", word) else None
    return stem is not None and (stem in _VERBS or stem + "e" in _VERBS or stem in _VERB_WORDS or stem in _VERB_ONLY)


def _verb_form(word: str, base_only: bool = False) -> bool:
    """ "occurs", "failing", "executed", "remove": a form of a verb that is rarely a noun."""
    if word in _VERB_ONLY:
        return True
    if base_only:
        return False
    for suffix, add in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e")):
        if word.endswith(suffix) and word[: -len(suffix)] + add in _VERB_ONLY:
            return True
    return False


def _proper_name(words: list[str]) -> bool:
    """Every word capitalised or code-like ("Rank Router", "UNIX Domain", "fields.Function"): a name."""
    return all(w[:1].isupper() or re.search(r"[_.\d]|[a-z][A-Z]", w) for w in words)


def _occurrences(phrase: str, text: str) -> int:
    """How often a phrase occurs in the text as whole words (a plural or possessive counts)."""
    words = [re.escape(w) for w in phrase.lower().split()]
    pattern = r"(?<![\w-])" + r"[\s-]+".join(w + r"(?:s|es|'s)?" for w in words) + r"(?![\w-])"
    return len(re.findall(pattern, text.lower()))


def truncated_heading(phrase: str, heading: str) -> bool:
    """A phrase that is a heading cut short: the front of a coordination or of a clause the heading goes on
    with ("Supporting serialization" of "Supporting serialization and deserialization of …", "Comparing X"
    of "Comparing X with Y"), the tail of a longer name ("party libraries" of "third party libraries"), or a
    gerund phrase that is not the whole heading."""
    low, head = phrase.lower(), " ".join(heading.lower().split())
    found = re.search(rf"(?<![\w.-]){re.escape(low)}(?![\w.-])", head)
    if low == head or len(low.split()) < 2 or not found:
        return False  # one word (an identifier such as `PreRun`) is a term wherever it stands
    before, after = head[: found.start()], head[found.end() :]
    rest = after.split()
    if phrase.split()[0].lower().endswith("ing"):
        return True
    prev = before.split()[-1] if before.split() else ""
    if prev and prev[-1].isalnum() and prev not in ("the", "a", "an", "your", "our", "custom"):
        return True  # the tail of a longer name or of a coordination ("PostRun Hooks" of "PreRun and PostRun Hooks")
    return bool(rest) and rest[0] in ("and", "or", "with", "of", "for", "to", "from", "that", "which", "in", "on")


def _term_like(phrase: str, text: str, heading: str) -> bool:
    """A phrase that names a thing of the domain rather than a verb, adjective or filler."""
    words = phrase.split()
    if not noun_phrase(phrase, f"{heading}.\n{text}" if heading and phrase != heading else text):
        return False  # the heading too: "Sending Binary" is the front of "Sending Binary Request Data"
    if any(w.lower().strip(".,") in GENERIC_WORDS or w.lower().endswith("ly") for w in words):
        return False
    if re.search(r"[.,;:!?]\s", phrase):
        return False
    if len(words) > 1 and phrase.lower() in heading.lower():
        return not truncated_heading(phrase, heading)
    if len(words) > 1 and not _proper_name(words) and _occurrences(phrase, text) < 2:
        return False  # a term recurs in its chunk; a pair of words YAKE met once is a fragment ("columns results")
    first = words[0].lower()
    if len(words) > 1 and (first.endswith(("ing", "ed")) or first in _VERB_WORDS):
        return False  # "Making Async", "define requests", "Supported async"
    if len(words) == 1:
        w = words[0]
        codeish = bool(re.search(r"[_.\d]|[a-z][A-Z]", w)) or (w.isupper() and len(w) > 1)
        # a capital that is not only a sentence's or a list item's first letter ("Maximum number ...")
        proper = w[0].isupper() and bool(
            re.search(rf"(?<![.!?:|*\u2014-]\s)(?<![\n.!?:|\u2014-])(?<!^)\b{re.escape(w)}\b", text)
        )
        return codeish or proper
    return True


def extract_keywords(text: str, top: int, heading: str = "", keep: Callable[[str], bool] | None = None) -> list[str]:
    """Domain terms for a chunk, best first: its heading (when it names a topic), YAKE's 1-2 word
    phrases that are terms (no verbs, adjectives, fillers, markup or version words), then the
    code names it mentions most; a phrase sharing a word with a chosen one is skipped."""
    clean_heading = " ".join(heading.replace("`", " ").split()).rstrip(".:")
    body = keyword_text(text)
    candidates: list[str] = []
    if (
        clean_heading
        and len(clean_heading.split()) <= 4
        and clean_heading.lower() not in _NOT_A_TITLE
        and not generic_heading(clean_heading)
        and noun_phrase(clean_heading, body)
    ):
        candidates.append(clean_heading)
    for phrase, _score in _yake(top * 6).extract_keywords(keyword_text(f"{heading}\n{text}" if heading else text)):
        p = phrase.strip(" `*_#.,:;")
        if p.isupper() and len(p) > 5:  # SHOUTED headings of plain-text files
            p = p.lower()
        if _term_like(p, body, clean_heading):
            candidates.append(p)
    spans = Counter(m.group(1) for m in _CODE_SPAN.finditer(text))
    # a code name when it looks like code, or a word of five letters or more that is not a verb (`create`, `main`)
    candidates += [
        s
        for s, _n in spans.most_common()
        if re.search(r"[_.(]|[a-z][A-Z]", s) or (len(s) >= 5 and s.lower() not in _VERB_WORDS)
    ][:3]
    out: list[str] = []
    for p in candidates:
        words = {w.rstrip("s") for w in p.lower().split()}
        if (
            not is_keyword(p)
            or (keep and not keep(p))
            or any(words & {w.rstrip("s") for w in q.lower().split()} for q in out)
        ):
            continue  # one phrase per idea: "service level" after "ledgerline service" adds nothing
        out.append(p)
        if len(out) >= top:
            break
    return out


# Words of the language, format or ecosystem that any chunk of a project may name: a keyword that is
# one of these alone is not a term of the chunk it prompts for ("API", "JSON", "Cargo.toml").
ECOSYSTEM_WORDS = frozenset(
    """api apis sdk cli gui ui json xml yaml yml toml ini csv html css url urls uri uris http https rest web
python java javascript typescript js ts node node.js nodejs deno go golang rust ruby php perl kotlin scala swift
c c++ c# cpp csharp dotnet .net jdk jre jvm android ios linux windows macos unix
cargo cargo.toml crate crates package.json go.mod go.sum pom.xml build.gradle pyproject.toml setup.py setup.cfg
requirements.txt npm yarn pnpm pip pypi maven gradle github gitlab git library libraries framework frameworks
module modules package packages project application applications app apps code program programs
function functions method methods class classes object objects type types value values data file files error
errors string strings""".split()
)
# A single capitalised dictionary-shaped word ("Missing", "Err", "Solution", a person's first name): not a term
# of the chunk unless it is the chunk's heading.
_GENERIC_HEADINGS = frozenset(
    """solution solutions problem symptom symptoms reason cause causes details background motivation example
examples notes note summary overview introduction usage reference misc miscellaneous other others general
goals reasoning rationale conclusion caveats tips faq guide guides tutorial practice practices""".split()
)
_INSTALL_COMMAND = re.compile(
    r"^\$?\s*(?:python -m )?(?:pip|npm|yarn|pnpm|go|cargo|gem|mvn|brew|apt(?:-get)?) (?:install|get|add)\b"
)
_PLAIN_CAPITALISED = re.compile(r"^[A-Z][a-z]+$")
_EMPTY_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s*[,;:.]?\s*$", re.M)
_SHORT_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+([^`\n]{1,40})$")
# A list item of a directory of links whose links were removed: a name, a spaced dash, what it is
# ("- acme-contrib - Extra handlers").
_DIRECTORY_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+[^\s`][^\n]{0,40}?\s[-–—]\s\S")
_ANY_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+\S")


# Under this many words of prose (code aside) a chunk is a stub, a placeholder or a navigation page.
MIN_KEYWORD_PROSE_WORDS = 40
# Words API references use as labels ("Returns", "Parameters") and literal values: never a chunk's subject.
API_LABELS = frozenset(
    """returns return parameters parameter params param args arguments argument raises raise throws yields example
examples note notes see also default defaults type types undefined null nil none true false optional required
deprecated""".split()
)
# A heading or line that names a release ("v1.2.0", "1.2.0 (2021-03-04)", "Release notes", "What's new").
_RELEASE_HEADING = re.compile(
    r"^\s*(?:v?\d+\.\d+(?:\.\d+)?(?:\s.*)?|(?:change ?log|changes|release notes|release history|version history"
    r"|history|news|what'?s new|unreleased)\s*)$",
    re.I,
)
# A list item that reads as a release entry: it cites an issue or pull request, a version, or opens on a change verb.
_RELEASE_ITEM = re.compile(
    r"^\s*(?:[-*+•]|\d+[.)])\s+(?:.*(?:#\d+|\bv?\d+\.\d+\.\d+\b|\bPR\b|\bpull request\b)"
    r"|(?:Add(?:ed|s)?|Fix(?:ed|es)?|Remove[ds]?|Deprecate[ds]?|Change[ds]?|Bump(?:ed|s)?|Update[ds]?|Drop(?:ped|s)?)\b)",
    re.M,
)


@lru_cache(maxsize=1)
def common_english() -> frozenset[str]:
    """General-English words (the shipped list): one of them alone names no chunk's subject."""
    path = Path(__file__).parent / "data" / "common_english.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for ln in lines if not ln.startswith("#") for w in ln.split())


def changelog_like(text: str, heading_path: Sequence[str] | None = None) -> bool:
    """A changelog-style chunk: under a release heading, or a list of four or more release entries
    (issue numbers, versions, "Fixed …") that make up most of its items; its entries are unrelated."""
    if any(_RELEASE_HEADING.match(h or "") for h in heading_path or []):
        return True
    items = re.findall(r"^\s*(?:[-*+•]|\d+[.)])\s+\S", text, re.M)
    entries = _RELEASE_ITEM.findall(text)
    return len(entries) >= 4 and len(entries) >= 0.5 * len(items)


def generic_keyword(keyword: str) -> bool:
    """A keyword that names nothing specific: one general-English word, API label or literal ("Missing",
    "filter", "Returns", "undefined", "Err", "LOC"), or a phrase led by a label or holding a literal."""
    words = [w.strip("`()[].,:;").lower() for w in keyword.split()]
    if not words:
        return True
    if len(words) == 1:
        w = keyword.strip("`()[].,:;")
        if re.search(r"[_.\d]|[a-z][A-Z]", w):
            return False  # an identifier's shape (`PreRun`, `fields.Nested`, `snake_case`) is not a dictionary word
        return words[0] in API_LABELS or words[0] in common_english() or words[0] in GENERIC_WORDS
    return words[0] in API_LABELS or any(w in {"undefined", "null", "nil", "true", "false"} for w in words)


def in_headings(keyword: str, heading_path: Sequence[str]) -> bool:
    """Whether a heading of the chunk's path names the keyword (whole words, a plural counts)."""
    return any(_occurrences(keyword.strip("`"), " ".join((h or "").replace("`", " ").split())) for h in heading_path)


_INDENTED_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.M | re.S)


def about_chunk(keyword: str, prose: str, heading_path: Sequence[str], text: str = "") -> bool:
    """A keyword the chunk is about: its heading path names it, or its prose (code blocks aside) uses it twice;
    an identifier (`GenFishCompletion()`) once in the prose counts when the chunk's code uses it too."""
    name = keyword.strip("`")
    if in_headings(keyword, heading_path):
        return True
    prose = _INDENTED_FENCE.sub(" ", prose)  # a fence inside a list item stays in the item's prose block
    said = _occurrences(name, prose.replace("`", " "))
    if said >= 2:
        return True
    shaped = bool(re.search(r"[_.(]|[a-z][A-Z]", name))
    return shaped and said == 1 and text.count(name.rstrip("()")) > prose.count(name.rstrip("()"))


def generic_heading(heading: str) -> bool:
    """A heading made only of general words, labels and doc-page names ("Basic usage", "More examples",
    "Other notes"): it names no topic of its own."""
    words = [w.strip("`()[].,:;!?").lower() for w in heading.split()]
    general = GENERIC_WORDS | _GENERIC_HEADINGS | API_LABELS | _NOT_A_TITLE
    return bool(words) and all(w in general or w in NOT_KEYWORDS for w in words)


# Words code samples name their own throwaway things with ("foo.md", "my-script", "MyThing", "hello_app").
_PLACEHOLDERS = frozenset("foo bar baz qux quux my your some example sample demo hello dummy".split())
# A name bound in a code sample: `const x =`, `let x`, `var x`, `x :=`, or a line that assigns it (`x = …`, `x: T = …`).
_BINDS = r"(?:^|[\s(,;{{])(?:const|let|var|val|auto|final|my)\s+(?:mut\s+)?{name}\b|\b{name}\s*:=|^\s*{name}\s*(?::[^=\n]+)?=[^=]"


def example_name(keyword: str, text: str) -> bool:
    """A keyword that names a thing of one code sample rather than of the project: a variable the chunk's code
    binds itself (`const acmeStore = create(...)`, `cfg := ...`), or a file or identifier built on a
    placeholder word (`foo.md`, `my-script`, `MyThing`, `main.go`)."""
    name = keyword.strip("`").removesuffix("()")
    if " " in name or not name:
        return False
    parts = [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]
    if parts and parts[0] in _PLACEHOLDERS:
        return True
    stem, dot, ext = name.rpartition(".")
    if dot and stem and re.fullmatch(r"[a-z]{1,4}", ext) and "/" not in name and stem.lower() in common_english():
        return True  # a file named with a plain word (`main.go`, `index.html`, `app.py`): the sample's own file
    code = "\n".join(m.group(0) for m in re.finditer(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1", text, re.M | re.S))
    return bool(code) and bool(re.search(_BINDS.format(name=re.escape(name)), code, re.M))


def _spelled(name: str) -> str:
    """A name with its word separators made one ("acme-client", "Acme client", "acme_client" alike)."""
    return re.sub(r"[\s_-]+", " ", name.lower()).strip()


def specific_keywords(kws: Sequence[str], heading: str, product: str, common: set[str]) -> list[str]:
    """Keep only the terms specific to the chunk: not an ecosystem word, not the product's name, not a
    phrase most chunks of the corpus use, and not a plain capitalised word other than the chunk's heading."""
    head = " ".join(heading.replace("`", " ").split()).rstrip(".:").lower()
    out = []
    for k in kws:
        low = k.lower().strip("`()")
        if low == head:
            if low not in _GENERIC_HEADINGS and low not in ECOSYSTEM_WORDS:
                out.append(k)
            continue
        if (
            low in ECOSYSTEM_WORDS
            or (product and _spelled(low) in {_spelled(product), _spelled(product) + "'s"})
            or low in common
        ):
            continue
        if _PLAIN_CAPITALISED.match(k) or _INSTALL_COMMAND.match(low):
            continue
        out.append(k)
    return out


def keyword_worthy(chunk: Chunk) -> bool:
    """Whether a chunk can anchor a keyword record: not a list whose links were removed (empty bullets, three or
    more short bare items, or a directory of "name - what it is" items, with little prose around them), not a short
    page that only points elsewhere, not a chunk that opens mid-thought."""
    text = prose_text(chunk)
    if _EMPTY_ITEM.search(text) or opens_mid_thought(chunk) or points_elsewhere(chunk):
        return False
    lines = [ln for ln in text.split("\n") if ln.strip()]
    items = [ln for ln in lines if _SHORT_ITEM.match(ln) and not re.search(r"[.!?:]\s*$", ln.strip())]
    words = len(re.findall(r"\w+", " ".join(ln for ln in lines if ln not in items)))
    if len(items) >= 3 and len(items) >= 0.6 * len(lines) and words < 25:
        return False
    entries = [ln for ln in lines if _ANY_ITEM.match(ln)]
    named = [ln for ln in entries if _DIRECTORY_ITEM.match(ln)]
    around = len(re.findall(r"\w+", " ".join(ln for ln in lines if not _ANY_ITEM.match(ln))))
    if len(named) >= 2 and len(named) + len([e for e in entries if e in items]) >= 0.6 * len(entries) and around < 40:
        return False  # a directory of names whose links were removed: nothing in it says what they do beyond a line
    if len(re.findall(r"\w+", text)) < MIN_KEYWORD_PROSE_WORDS or changelog_like(text, chunk.get("heading_path")):
        return False  # too little prose to be what a prompt is about, or a list of unrelated release entries
    return True


def common_phrases(chunks: Sequence[Chunk], phrases: set[str], share: float = 0.2) -> set[str]:
    """Phrases (lowercase) found in more than `share` of the corpus's chunks (five at least): they name
    the whole corpus's subject ("the product", its format), not one chunk's."""
    if len(chunks) < 10:
        return set()
    texts = [c["text"].lower() for c in chunks]
    limit = max(5, share * len(texts))
    return {p for p in phrases if sum(bool(re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", t)) for t in texts) > limit}


def _heading(c: Chunk) -> str:
    return (c.get("heading_path") or [""])[-1]


def _generic_head_noun(keyword: str) -> bool:
    """A phrase whose head noun is a doc-page word ("quick solution", "common problem", "good practices"):
    it names a kind of passage, not a thing of the project; only the section's own heading may say so."""
    words = keyword.lower().split()
    return len(words) > 1 and words[-1].strip("`()[].,:;") in _GENERIC_HEADINGS


def keyword_fits(
    keyword: str, heading: str, path: Sequence[str], prose: str, product: str, common: set[str], text: str = ""
) -> bool:
    """A keyword a reader keeps: specific to the corpus, not a generic word, and what the chunk is about."""
    return (
        bool(specific_keywords([keyword], heading, product, common))
        and not generic_keyword(keyword)
        and not (example_name(keyword, text) and not in_headings(keyword, path))
        and not (_generic_head_noun(keyword) and not in_headings(keyword, path))
        and about_chunk(keyword, prose, path, text)
    )


def enough_keywords(kws: Sequence[str], path: Sequence[str]) -> bool:
    """Two terms, or one multi-word term the heading path names (a section's own topic, "Two-way Nesting"):
    a lone word or code name is a weak prompt."""
    return len(kws) >= 2 or (len(kws) == 1 and len(kws[0].split()) >= 2 and in_headings(kws[0], path))


def keywords(chunks: Sequence[Chunk], cfg: BuildConfig, product: str = "") -> list[dict]:
    """ "Tell me about <keywords>" -> the chunk, templates rotated by chunk so prompts vary; no record
    for a chunk without two terms specific to it and about it, or one its heading names (rather than a weak one);
    heading-named and
    multi-word terms first."""
    worthy = [c for c in chunks if keyword_worthy(c)]
    top = cfg.keywords_per_record
    seen = {k.lower() for c in worthy for k in extract_keywords(prose_text(c), top, _heading(c))}
    common = common_phrases(chunks, seen)
    out = []
    for c in worthy:
        heading, path, prose = _heading(c), c.get("heading_path") or [], prose_text(c)
        kws = extract_keywords(
            prose,
            top,
            heading,
            keep=lambda k, h=heading, p=path, t=prose, x=c["text"]: keyword_fits(k, h, p, t, product, common, x),
        )
        if not enough_keywords(kws, path):
            continue  # no record rather than a weak one
        kws = sorted(kws, key=lambda k, p=path: (not in_headings(k, p), len(k.split()) < 2))
        template = KEYWORD_TEMPLATES[int(c["id"].rsplit("-", 1)[-1], 16) % len(KEYWORD_TEMPLATES)]
        user = template.format(kw=", ".join(kws[:-1]) + " and " + kws[-1] if len(kws) > 1 else kws[0])
        answer = with_context(c)
        out.append(
            {
                "id": record_id("keywords", c["unit_id"], c["id"], user),
                "kind": "keywords",
                "messages": chat("keywords", cfg.system_prompt, user, answer),
                "source": source(c),
                "meta": meta(
                    "yake", "1", c["language"], heading_path=c["heading_path"], chunk_id=c["id"], keywords=kws
                ),
            }
        )
    return out


# Where a doc comment's summary ends: a tag or field list (`@param`, `:returns:`, `Args:`), a
# section heading (`# Examples`, `Returns`), a directive, a doctest or a fenced example.
_DOC_SECTION = re.compile(
    r"^\s*(?:@\w+|:\w[\w ]*:|\.\. \w|>>>|```|~~~|#+\s+\w|(?:(?:Type p|P)arameter `[^`]+`|Throws `[^`]+`|Returns):\s"
    r"|(?:Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Throws|Examples?|Usage|Notes?|See [Aa]lso"
    r"|Attributes|Warnings?|Todo|Options)\s*:?\s*$|(?:Args|Arguments|Parameters|Returns|Raises|Examples?):\s)",
    re.M,
)


def good_docstring(doc: str | None, min_words: int) -> str | None:
    """The doc comment's first paragraph, as written, when it says enough to be a summary.

    The doc column holds the comment read whole with its inline tags already rendered by ingest;
    nothing here treats code text as markup (`__eq__` stays `__eq__`).
    """
    if not doc:
        return None
    returns = re.match(r"@returns?\s+(?:\{[^}]*\}\s*)?(\S[^@]*)", doc.strip())
    if returns:  # a Javadoc/JSDoc comment that is only `@return the last emitted char`: what it returns
        doc = "Returns " + returns.group(1).strip()
    head = _DOC_SECTION.split(doc.strip(), maxsplit=1)[0] if _DOC_SECTION.search(doc) else doc.strip()
    paragraphs = [p for p in re.split(r"\n\s*\n", head) if p.strip()]
    if not paragraphs or paragraphs[0][:1] in (" ", "\t"):
        return None  # the comment opens with indented code, not a sentence
    first = " ".join(paragraphs[0].split())
    if re.search(r"&(?:[a-z]+|#\d+);", first):  # an HTML entity a doc renderer would show as its character
        import html

        # in prose only: a code span shows the entity as written (`&lt;` is what `unescape` reads)
        first = "".join(p if i % 2 else html.unescape(p) for i, p in enumerate(re.split(r"(`[^`]*`)", first)))
    first = re.split(r"\s@(?:param|returns?|throws|type)\b", first)[0].strip()  # JSDoc tags after the summary
    first = re.split(r"\b(?:TODO|FIXME|XXX|HACK)\b", first)[0].strip()  # a note to the maintainer ends it
    if re.match(r"^[\w.\[\]]+\s*=\s*\S|^>>>", first):
        return None  # "url = httpx.URL(...)": an example, not a summary
    if re.search(r"(?:\be\.g\.|\bi\.e\.|\bfor example|\bsuch as),?$", first, re.I):
        first = first.rstrip(",") + ":"  # "…, return a list of tuples, e.g.," is cut before its example
    if first.endswith(":"):  # "For example, during a PATCH request:" introduces what the summary leaves out
        sentences = re.split(r"(?<=[.!?])\s+", first)
        if len(sentences) > 1:
            first = " ".join(sentences[:-1])
        elif ", " in first:  # "Bind checks the method, ..., for example:": up to the clause that introduces
            first = first.rsplit(", ", 1)[0].rstrip(",;") + "."
    if (
        len(_TOKEN.findall(first)) < min_words
        or not re.search(r"\s", first)  # one token ("--field-match-separator") names, it does not summarise
        or first.lower().startswith(("todo", "fixme", "@", ":param", ":return", ".."))
        or first.endswith(":")
    ):
        return None  # "... yields the following information:" is half a summary
    return first


_GENERATED_PATH = re.compile(
    r"(?:_pb2(?:_grpc)?\.py|\.pb\.go|_generated\.\w+|\.g\.dart|\.designer\.cs)$"
    r"|(?:^|/)(?:generated|gen)/"
)


# A declaration line with nothing declared in it: a Python class header (`:` ends it, `pass`/`...` taken
# out above), empty braces, or a brace-less unit struct (`pub struct Acme;`).
_EMPTY_DECLARATION = re.compile(r":$|\{\s*\}?\s*;?$|^[^(){}<>=]*;$")


def summary_of(unit: dict, min_words: int) -> str | None:
    """The unit's doc comment summary, or None when there is none or it is thin (it only restates the
    name or says when the code is called): such a unit waits for a model generator like one without a doc."""
    from corpus_ft.datasets.measure import cut_summary, thin_summary

    doc = good_docstring(unit.get("docstring"), min_words)
    return None if doc is None or thin_summary(doc, unit.get("name") or "") or cut_summary(doc) else doc


# A doc comment that says the code is another project's, copied in: "Adapted from https://…/jaro.go.",
# "AcmeEntry is essentially copied from the walkdir crate", "Vendored from acme-lib 1.2". A sentence
# about a technique ("This technique … was copied from Go 1.7") is not the code's provenance.
_VENDORED_DOC = re.compile(
    r"(?im)^(?:[\w.]+ (?:is|was) )?(?:essentially |mostly |largely |partly )?"
    r"(?:adapted|copied|ported|vendored|forked)(?: verbatim)? from\b"
    r"|^[\w.]+ (?:adapted|copied|ported|vendored|forked) from:?\s+https?://"
    r"|(?:\bfrom|\bbased on|\bport of)\b[^\n]{0,120}https?://\S+/blob/"  # "Parsing code from Acme https://…/blob/…"
)


def skip_reason(unit: dict) -> str | None:
    """Why a code unit makes no record, from the facts ingest read: `generated`, `vendored` (its doc
    comment says it was copied or adapted from another project), `stub` (an empty, pass/.../not-implemented
    or `@overload` body, a `.pyi` stub, a class with no body), `abstract` (no body), else None."""
    path = unit.get("path") or ""
    if unit.get("category") == "generated" or unit.get("body_kind") == "generated" or _GENERATED_PATH.search(path):
        return "generated"
    if _VENDORED_DOC.search(unit.get("docstring") or ""):
        return "vendored"
    if unit.get("kind") == "class":
        # a class with no body beyond its doc comment (`class AcmeError(Exception): """…"""`, `type acme
        # struct{}`, `pub struct Acme;`): the code to explain is an empty declaration, and the summary can
        # only repeat the doc comment; `enum Mode {html, xml}` on one line has members and stays
        shown = without_docstring(unit, unit.get("text") or "")
        body = [ln.strip() for ln in shown.split("\n") if ln.strip() not in ("", "pass", "...", "}", "};")]
        return "stub" if len(body) <= 1 and (not body or _EMPTY_DECLARATION.search(body[0])) else None
    if path.endswith(".pyi"):
        return "stub"
    return unit.get("body_kind") or None


def without_docstring(unit: dict, code: str) -> str:
    """Code to explain with its doc comment taken out, so the answer is not a copy of the prompt.
    Only a Python docstring sits inside the unit's text; other languages' doc comments sit above it."""
    first, last, start = unit.get("doc_start_line") or 0, unit.get("doc_end_line") or 0, unit.get("start_line") or 0
    if not first or first < start or code != (unit.get("text") or ""):
        return code
    lines = code.split("\n")
    a, b = first - start, last - start + 1
    if b < len(lines) and not lines[b].strip():
        b += 1  # and the blank line after it
    return "\n".join(lines[:a] + lines[b:])


_ANONYMOUS = re.compile(r"<anonymous>|<lambda>|\banonymous\b|\$\d+|(?:^|\.)(?:lambda|\(anonymous\))$", re.I)


def outline(unit: dict, members: Sequence[dict]) -> str:
    """A class too long for one record, as its signature, doc comment and its methods' signatures
    with the first line of each one's doc comment."""
    python = (unit.get("language") or "") == "python"
    sig = (unit.get("signature") or (unit.get("text") or "").split("\n", 1)[0]).rstrip()
    out = [sig]
    doc = (unit.get("docstring") or "").split("\n\n")[0].strip()
    if doc and python:
        out.append(f'    """{doc}"""')
    shown: set[str] = set()
    for m in members:
        msig = (m.get("signature") or "").strip()
        key = " ".join(msig.split())
        if not msig or key in shown or _ANONYMOUS.search(m.get("name") or ""):
            continue  # an outline names each member once: overrides in enum constants or anonymous classes repeat
        shown.add(key)
        mdoc = (m.get("docstring") or "").split("\n")[0].strip()
        if python:
            out += ["", *(f"    {ln}" for ln in msig.split("\n"))]
            out += [f'        """{mdoc}"""'] if mdoc else []
            out.append("        ...")
        else:
            out += [f"    /** {mdoc} */"] if mdoc else []
            out.append(f"    {msig} ...")
    if sig.endswith("{"):
        out.append("}")
    return "\n".join(out).rstrip()


def _fence(language: str, code: str) -> str:
    """A Markdown fence longer than any backtick run in the code, so a docstring's own ``` cannot close it."""
    ticks = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", code)), default=0))
    return f"{ticks}{language}\n{code}\n{ticks}"


def code_summary(units: Sequence[dict], generator: Generator, cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """Summary -> code (write it) and code -> summary (explain it), from the doc comment, else from
    a model generator, else nothing.

    Generated code, stubs and abstract members make no records (removed as `generated`, `stub`,
    `abstract`). The offline generator writes no summaries: a unit without a doc comment is removed
    as `needs_model_generator` and left to the `hf`/`openai` generators. A class too long for one
    record is shown as its outline (signature, doc comment, method signatures).
    """
    skipped = [(u, skip_reason(u)) for u in units]
    units = [u for u, why in skipped if why is None]
    removed = [
        {"reason": why, "record": _code_record(u, "summary_to_code", "", "", "none", "1", "-", cfg)}
        for u, why in skipped
        if why is not None
    ]
    summaries: list[str | None] = [summary_of(u, cfg.min_docstring_words) for u in units]
    need = [i for i, s in enumerate(summaries) if s is None]
    offline = not getattr(generator, "writes_code_summaries", True)
    generated = generator.summaries([units[i] for i in need]) if need and not offline else []
    origin = ["docstring" if s else generator.name for s in summaries]
    for i, s in zip(need, generated):
        summaries[i] = s.strip() if s and s.strip() else None
    members: dict[tuple[str, str], list[dict]] = {}
    for u in units:
        if u.get("kind") == "method" and u.get("parent"):
            members.setdefault((u["path"], u["parent"]), []).append(u)
    out = []
    for u, summary, how in zip(units, summaries, origin):
        lang, name, kind = u.get("language") or "", u.get("name") or "", u.get("kind") or "function"
        gen_name, version = ("docstring", "1") if how == "docstring" else (generator.name, generator.version)
        shown, what = u.get("text") or "", ""
        if kind == "class" and len(shown) > cfg.max_chars - 2000:
            shown = outline(u, members.get((u["path"], name), []))
            what = "the outline (signature, doc comment, method signatures) of "
        where = f"`{name}` ({lang} {kind} in `{u['path']}`)"
        pairs = (
            (
                "summary_to_code",
                f"Write {what}{where}." + (f"\n\nWhat it does: {summary}" if summary else ""),
                _fence(lang, shown),
            ),
            (
                "code_to_summary",
                f"Explain what {where} does.\n\n{_fence(lang, without_docstring(u, shown))}",
                summary or "",
            ),
        )
        for direction, user, assistant in pairs:
            rec = _code_record(u, direction, user, assistant, gen_name, version, how, cfg)
            if summary is None:
                removed.append({"reason": "needs_model_generator" if offline else "no_summary", "record": rec})
            else:
                out.append(rec)
    return out, removed


def _code_record(
    u: dict, direction: str, user: str, assistant: str, gen_name: str, version: str, how: str, cfg: BuildConfig
) -> dict:
    return {
        "id": record_id("code_summary", u["id"], direction, user, assistant),
        "kind": "code_summary",
        "messages": chat(
            "code_summary", cfg.system_prompt, user or f"Write `{u.get('name')}`.", assistant or (u.get("text") or "")
        ),
        "source": source(u, u["id"]),
        "meta": meta(
            gen_name,
            version,
            u.get("language") or "",
            direction=direction,
            name=u.get("name") or "",
            summary_source=how,
        ),
    }
