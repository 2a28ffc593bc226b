"""One file to units (runs in worker processes): read, sniff, decode, cap, then the document or code reader."""

from __future__ import annotations

import gc
import hashlib
import os
import re

from corpus_ft.ingest.policy import file_category, generated, templated, unit_category
from corpus_ft.ingest.read import decode, is_binary, read_regular

PARSER_VERSION = "7"  # bump when a reader changes what it emits: cached results are then re-parsed
DOCUMENTS = {"markdown", "mdx", "asciidoc", "rst", "text", "html", "pdf", "docx"}
_CPP_HINT = re.compile(rb"^\s*(class|namespace|template\s*<|public:|private:)|\w::\w", re.M)


def parse_file(path: str, language: str | None, settings: dict, known_sha: str | None = None) -> dict:
    """Everything ingest keeps about one file; never raises, a problem becomes a skip reason or a warning.

    When the content hash equals `known_sha` (the file was touched, not changed) it stops there
    with status "unchanged": the caller already holds its units.
    """
    result = {
        "sha": "",
        "status": "skipped",
        "reason": "",
        "detail": "",
        "language": language,
        "encoding": "",
        "units": [],
        "warnings": [],
    }
    try:
        data = read_regular(path)
    except OSError as e:
        result.update(reason="unreadable", detail=e.strerror or str(e))
        return result
    result["sha"] = hashlib.sha256(data).hexdigest()
    if result["sha"] == known_sha:
        result["status"] = "unchanged"
        return result
    try:
        _parse(data, language, settings, result, os.path.basename(path))
    except Exception as e:  # a reader bug must not stop the run; the report names the file
        result.update(status="skipped", reason="parse_error", detail=f"{type(e).__name__}: {e}"[:300], units=[])
    return result


def _parse(data: bytes, language: str | None, settings: dict, result: dict, title: str) -> None:
    if language in ("pdf", "docx"):
        if not settings[f"read_{language}"]:
            result.update(reason="unsupported_type", detail=f"read_{language} is off")
            return
        from corpus_ft.ingest import docs

        reader = docs.pdf_sections if language == "pdf" else docs.docx_sections
        _finish(result, reader(data, title, settings["min_section_chars"]), [])
        return
    if is_binary(data[:8192]):
        result.update(reason="binary", detail="control bytes in the first 8 KiB")
        return
    if language is None:
        result.update(reason="unsupported_type", detail="text file of a type ingest has no reader for")
        return
    text, encoding = decode(data)
    if text is None:
        result.update(reason="decode_error", detail=encoding)
        return
    result["encoding"] = encoding
    warnings = []
    if encoding not in ("utf-8", "utf-8-sig", "ascii"):
        warnings.append({"kind": "encoding", "line": 0, "message": f"not UTF-8: decoded as {encoding}"})
    if not text or text.isspace():
        result.update(reason="empty", detail="only whitespace")
        return
    if language == "text" and text.startswith("#!"):  # an extensionless script is code, not prose
        result.update(reason="unsupported_type", detail=f"a script ({text.split(chr(10), 1)[0][:60]}), not a document")
        return
    cap = settings["max_line_length"]
    if len(text) > cap and (longest := max(map(len, text.split("\n")))) > cap:
        result.update(reason="minified", detail=f"a line of {longest} characters (max_line_length {cap})")
        return
    result["generated"] = generated(text[:4096])
    result["template"] = language in ("html", "text") and templated(text)
    if language == "c" and _CPP_HINT.search(data):
        language = result["language"] = "cpp"  # a .h file that holds C++
    if language in DOCUMENTS:
        from corpus_ft.ingest import docs

        if language in ("markdown", "mdx", "asciidoc", "rst") or (language == "text" and docs.looks_like_rst(text)):
            # structured readers report what they could not read
            reader = {
                "markdown": docs.markdown_sections,
                "mdx": docs.mdx_sections,
                "asciidoc": docs.asciidoc_sections,
            }.get(language, docs.rst_sections)
            _finish(result, reader(text, title, settings["min_section_chars"], warnings), warnings)
            return
        reader = docs.text_sections if language == "text" else docs.html_sections
        _finish(result, reader(text, title, settings["min_section_chars"]), warnings)
        return
    from corpus_ft.ingest.code import code_units

    same_bytes = encoding == "utf-8" and b"\r" not in data  # skip encoding the text back
    units, syntax = code_units(text, language, data if same_bytes else None)
    if language == "python":  # docstrings are reST: roles and literals shown as their text, once, here
        from corpus_ft.ingest.docs import clean_inline

        for u in units:
            if u.get("docstring"):
                u["docstring"] = clean_inline(u["docstring"])
    _finish(result, units, warnings + syntax)


def _finish(result: dict, units: list[dict], warnings: list[dict]) -> None:
    for u in units:  # code units carry their text as the source's UTF-8 bytes, documents as str
        u.setdefault("blocks", [])  # code units have no document blocks
        text = u["text"]
        u["sha256"] = hashlib.sha256(text if text.__class__ is bytes else text.encode("utf-8")).hexdigest()
    result.update(status="ingested", units=units, warnings=warnings)


def parse_batch(batch: list[tuple[str, str, str | None, str | None]], settings: dict):
    """Worker entry point: (rel, path, language, known sha) to ({rel: record}, column buffers of their units).

    Records keep what the report needs (status, reason, warnings, unit count) and no text, so the
    units travel back to the main process as a few byte buffers (table.unit_columns), not as
    pickled dicts.
    """
    from corpus_ft.ingest.table import unit_columns, unit_id

    # Nothing here makes reference cycles, but the rows and tree nodes it allocates would set off
    # a full collection over the whole heap again and again: ~15% of the CPU time of a batch.
    collecting = gc.isenabled()
    gc.disable()
    try:
        records, rows = {}, []
        for rel, path, language, known_sha in batch:
            r = parse_file(path, language, settings, known_sha)
            language = _OUTPUT_LANGUAGE.get(r["language"], r["language"])
            units = sorted(r.pop("units"), key=_unit_order)
            r["category"] = file_category(
                rel, language, units, is_generated=r.pop("generated", False), is_template=r.pop("template", False)
            )
            for u in units:
                u.update(
                    id=unit_id(rel, u),
                    path=rel,
                    language=language,
                    file_sha256=r["sha"],
                    category=unit_category(u, r["category"]),
                )
            rows += units
            r["n_units"], r["language"] = len(units), language
            records[rel] = r
        try:
            return records, unit_columns(rows)
        except OverflowError:  # over 2 GiB of text in one batch: the main process builds a chunked table
            return records, rows
    finally:
        if collecting:
            gc.enable()


_OUTPUT_LANGUAGE = {"tsx": "typescript", "mdx": "markdown", "asciidoc": "markdown"}


def _unit_order(u: dict) -> tuple:
    """Within a file: by start line, an outer unit before the units inside it."""
    return u["start_line"], -u["end_line"], u["kind"], u["name"]
