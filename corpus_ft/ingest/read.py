"""Bytes to text: BOMs, UTF-16 without a BOM, UTF-8 (a few bad bytes replaced), then charset
detection for files with no UTF-8 in them; binary is told by content, not by name."""

from __future__ import annotations

import codecs
import errno
import os
import stat

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control bytes that never appear in text (tab, newlines, form feed and escape do).
_CONTROL = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27))


def read_regular(path: str) -> bytes:
    """The bytes of a regular file, opened without following a symlink and without waiting on a FIFO.

    The walk checked the file, but a file swapped afterwards for a link to an outside file, a FIFO or
    a device must not be read: O_NOFOLLOW refuses the link, O_NONBLOCK keeps a FIFO's open from
    hanging, and fstat on the open descriptor (not the name) tells what was really opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "became a symlink after the walk; not followed") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or socket); not read")
        size = st.st_size
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        chunks = [data]  # it grew since fstat
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when the bytes look like mostly-ASCII UTF-16 with no byte-order mark:
    the zero bytes sit in every other position, on one side only (Windows tools write such files)."""
    if len(head) < 8 or b"\x00" not in head:
        return None
    n = len(head) // 2 * 2
    even, odd = head[0:n:2], head[1:n:2]
    for zeros, other, enc in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.02 * len(other):
            text = head[:n].decode(enc, errors="replace")
            if sum(c.isprintable() or c in "\t\n\r" for c in text) >= 0.95 * len(text):
                return enc
    return None


def is_binary(head: bytes) -> bool:
    """Binary when the first block holds a NUL or many control bytes (the heuristic git and grep use)."""
    if not head or any(head.startswith(bom) for bom, _ in _BOMS) or utf16_without_bom(head):
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
    if enc := utf16_without_bom(data[:8192]):
        try:
            return _newlines(data.decode(enc)), enc
        except UnicodeDecodeError as e:
            return None, f"looks like {enc} without a byte-order mark but does not decode ({e.reason})"
    try:
        return _newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few bad bytes (a paste, a truncated write) stays UTF-8: the bad bytes become
    # U+FFFD and the file gets a warning. Guessing a legacy charset for the whole file instead turns
    # every correct non-ASCII character into mojibake (it was read as cp1251).
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    if any(ord(c) > 127 and c != "\ufffd" for c in text) or bad <= max(1, len(data) // 10_000):
        if bad <= max(8, len(data) // 1000):
            return _newlines(text), "utf-8 (invalid bytes replaced by U+FFFD)"
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
