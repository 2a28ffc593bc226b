"""AsciiDoc (`.adoc`, `.asciidoc`) rewritten, line for line, as the Markdown the Markdown reader reads.

AsciiDoc is the documentation format of many Java and JVM projects (Asciidoctor, Antora sites). The
common subset maps one line to one line: `=` section titles become `#` headings, `----`/`....`
listing blocks become code fences (with the language of a `[source,lang]` line above them), list
markers, admonition paragraphs (`NOTE: …`) and inline links and cross references become their
Markdown forms, and what carries no text for a reader (document attributes, comments, block
anchors and attribute lists, conditional and include directives, block delimiters of examples and
sidebars) becomes an empty line. Every source line keeps its number, so blocks map back to the
lines they came from. Tables keep their cells as plain lines.
"""

from __future__ import annotations

import re

_TITLE = re.compile(r"^(={1,6})\s+(\S.*)$")  # = Document title, == Section, … (Markdown-style # too)
_LISTING = re.compile(r"^(-{4,}|\.{4,}|`{3,}.*)$")  # ---- listing, .... literal, ``` fenced
_PASS = re.compile(r"^\+{4,}$")  # ++++ passthrough (raw HTML): dropped
_COMMENT_BLOCK = re.compile(r"^/{4,}$")
_DELIMITER = re.compile(r"^(?:={4,}|\*{4,}|_{4,}|-{2}|\|={3,}|!={3,})$")  # example, sidebar, quote, open, table
_SOURCE = re.compile(r"^\[(?:source|listing)(?:%[\w%]+)?(?:,\s*([\w+#.-]+))?[^\]]*\]$")  # [source,java]
_BLOCK_ATTRS = re.compile(r"^\[[^\]]*\]$|^\[\[[^\]]*\]\]$")  # [NOTE], [quote, …], [[anchor]]
_ATTRIBUTE = re.compile(r"^:(!?)([\w-]+)(!?):\s*(.*)$")  # :toc: left (`:name!:` unsets)
_DIRECTIVE = re.compile(r"^(?:ifdef|ifndef|ifeval|endif|include|toc|image)::.*$")
_ADMONITION = re.compile(r"^(NOTE|TIP|IMPORTANT|WARNING|CAUTION):\s+(.*)$")
_BLOCK_TITLE = re.compile(r"^\.([A-Za-z`\"'(].*)$")  # .Title of the next block
_UNORDERED = re.compile(r"^(\*{1,5}|-)\s+(.*)$")
_ORDERED = re.compile(r"^(\.{1,5})\s+(.*)$")
_LINK = re.compile(r"\b(?:link:)?((?:https?|ftp|mailto):[^\s\[\]]+|link:[^\s\[\]]+)\[([^\]]*)\]")
_XREF = re.compile(r"<<([^,>]+)(?:,\s*([^>]+))?>>|xref:([^\[\s]+)\[([^\]]*)\]")
_ANCHOR = re.compile(r"\[\[[^\]]*\]\]|\[#[\w-]+\]")
_PLUS_CODE = re.compile(r"`\+(.+?)\+`|(?<![\w+])\+([^+\s][^+]*?)\+(?![\w+])")  # `+literal+`, +literal+
_ATTR_REF = re.compile(r"\{([\w-]+)\}")
_CONTINUATION = re.compile(r"^\+$")  # list continuation: the next block belongs to the item


def to_markdown(text: str) -> str:
    """The AsciiDoc page as Markdown with the same number of lines."""
    lines = text.split("\n")
    attributes = _attributes(lines)
    out: list[str] = []
    fence: str | None = None  # the delimiter of the open listing block
    skip: str | None = None  # the delimiter of an open comment or passthrough block
    language = ""  # from a [source,lang] line just above a listing
    for line in lines:
        bare = line.rstrip()
        if skip is not None:
            out.append("")
            if bare == skip:
                skip = None
            continue
        if fence is not None:
            if bare == fence:
                out.append("```")
                fence = None
            else:
                out.append(line)
            continue
        if _COMMENT_BLOCK.match(bare) or _PASS.match(bare):
            skip = bare
            out.append("")
            continue
        if _LISTING.match(bare):
            if bare.startswith("```"):  # Markdown-style fence, as Asciidoctor also reads
                fence = "```"
                out.append(bare)
            else:
                fence = bare
                out.append("```" + language)
            language = ""
            continue
        if m := _SOURCE.match(bare):
            language = m.group(1) or ""
            out.append("")
            continue
        language = ""
        if (
            bare.startswith("//")
            or _ATTRIBUTE.match(bare)
            or _DIRECTIVE.match(bare)
            or _BLOCK_ATTRS.match(bare)
            or _DELIMITER.match(bare)
            or _CONTINUATION.match(bare)
        ):
            out.append("")
            continue
        if m := _TITLE.match(bare):
            out.append("#" * len(m.group(1)) + " " + _inline(m.group(2), attributes))
        elif m := _ADMONITION.match(bare):
            out.append(f"{m.group(1).capitalize()}: {_inline(m.group(2), attributes)}")
        elif m := _UNORDERED.match(bare):
            out.append("  " * (len(m.group(1)) - 1) + "- " + _inline(m.group(2), attributes))
        elif m := _ORDERED.match(bare):
            out.append("   " * (len(m.group(1)) - 1) + "1. " + _inline(m.group(2), attributes))
        elif m := _BLOCK_TITLE.match(bare):
            out.append(_inline(m.group(1), attributes))
        elif bare.startswith("|") or bare.startswith("!"):  # a table row: its cells as text
            cells = [c.strip() for c in re.split(r"(?<!\\)[|!]", bare)[1:]]
            out.append(" ".join(_inline(c, attributes) for c in cells if c))
        else:
            out.append(_inline(line, attributes))
    return "\n".join(out)  # an unclosed listing runs to the end, as both Asciidoctor and Markdown read it


def _attributes(lines: list[str]) -> dict[str, str]:
    """Document attributes set in the header (`:name: value`), for `{name}` references in the text."""
    found = {}
    for line in lines:
        if (m := _ATTRIBUTE.match(line.rstrip())) and not (m.group(1) or m.group(3)):
            found[m.group(2)] = m.group(4)
    return found


def _inline(text: str, attributes: dict[str, str]) -> str:
    """Links, cross references, anchors, literal passthroughs and attribute references as Markdown."""
    text = _ANCHOR.sub("", text)
    text = _LINK.sub(lambda m: f"[{m.group(2) or m.group(1)}]({m.group(1).removeprefix('link:')})", text)
    text = _XREF.sub(lambda m: m.group(2) or m.group(4) or (m.group(1) or m.group(3) or "").replace("-", " "), text)
    text = _PLUS_CODE.sub(lambda m: f"`{m.group(1) or m.group(2)}`", text)
    return _ATTR_REF.sub(lambda m: attributes.get(m.group(1), m.group(0)), text)
