"""Paragraph chunks of document sections, packed from the blocks ingest parsed: sized in tokens (or
characters), heading path kept, a code block, a table or a list item never cut, each chunk's span
the lines of its blocks. `paragraphs`, `qa` and `keywords` all start here."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from corpus_ft.generate import Chunk
from corpus_ft.util import CorpusFtError

_URL = re.compile(r"<?\bhttps?://[^\s>]+>?")
# Never cut, whatever their size: a chunk holds the whole block or none of it.
WHOLE = frozenset({"code", "table", "list_item", "heading", "label", "autodoc", "math"})
_NOT_PROSE = frozenset({"code", "heading", "label", "autodoc", "math", "front_matter"})


@dataclass(frozen=True)
class Splitter:
    """How chunks are measured and cut: `length` counts characters or the model's tokens; `split`
    (langchain's RecursiveCharacterTextSplitter, public API only) cuts a paragraph too long for
    one chunk at paragraph, line, sentence and word boundaries."""

    size: int
    overlap: int
    length: Callable[[str], int]
    split: Callable[[str], list[str]]


def make_splitter(size: int, overlap: int, tokenizer: Path | None) -> Splitter:
    """A Splitter of `size` characters, or tokens of the model's tokenizer when one is given."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if tokenizer is None:
        length = len
    else:
        tok = load_tokenizer(tokenizer)

        def length(text: str) -> int:
            return len(tok.tokenize(text))

    cutter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, length_function=length)
    return Splitter(size, overlap, length, cutter.split_text)


def load_tokenizer(path: Path):
    """A local tokenizer (model dir); the hub is never asked."""
    if not Path(path).is_dir():
        raise CorpusFtError(
            f"datasets.tokenizer: {path} is not a directory; give the local model directory "
            "whose tokenizer should measure chunks, or leave it unset to measure in characters"
        )
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def chunk_id(unit_id: str, index: int, text: str) -> str:
    return "chunk-" + hashlib.sha256(f"{unit_id}\0{index}\0{text}".encode()).hexdigest()[:16]


def prose_words(blocks: list[dict]) -> int:
    """Words of prose in a chunk's blocks: not code, headings, labels or lines that are only a
    `name`, and not URLs."""
    count = 0
    for block in blocks:
        if block["type"] in _NOT_PROSE:
            continue
        for line in block["text"].split("\n"):
            line = line.strip()
            if re.fullmatch(r"`[^`]*`[.:]?", line):
                continue
            count += len(re.findall(r"[^\W\d_]{2,}", _URL.sub("", line)))  # a URL is not words of prose
    return count


def prose_text(chunk: Chunk) -> str:
    """A chunk's prose: its blocks other than code, headings, labels and math, one paragraph each."""
    found = chunk.get("blocks") or [{"type": "paragraph", "text": chunk["text"]}]
    return "\n\n".join(b["text"] for b in found if b["type"] not in _NOT_PROSE)


def render(block: dict) -> str:
    """A block as a chunk shows it: a heading with its `#`s, code in a fence naming its language."""
    if block["type"] == "heading":
        return "#" * min(max(block.get("level") or 1, 1), 6) + " " + block["text"]
    if block["type"] == "code":
        runs = [len(m) for m in re.findall(r"`{3,}", block["text"])]
        ticks = "`" * max(3, max(runs, default=0) + 1)
        return f"{ticks}{block.get('lang') or ''}\n{block['text']}\n{ticks}"
    return block["text"]


def pieces(unit: dict, splitter: Splitter) -> list[dict]:
    """A unit's blocks as chunk pieces (a block, or part of a paragraph too long for one chunk),
    each with its own source span. A unit without blocks (written by hand) is one paragraph."""
    blocks = [b for b in unit.get("blocks") or [] if b["type"] != "front_matter" and b["text"].strip()]
    if not blocks:
        text = (unit.get("text") or "").strip("\n")
        start = unit.get("start_line") or 1
        blocks = [{"type": "paragraph", "text": text, "start_line": start, "end_line": unit.get("end_line") or start}]
    out = []
    for b in blocks:
        text = render(b)
        if b["type"] in WHOLE or splitter.length(text) <= splitter.size:
            out.append({**b, "shown": text})
            continue
        lines, at = text.split("\n"), 0
        for part in splitter.split(text):
            first, last = _lines_of(part, lines, at)
            at = first
            span = b["end_line"] - b["start_line"]  # a paragraph's lines are its source lines, when they match
            same = span == len(lines) - 1
            start, end = (b["start_line"] + first, b["start_line"] + last) if same else (b["start_line"], b["end_line"])
            out.append({**b, "text": part, "shown": part, "start_line": start, "end_line": end})
    return out


def _lines_of(part: str, lines: list[str], at: int) -> tuple[int, int]:
    """(first, last) index in `lines` of a part the splitter cut, looked up from line `at` on."""
    mine = [line for line in part.split("\n") if line.strip()]
    if not mine:
        return at, at
    first = next((i for i in range(at, len(lines)) if mine[0].strip() in lines[i]), at)
    last = next((i for i in range(len(lines) - 1, first - 1, -1) if mine[-1].strip() in lines[i]), first)
    return first, last


# A sentence that points at what comes next: it ends with a colon, or says "the following" / "as follows".
_INTRODUCES = re.compile(
    r"(?::|\b(?:the following|as follows)\b[^.!?]*[.!?]?)\s*$|^(?:here(?:'s| is| are)|below is|see the example below)\b",
    re.I,
)


def introduces(text: str) -> bool:
    """Whether a piece of prose ends by introducing the block after it ("… as follows:", "Here is an example:")."""
    last = re.split(r"(?<=[.!?])\s+", text.rstrip().rsplit("\n", 1)[-1].strip())[-1]
    return bool(last) and not last.startswith(("#", "```", "~~~")) and bool(_INTRODUCES.search(last))


# A paragraph that leans on what came before it. Sure signs, wherever it stands (`_CONNECTIVE`): it opens on a
# contrast, a sequel or a reply ("Alternatively, …", "Secondly, …", "Yes. …", "(Note: …"). Milder signs
# (`_CONTINUES`), which only count where no heading opens the chunk (a section may open on "This page …"):
# a pronoun, a result or an addition ("This will fail …", "Test it with:", "… can also …").
_CONNECTIVE = re.compile(
    r"^\(|^(?:alternatively|and|but|or|however|otherwise|instead|additionally|furthermore|moreover|similarly|"
    r"likewise|finally|secondly|thirdly|lastly|yes|no|"
    r"in (?:this|that|the (?:previous|above|next)|either) (?:case|example)|as (?:shown|mentioned|explained|described))\b",
    re.I,
)
_CONTINUES = re.compile(
    r"^(?:also|another|so|then|thus|hence|therefore|next|note|notice|in addition|for (?:example|instance)|this|these|that|those|"
    r"it|they|here|there|the (?:above|previous|same|result|output)|test it|result|output)\b"
    r"|^[^.!?\n]*\b(?:also|as well)\b",
    re.I,
)
# A sentence the source cut in two: it opens on a lowercase function word ("you can pass it twice", "which means …").
_LOWER_START = re.compile(r"^(?:you|we|which|where|and|or|but|so|then|the|a|an|to|in|of|with|for|that|this|it)\b")
# A sentence that points back at text or code shown before it ("In the above examples", "the Acme handler
# above", "the aforementioned setting"): wherever it stands, it leans on what the reader saw earlier.
_POINTS_BACK = re.compile(
    r"^[^.!?\n]*\b(?:above|previous (?:example|section|step|question|answer)s?|aforementioned|earlier)\b", re.I
)
# A short question standing as its own paragraph: an FAQ entry whose answer follows.
_QUESTION = re.compile(r"^[^\n]{3,200}\?$")


def continues(piece: dict, before: dict | None) -> bool:
    """Whether a chunk piece leans on the piece before it, so a chunk should not open on it: code, a table or
    math after prose (what the prose shows), a list item after a list item or an introduction, a paragraph
    that opens on a connective or points back ("Alternatively, …", "This will fail …", "the example above")."""
    if before is None or before["type"] == "heading":
        return False
    kind, text = piece["type"], piece["text"].lstrip()
    if kind in ("code", "table", "math", "autodoc"):
        return before["type"] not in ("heading", "label")
    if kind == "list_item":
        return before["type"] == "list_item" or introduces(before["shown"])
    if kind == "admonition":
        return True  # a note or warning qualifies what it follows
    if before["type"] == "paragraph" and _QUESTION.match(before["text"].strip()):
        return True  # the answer to the question just asked
    if kind == "paragraph":
        first = _first_sentence(text)
        return bool(
            _CONNECTIVE.search(first)
            or _CONTINUES.search(first)
            or _POINTS_BACK.search(first)
            or _LOWER_START.match(first)
        )
    return False


def opens_mid_thought(chunk: Chunk) -> bool:
    """A chunk that opens where a thought began in the chunk before it: on a paragraph that leans back
    ("Alternatively, …", "This will fail …", "the example above"), or mid-list (a list item with no heading
    above it); read alone, it depends on text the reader never sees. A chunk that opens on code (an example
    too long to share a chunk with its introduction) still reads as an example under its headings."""
    blocks = [b for b in chunk.get("blocks") or [] if b["type"] != "label"]
    if blocks and blocks[0]["type"] == "heading":  # under its heading, a section may still open by pointing back
        lead = next((b for b in blocks[1:] if b["type"] != "heading"), None)
        return bool(lead and lead["type"] == "paragraph" and _POINTS_BACK.search(_first_sentence(lead["text"])))
    if not blocks:
        return False
    first = blocks[0]
    return first["type"] in ("list_item", "admonition") or (
        first["type"] == "paragraph" and continues(first, {"type": "paragraph", "text": "", "shown": ""})
    )


def leans_back(text: str) -> bool:
    """Whether a passage's first sentence surely leans on text before it, heading or not: a connective or
    reply ("Alternatively, …", "Yes. …"), or a pointer back ("the example above")."""
    first = _first_sentence(text)
    return bool(_CONNECTIVE.search(first) or _POINTS_BACK.search(first))


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.lstrip(), maxsplit=1)[0]


def _fresh_start(group: list[dict], piece: dict, splitter: Splitter) -> int | None:
    """Where the chunk ending in `group` should hand its tail to the next chunk, which would otherwise open
    on `piece` that leans on what comes before: the last index whose piece opens a thought (a heading, or a
    piece that does not lean back), if that tail and `piece` fit one chunk and something more than headings
    stays behind. None where no such index is found."""
    if not continues(piece, group[-1]):
        return None
    room = splitter.size - splitter.length(piece["shown"])
    for k in range(len(group) - 1, 0, -1):
        room -= splitter.length(group[k]["shown"]) + 2
        if room < 0:
            return None
        if continues(group[k], group[k - 1]):
            continue
        if group[k - 1]["type"] == "heading":
            continue  # a heading goes with what it heads
        if all(b["type"] in ("heading", "label") for b in group[:k]):
            return None
        return k
    return None


def _leads_on(piece: dict) -> bool:
    """A prose piece that only makes sense with what follows it: an introduction ("… as follows:") or a question."""
    if piece["type"] in _NOT_PROSE:
        return False
    return introduces(piece["shown"]) or bool(_QUESTION.match(piece["text"].strip()))


def pack(parts: list[dict], splitter: Splitter) -> list[list[dict]]:
    """Consecutive pieces into groups of at most `size` (a piece bigger than that is a group alone).
    A group never opens on a piece that leans on the one before it (code after its introduction, the next
    list item, "Alternatively, …") when the thought it belongs to fits the next group: that thought moves on."""
    groups: list[list[dict]] = []
    used = 0
    for p in parts:
        n = splitter.length(p["shown"])
        if groups and used + n + 2 <= splitter.size:  # 2: the blank line between blocks
            groups[-1].append(p)
            used += n + 2
            continue
        k = _fresh_start(groups[-1], p, splitter) if groups else None
        if (
            k is None
            and groups
            and _leads_on(groups[-1][-1])
            and any(b["type"] not in ("heading", "label") for b in groups[-1][:-1])
        ):
            k = len(groups[-1]) - 1  # no thought fits whole: at least the introduction goes with what it introduces
        if k is not None:
            lead = groups[-1][k:]
            del groups[-1][k:]
            groups.append([*lead, p])
            used = sum(splitter.length(b["shown"]) + 2 for b in lead) + n
        else:
            groups.append([p])
            used = n
    return groups


# A shell line that installs a package ("pip install x", "npm i x", "go get x", "cargo add x").
_INSTALL_LINE = re.compile(
    r"^\s*(?:[$>%]\s*)?(?:sudo\s+)?(?:python\d?(?:\.\d+)? -m )?"
    r"(?:pip\d?|pipx|uv(?: pip)?|poetry|conda|npm|yarn|pnpm|bun|go|cargo|gem|bundle|composer|mvn|gradle|brew|"
    r"apt(?:-get)?|dotnet|nuget|nvm|rustup|sdk)\s+(?:install|i|add|get)\b"
)


def install_stub(chunk: Chunk) -> bool:
    """A chunk that is only an install command with a line or two of prose around it ("To install X, run:"):
    it teaches nothing a model should learn as a passage."""
    blocks = chunk.get("blocks") or []
    code = [b for b in blocks if b["type"] == "code"]
    if not code:
        return False
    lines = [ln for b in code for ln in b["text"].split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    installs = sum(bool(_INSTALL_LINE.match(ln)) for ln in lines)
    if not lines or len(lines) > 3 or 2 * installs < len(lines):  # mostly install lines ("… then run the app")
        return False
    return prose_words([b for b in blocks if b["type"] != "code"]) < 30


# Under this many words of prose, a chunk with no code, table or list is a stub: a heading and a line, a note
# that only points elsewhere ("Use the Acme client instead"), a placeholder file.
MIN_PASSAGE_WORDS = 25


# A sentence that sends the reader elsewhere ("… can be found in our Security Policy.", "See the user guide …").
# A sentence that sends the reader elsewhere: "see/read/visit/refer to" only with a document, a link or a
# place as its object ("see the user guide", "read our FAQ", "visit https://…"), since "read it back by id"
# or "you will see the output" are instructions, not pointers; and the usual "can be found" phrasings.
_POINTER = re.compile(
    r"\b(?:can be found|is available|are available|more information|is for you|are for you|good luck|"
    r"this (?:part|section|page) of the documentation|"
    r"(?:please )?(?:see|refer to|visit|read)\s+(?:(?:https?://|\[|<)|(?:(?:the|our|this|its|their|more|also|"
    r"about|in)\s+)*(?:[\w.-]+\s+){0,3}?(?:docs?|documentation|guides?|tutorials?|pages?|sections?|chapters?|"
    r"readme|wiki|faq|reference|manual|website|site|blog|posts?|articles?|examples?|policy|notes|changelog|"
    r"below|above|here)\b))",
    re.I,
)


def points_elsewhere(chunk: Chunk) -> bool:
    """A short passage (under 60 words, no code) half of whose sentences send the reader elsewhere ("See the
    user guide for more. For help, please use the discussions."): a pointer page, nothing to learn from."""
    blocks = chunk.get("blocks") or [{"type": "paragraph", "text": chunk["text"]}]
    if any(b["type"] in ("code", "table") for b in blocks) or prose_words(blocks) >= 60:
        return False
    prose = "\n".join(b["text"] for b in blocks if b["type"] not in _NOT_PROSE)
    sentences = [t for t in re.split(r"(?<=[.!?])\s+|\n(?=\s*(?:[-*+•]|\d+[.)])\s)", prose) if re.search(r"\w{2}", t)]
    return bool(sentences) and 2 * sum(bool(_POINTER.search(t)) for t in sentences) >= len(sentences)


def stub(chunk: Chunk, splitter: Splitter) -> bool:
    """A passage too thin to stand alone: only a line or two of prose and nothing else, or a pointer page. The
    bar is lower where chunks are small (a chunk of a few dozen tokens never holds 25 words)."""
    blocks = chunk.get("blocks") or [{"type": "paragraph", "text": chunk["text"]}]
    if points_elsewhere(chunk):
        return True
    if any(b["type"] in ("code", "table", "list_item", "math") for b in blocks):
        return False
    words_per_chunk = splitter.size / (6 if splitter.length is len else 1.4)  # ~6 characters, ~1.4 tokens a word
    return prose_words(blocks) < min(MIN_PASSAGE_WORDS, words_per_chunk / 10)


def chunk_units(
    units: Iterable[dict], splitter: Splitter, min_prose_words: int = 0, dropped: list | None = None
) -> list[Chunk]:
    """Every document section cut into chunks that remember their file, lines, headings and blocks.

    A chunk with fewer than `min_prose_words` words of prose (a heading with a label, a lone
    code block) joins the next chunk of its section, else the previous one, else the first
    chunk of the subsection that follows it; with none of those it is dropped (into `dropped`).
    """
    dropped = [] if dropped is None else dropped
    chunks: list[Chunk] = []
    carry: Chunk | None = None  # a too-small section (or one ending on an introduction) waiting for its subsection
    leads = False  # the carried chunk ends on an introduction: kept even when no subsection takes it

    def fits(a: Chunk, b: Chunk) -> bool:  # a merge never makes a chunk over the chunk size
        return splitter.length(a["text"]) + splitter.length(b["text"]) + 2 <= splitter.size

    for unit in units:
        own = [
            Chunk(
                id="",
                text="\n\n".join(p["shown"] for p in group),
                heading_path=list(unit.get("heading_path") or []),
                path=unit["path"],
                repo=unit.get("repo") or "",
                language=unit.get("language") or "text",
                start_line=group[0]["start_line"],
                end_line=max(p["end_line"] for p in group),
                unit_id=unit["id"],
                blocks=group,  # each with `shown`, the block as the chunk's text shows it
            )
            for group in pack(pieces(unit, splitter), splitter)
        ]
        if carry is not None:
            if (
                own
                and carry["path"] == unit["path"]
                and fits(carry, own[0])
                and own[0]["heading_path"][: len(carry["heading_path"])] == carry["heading_path"]
            ):
                own[0] = _join(carry, own[0], into=own[0])
            elif leads:  # an introduction with no subsection to join keeps its own text
                chunks.append(carry)
            else:
                dropped.append({**carry, "id": chunk_id(carry["unit_id"], 0, carry["text"])})
            carry, leads = None, False
        merged: list[Chunk] = []
        for i, c in enumerate(own):
            if not min_prose_words or prose_words(c["blocks"]) >= min_prose_words:
                merged.append(c)
            elif i + 1 < len(own) and fits(c, own[i + 1]):
                own[i + 1] = _join(c, own[i + 1], into=own[i + 1])
            elif merged and fits(merged[-1], c):
                merged[-1] = _join(merged[-1], c, into=merged[-1])
            elif len(own) > 1 and any(b["type"] in ("code", "table") for b in c["blocks"]):
                merged.append(c)  # the short end of a long section: no room to merge, still its code
            elif len(own) > 1:
                dropped.append({**c, "id": chunk_id(c["unit_id"], i, c["text"])})  # a heading and a line: a stub
            else:
                carry = c
        if carry is None and merged and introduces(merged[-1]["text"]):
            carry, leads = merged.pop(), True  # a section ending "… as follows:" goes on in its subsection
            carry["id"] = chunk_id(carry["unit_id"], len(merged), carry["text"])
        for i, c in enumerate(merged):
            c["id"] = chunk_id(c["unit_id"], i, c["text"])
        chunks.extend(merged)
    if carry is not None and leads:
        chunks.append(carry)
    elif carry is not None:
        dropped.append({**carry, "id": chunk_id(carry["unit_id"], 0, carry["text"])})
    return chunks


def _join(first: Chunk, second: Chunk, into: Chunk) -> Chunk:
    """Two neighbouring chunks as one, keeping the identity (unit, headings) of `into`."""
    return Chunk(
        **{
            **into,
            "text": f"{first['text']}\n\n{second['text']}",
            "start_line": first["start_line"],
            "end_line": second["end_line"],
            "blocks": [*first.get("blocks", []), *second.get("blocks", [])],
        }
    )


def with_context(chunk: Chunk) -> str:
    """The chunk text under its heading path, so a record says where it comes from."""
    heads = [h for h in chunk.get("heading_path") or [] if h]
    if not heads:
        return chunk["text"]
    crumb = " > ".join(heads)
    first, _, rest = chunk["text"].partition("\n")
    if first.lstrip("# ").strip() == heads[-1]:  # the chunk opens with its own heading: the crumb replaces it
        if len(heads) == 1:
            return chunk["text"]
        return f"{crumb}\n{rest}" if rest.strip() else crumb
    return f"{crumb}\n\n{chunk['text']}"
