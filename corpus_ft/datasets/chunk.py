"""Paragraph chunks of document sections: sized in tokens (or characters), heading path kept,
never cut inside a fenced code block. `paragraphs`, `qa` and `keywords` all start here."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from corpus_ft.generate import Chunk
from corpus_ft.util import CorpusFtError

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_URL = re.compile(r"<?\bhttps?://[^\s>]+>?")


def blocks(text: str) -> list[str]:
    """Paragraphs and whole fenced code blocks, in order (a fence is one block, blank lines and all)."""
    out: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None and m:
            if current:
                out.append("\n".join(current))
            current, fence = [line], m.group(1)[0] * len(m.group(1))
        elif fence is not None:
            current.append(line)
            if m and m.group(1).startswith(fence) and not line.strip()[len(m.group(1)) :].strip():
                out.append("\n".join(current))
                current, fence = [], None
        elif not line.strip():
            if current:
                out.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append("\n".join(current))
    return _items_whole([b.strip("\n") for b in out if b.strip()])


_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")


def _items_whole(found: list[str]) -> list[str]:
    """An indented paragraph after a list item is the item's own text (`- **PyYAML**` then, indented,
    what it is for): it stays in the item's block, so no chunk starts halfway through an item."""
    out: list[str] = []
    in_item = False
    for b in found:
        indented = b[:1] in (" ", "\t")
        if in_item and indented and out and not _FENCE.match(b) and not _FENCE.match(out[-1]):
            out[-1] = f"{out[-1]}\n\n{b}"
            continue
        out.append(b)
        in_item = bool(_ITEM.match(b)) or (in_item and indented)
    return out


def make_splitter(size: int, overlap: int, tokenizer: Path | None):
    """langchain's RecursiveCharacterTextSplitter, measuring with the model's tokenizer when given."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if tokenizer is None:
        return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        load_tokenizer(tokenizer), chunk_size=size, chunk_overlap=overlap
    )


def load_tokenizer(path: Path):
    """A local tokenizer (model dir); the hub is never asked."""
    if not Path(path).is_dir():
        raise CorpusFtError(
            f"datasets.tokenizer: {path} is not a directory; give the local model directory "
            "whose tokenizer should measure chunks, or leave it unset to measure in characters"
        )
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def split_text(text: str, splitter) -> list[str]:
    """Chunks of `text`: prose split by the splitter, fenced blocks kept whole, merged up to size."""
    pieces: list[str] = []
    for block in blocks(text):
        if _FENCE.match(block) or splitter._length_function(block) <= splitter._chunk_size:
            pieces.append(block)
        else:
            pieces.extend(splitter.split_text(block))
    # langchain's own merge (size + overlap with its length function); a fence longer than
    # chunk_size stays one chunk rather than being cut.
    return [c for c in splitter._merge_splits(pieces, "\n\n") if c.strip()]


def chunk_id(unit_id: str, index: int, text: str) -> str:
    return "chunk-" + hashlib.sha256(f"{unit_id}\0{index}\0{text}".encode()).hexdigest()[:16]


def prose_words(text: str) -> int:
    """Words of prose: outside code blocks, heading lines, lines that are only a `label`, and URLs."""
    count = 0
    for block in blocks(text):
        if _FENCE.match(block):
            continue
        for line in block.split("\n"):
            line = line.strip()
            if line.startswith("#") or re.fullmatch(r"`[^`]*`[.:]?", line):
                continue
            count += len(re.findall(r"[^\W\d_]{2,}", _URL.sub("", line)))  # a URL is not words of prose
    return count


def _span(text: str, piece: str, cursor: int) -> tuple[int, int, int]:
    """(first line, last line) of `piece` inside `text` as 0-based line offsets, and the new cursor.

    Section text sits on the source lines it came from, so the offsets are source lines; the
    piece was re-joined by the splitter, so its first and last lines are looked up one by one.
    """
    lines = [line for line in piece.split("\n") if line.strip()]
    at = text.find(lines[0], cursor) if lines else -1
    at = at if at >= 0 else cursor
    end = at
    for line in lines[1:]:  # each line after the one before it, so a repeated line (```) is not found too early
        found = text.find(line, end + 1)
        if found >= 0:
            end = found
    return text.count("\n", 0, at), text.count("\n", 0, end), at


def chunk_units(units: Iterable[dict], splitter, min_prose_words: int = 0, dropped: list | None = None) -> list[Chunk]:
    """Every document section cut into chunks that remember their file, lines and headings.

    A chunk with fewer than `min_prose_words` words of prose (a heading with a label, a lone
    code block) joins the next chunk of its section, else the previous one, else the first
    chunk of the subsection that follows it; with none of those it is dropped (into `dropped`).
    """
    dropped = [] if dropped is None else dropped
    chunks: list[Chunk] = []
    carry: Chunk | None = None  # a too-small section waiting for its subsection
    limit = splitter._chunk_size

    def fits(a: Chunk, b: Chunk) -> bool:  # a merge never makes a chunk over the chunk size
        return splitter._length_function(a["text"]) + splitter._length_function(b["text"]) <= limit

    for unit in units:
        text = unit.get("text") or ""
        base = unit.get("start_line") or 1
        own: list[Chunk] = []
        cursor = 0
        for piece in split_text(text, splitter):
            first, last, cursor = _span(text, piece, cursor)
            own.append(
                Chunk(
                    id="",
                    text=piece,
                    heading_path=list(unit.get("heading_path") or []),
                    path=unit["path"],
                    language=unit.get("language") or "text",
                    start_line=base + first,
                    end_line=base + last,
                    unit_id=unit["id"],
                )
            )
        if carry is not None:
            if (
                own
                and carry["path"] == unit["path"]
                and fits(carry, own[0])
                and own[0]["heading_path"][: len(carry["heading_path"])] == carry["heading_path"]
            ):
                own[0] = _join(carry, own[0], into=own[0])
            else:
                dropped.append({**carry, "id": chunk_id(carry["unit_id"], 0, carry["text"])})
            carry = None
        merged: list[Chunk] = []
        for i, c in enumerate(own):
            if not min_prose_words or prose_words(c["text"]) >= min_prose_words:
                merged.append(c)
            elif i + 1 < len(own) and fits(c, own[i + 1]):
                own[i + 1] = _join(c, own[i + 1], into=own[i + 1])
            elif merged and fits(merged[-1], c):
                merged[-1] = _join(merged[-1], c, into=merged[-1])
            elif len(own) > 1:
                merged.append(c)  # the short end of a long section: no room to merge, still its text
            else:
                carry = c
        for i, c in enumerate(merged):
            c["id"] = chunk_id(c["unit_id"], i, c["text"])
        chunks.extend(merged)
    if carry is not None:
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
