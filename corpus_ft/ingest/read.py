"""Bytes to text: BOMs, UTF-8, then charset detection; binary is told by content, not by name."""

from __future__ import annotations

import codecs

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Control bytes that never appear in text (tab, newlines, form feed and escape do).
_CONTROL = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27))


def is_binary(head: bytes) -> bool:
    """Binary when the first block holds a NUL or many control bytes (the heuristic git and grep use)."""
    if not head or any(head.startswith(bom) for bom, _ in _BOMS):
        return False
    if b"\x00" in head:
        return True
    return len(head.translate(None, _CONTROL)) < 0.9 * len(head)


def decode(data: bytes) -> tuple[str | None, str]:
    """(text with '\\n' newlines, encoding) or (None, why) when the bytes are no text we can read."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return _newlines(data.decode(enc)), enc
            except UnicodeDecodeError as e:
                return None, f"starts with a {enc} byte-order mark but does not decode ({e.reason})"
    try:
        return _newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        return None, "no text encoding fits (not UTF-8, and charset detection found none)"
    try:
        return _newlines(data.decode(best.encoding)), best.encoding
    except (UnicodeDecodeError, LookupError) as e:
        return None, f"detected as {best.encoding} but does not decode ({e})"


def _newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
