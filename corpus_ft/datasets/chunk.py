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
            if m and m.group(1).startswith(fence) and not line.strip()[len(m.group(1)):].strip():
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
    return [b.strip("\n") for b in out if b.strip()]


def make_splitter(size: int, overlap: int, tokenizer: Path | None):
    """langchain's RecursiveCharacterTextSplitter, measuring with the model's tokenizer when given."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if tokenizer is None:
        return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        load_tokenizer(tokenizer), chunk_size=size, chunk_overlap=overlap)


def load_tokenizer(path: Path):
    """A local tokenizer (model dir); the hub is never asked."""
    if not Path(path).is_dir():
        raise CorpusFtError(f"datasets.tokenizer: {path} is not a directory; give the local model directory "
                            "whose tokenizer should measure chunks, or leave it unset to measure in characters")
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


def chunk_units(units: Iterable[dict], splitter) -> list[Chunk]:
    """Every document section cut into chunks that remember their file, lines and headings."""
    chunks: list[Chunk] = []
    for unit in units:
        text = unit.get("text") or ""
        cursor = 0
        for i, piece in enumerate(split_text(text, splitter)):
            first_line = piece.split("\n", 1)[0]
            at = text.find(first_line, cursor)
            at = at if at >= 0 else cursor
            cursor = at
            start = (unit.get("start_line") or 1) + text.count("\n", 0, at)
            chunks.append(Chunk(
                id=chunk_id(unit["id"], i, piece), text=piece, heading_path=list(unit.get("heading_path") or []),
                path=unit["path"], language=unit.get("language") or "text", start_line=start,
                end_line=start + piece.count("\n"), unit_id=unit["id"]))
    return chunks


def with_context(chunk: Chunk) -> str:
    """The chunk text under its heading path, so a record says where it comes from."""
    heads = [h for h in chunk.get("heading_path") or [] if h]
    if not heads:
        return chunk["text"]
    crumb = " > ".join(heads)
    first = chunk["text"].lstrip("# ").split("\n", 1)[0].strip()
    if len(heads) == 1 and first == heads[0]:
        return chunk["text"]
    return f"{crumb}\n\n{chunk['text']}"

