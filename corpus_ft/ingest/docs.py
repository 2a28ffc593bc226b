"""Documents to `section` units along their heading hierarchy: Markdown, reST, text, HTML, PDF, DOCX."""

from __future__ import annotations

import re
from typing import NamedTuple


def section(name: str, heading_path: list[str], lines: list[str], start: int, end: int, blocks: list[dict]) -> dict:
    """A section unit; `start`/`end` are 0-based inclusive indexes into `lines`."""
    return {
        "kind": "section",
        "name": name,
        "heading_path": list(heading_path),
        "signature": "",
        "docstring": "",
        "text": "\n".join(lines[start : end + 1]).strip("\n"),
        "start_line": start + 1,
        "end_line": end + 1,
        "parent": " / ".join(heading_path[:-1]),
        "blocks": blocks,
    }


def _split(
    lines: list[str], heads: list[tuple[int, int, int, str]], title: str, min_chars: int, blocks_of=None
) -> list[dict]:
    """Cut `lines` at headings (first line, body line, level, text), keeping a stack of open headings.

    `blocks_of(first, body, last, level)` gives a section's typed blocks (0-based line indexes);
    by default a heading line, then runs of non-blank lines as paragraphs."""
    units, stack = [], []  # stack of (level, heading)
    bounds = heads if heads and heads[0][0] == 0 else [(0, 0, 0, "")] + heads  # level 0: text before any heading
    for i, (first, body, level, text) in enumerate(bounds):
        last = (bounds[i + 1][0] if i + 1 < len(bounds) else len(lines)) - 1
        while last >= first and not lines[last].strip():
            last -= 1
        if level == 0:  # text before the first heading
            path = []
        else:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            path = [h for _, h in stack]
        need = max(min_chars, 1) if level == 0 else min_chars  # a preamble needs some text to exist
        if last < first or len("".join(lines[body : last + 1]).strip()) < need:
            continue
        if blocks_of is not None:
            typed = blocks_of(first, body, last, level)
        else:
            head = [_block_row("heading", text, first + 1, body, level=level)] if level else []
            typed = head + plain_blocks(lines, body, last)
        units.append(section(text or title, path, lines, first, last, typed))
    return units


class Block(NamedTuple):
    """One block of a document's clean text as the parser saw it, with the 1-based source line it
    starts on, so the section text can sit on the lines it came from.

    `type` is one of BLOCK_TYPES; `end` is the last source line (0: not known to the parser, then
    the line before the next block, blank and comment lines left out); `lang` is a code block's
    language; `name` an object directive's target or a front-matter field's key."""

    line: int
    lines: list[str]
    type: str = "paragraph"
    end: int = 0
    lang: str = ""
    name: str = ""


# What a block of a section is; `units.parquet` keeps them in its `blocks` column.
BLOCK_TYPES = (
    "heading",  # the section's own heading
    "paragraph",
    "list_item",  # one item of a list, nested content and all
    "code",  # `lang` holds the language when the source names one
    "table",  # rows as `a | b`, the header row followed by `--- | ---`
    "admonition",  # a note, warning, tip, version note... its lead (`Note:`) opens its first line
    "quote",
    "definition",  # a term and its definition, a field (`name: text`), an option
    "label",  # an object directive's target (`.. function:: name(args)`), `name` holds it
    "autodoc",  # an API reference generated from code (`.. autoclass:: Name`), `name` holds the target
    "front_matter",  # a front-matter field (`title: ...`), `name` holds the key
    "math",
    "html",  # the text of raw HTML
)


class Heading(NamedTuple):
    line: int  # first source line of the heading (an reST overline included)
    level: int
    text: str
    text_line: int = 0  # the line of the title's text when it is not `line` (below an overline)


# What a directive (reST `.. name::`, MyST ```{name}```) becomes in the clean text, by name without
# its domain (`py:function` -> `function`). Anything else keeps its argument as a label and its
# content as text, and is reported once per file as `unknown_directive`.
DROP = frozenset(
    """toctree include literalinclude index contents sectnum section-numbering highlight
    currentmodule module default-role role raw meta tabularcolumns testsetup testcleanup image autosummary
    program rst-class cssclass title header footer graphviz mermaid plot program-output command-output
    spelling:word-list target-notes footnotes bibliography tags""".split()
)
LABEL = frozenset(
    """function class method attribute data exception decorator decoratormethod staticmethod
    classmethod property type member macro struct union enum enumerator var interface namespace concept
    option envvar describe object confval event setting autoclass autofunction automethod autoattribute
    autodata autoexception automodule autodecorator autoproperty autotypeddict autoprogram click""".split()
)
CODE = frozenset(
    "code-block sourcecode code doctest testcode testoutput ipython jupyter-execute code-cell prompt".split()
)
VERSION = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
ADMONITION = {
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "important": "Important",
    "caution": "Caution",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "attention": "Attention",
    "seealso": "See also",
    "todo": "To do",
    "admonition": "",
}
CONTAINER = frozenset(
    """only ifconfig container glossary tabs tab tab-set tab-item group-tab code-tab grid
    grid-item grid-item-card card dropdown div topic sidebar rubric compound epigraph highlights pull-quote
    centered hlist list-table csv-table table productionlist math figure line-block parsed-literal
    admonition""".split()
)

_CODE_ROLES = frozenset(
    """func meth class attr data obj mod exc const member var type struct macro enum
    enumerator option envvar command program file samp code kbd any""".split()
)
_NO_LABEL = frozenset(
    """only ifconfig tabs tab tab-set tab-item grid grid-item hlist container div glossary compound
    figure math image line-block parsed-literal list-table csv-table""".split()
)
_ICON_ROLES = frozenset(
    "octicon fa fab fas far icon material-outlined material-regular material-sharp material-round".split()
)
_ROLE = re.compile(r":([\w+.-]+(?::[\w+.-]+)*):`([^`]+)`|\{([\w+.-]+(?::[\w+.-]+)*)\}`([^`]+)`")


def fence(language: str, code: str) -> list[str]:
    """A fenced code block whose fence is longer than any backtick run inside it (so nested fences survive)."""
    runs = [len(m) for m in re.findall(r"`{3,}", code)]
    ticks = "`" * max(3, max(runs, default=0) + 1)
    return [f"{ticks}{language}", *code.rstrip("\n").split("\n"), ticks]


def clean_inline(text: str) -> str:
    """Inline markup left in text no parser reads (directive arguments): roles, ``literals``, `links <url>`_."""
    text = _ROLE.sub(lambda m: role_text(m.group(1) or m.group(3), m.group(2) or m.group(4)), text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return re.sub(r"`([^`<]+?)\s*<[^<>`]+>`__?", r"\1", text)


_SEPARATORS = re.compile(r"[\s|·•/,;:()\[\]–—-]*")
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|@\w|>>> |\$ |\w[\w.\[\]'\"]*\s*=[^=]|"
    r"\w[\w.]*\(.*\)\s*$|[{}]\s*$|.*;\s*$|#!|if .*:\s*$|for .*:\s*$|with .*:\s*$)"
)


def link_only(parts: list[tuple[bool, str]]) -> bool:
    """A paragraph made of links (or badges) and separators only (`GitHub | Documentation`): navigation,
    not prose. `parts` are (inside a link, text) pieces in order."""
    return any(inside for inside, _ in parts) and all(inside or _SEPARATORS.fullmatch(text) for inside, text in parts)


def looks_like_code(text: str) -> str | None:
    """The language of a directive body that is code rather than prose (`.. click:example::` holds a
    program): "python" when it parses as a Python module that is more than a line of words, "" for
    other code (most lines are statements), None for prose."""
    import ast
    import textwrap

    body = textwrap.dedent(text).strip("\n")
    lines = [line for line in body.split("\n") if line.strip()]
    if not lines:
        return None
    hits = sum(1 for line in lines if _CODE_LINE.match(line))
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError):
        tree = None
    if (
        tree is not None
        and hits
        and not (
            len(tree.body) == 1
            and isinstance(tree.body[0], ast.Expr)
            and isinstance(tree.body[0].value, (ast.Name, ast.Constant))
        )
    ):
        return "python"
    return "" if hits >= max(2, 0.6 * len(lines)) else None


def directive_kind(name: str) -> str:
    """drop, label, code, version, admonition, container (known, content kept) or unknown."""
    base = name.lower().split(":")[-1]
    for kind, names in (
        ("drop", DROP),
        ("code", CODE),
        ("version", VERSION),
        ("admonition", ADMONITION),
        ("label", LABEL),
        ("container", CONTAINER),
    ):
        if base in names or name.lower() in names:
            return kind
    return "unknown"


def directive_lead(name: str, argument: str) -> str:
    """The words a label, version or admonition directive puts before its content."""
    base = name.lower().split(":")[-1]
    argument = clean_inline(" ".join(argument.split()))
    if base in VERSION:  # `.. versionchanged:: 2.1 what changed` (the text may follow on the next lines)
        version, _, what = argument.partition(" ")
        lead = f"{VERSION[base]} {version}".strip()
        return f"{lead}: {what}" if what else f"{lead}."
    if base in ADMONITION:
        word = ADMONITION[base] or argument
        return f"{word}:" if word else ""
    if directive_kind(name) == "label":
        if not argument:
            return ""
        # an API reference generated from code says so, rather than leaving a lone name behind
        return (
            f"`{argument}`: API reference generated from its docstrings (autodoc)."
            if _autodoc(name)
            else f"`{argument}`"
        )
    if base in _NO_LABEL:  # a condition, a layout, a file or a formula: nothing a reader sees
        return ""
    return argument if any(ch.isalpha() for ch in argument) else ""


def _autodoc(name: str) -> bool:
    base = name.lower().split(":")[-1]
    return base.startswith("auto") or base == "click"


def directive_type(name: str) -> str:
    """The block type of a directive's lead: `label`, `autodoc` or `admonition` (notes, versions, the rest)."""
    if directive_kind(name) == "label":
        return "autodoc" if _autodoc(name) else "label"
    return "admonition"


def with_lead(lead: str, blocks: list, line: int, type: str = "admonition", name: str = "") -> list:
    """A directive's content blocks with its lead: `Note:` or `Added in version 2.0:` opens the first
    block when that starts with prose (the block becomes the admonition); a label (`` `post(entry)` ``)
    stays a block of its own."""
    first = blocks[0] if blocks else None
    joins = lead.endswith((":", ".")) and not lead.startswith("`")
    if joins and isinstance(first, Block) and first.lines and re.match(r"[^\W_]|`(?!``)", first.lines[0]):
        lead = lead[:-1] + ":" if lead.endswith(".") else lead
        kind = type if first.type == "paragraph" else first.type
        joined = first._replace(lines=[f"{lead} {first.lines[0]}", *first.lines[1:]], type=kind)
        if first.line > line:  # the block now starts at the directive's line
            joined = joined._replace(line=line)
        return [joined, *blocks[1:]]
    return [Block(line, [lead], type, -1, "", name), *blocks] if lead else blocks  # end -1: a directive's header


def role_text(name: str, text: str) -> str:
    """What a Sphinx or MyST role shows: `title <target>` -> title, `~a.b.c` -> c; code roles in backticks."""
    base = name.lower().split(":")[-1]
    text = " ".join(text.split())
    explicit = re.fullmatch(r"(.+?)\s*<([^<>]+)>", text)
    if explicit:
        text = explicit.group(1)
    else:
        text = text.lstrip("!")
        if text.startswith("~"):
            text = text[1:].split(".")[-1]
    if base in _ICON_ROLES:
        return ""
    if base == "doc":
        text = text.lstrip("/")
    if base in ("pep", "rfc"):
        return f"{base.upper()} {text}"
    if base in ("issue", "pr", "gh"):
        return f"#{text}" if text.isdigit() else text
    if base == "abbr":
        return re.sub(r"\s*\(.*\)$", "", text)
    if base in ("guilabel", "menuselection"):
        return text.replace("&", "").replace("-->", ">")
    return f"`{text}`" if base in _CODE_ROLES and not explicit else text


_NOT_CONTENT = re.compile(r"^\s*(?:\.\.(?:\s|$)|<!--.*-->\s*$|\{#[^}]*\}\s*$|\(\S+\)=\s*$)")  # comments, targets


_OPTION = re.compile(r"^\s*:[\w-]+:(?:\s|$)|^\s+[\w-]+:\s")  # `:members:`, pymdownx's indented `open: True`


def assemble(items: list, src_lines: list[str], title: str, min_chars: int, preamble: str = "") -> list[dict]:
    """Cut a document's blocks at its headings into section units, each with its typed `blocks`.

    Each section's text is rendered from its clean blocks once, each block on the line it starts on
    in the source (blank lines fill the gaps), so a chunk's first line maps back to its exact
    source line; the span runs from the heading to the last non-blank source line before the next
    heading. Every block keeps its own source span (`start_line`..`end_line`, 1-based, inclusive).
    Front-matter fields are blocks of the file's first unit, never text.
    """
    sections: list[tuple[Heading | None, list[Block]]] = [(None, [])]
    front: list[Block] = []
    for item in items:
        if isinstance(item, Heading):
            sections.append((item, []))
        elif item.type == "front_matter":
            front.append(item)
        elif item.lines:
            sections[-1][1].append(item)
    heads = [h.line for h, _ in sections[1:]] + [len(src_lines) + 1]
    units, stack = [], []
    for i, (head, blocks) in enumerate(sections):
        if head is not None:
            while stack and stack[-1][0] >= head.level:
                stack.pop()
            stack.append((head.level, head.text))
        if not blocks and head is None:
            continue
        body = "\n".join("\n".join(b.lines) for b in blocks).strip()
        if len(body) < (max(min_chars, 1) if head is None else min_chars) or not (body or head.text):
            continue
        first = head.line if head is not None else blocks[0].line
        last = heads[i] - 1
        while last > first and not src_lines[last - 1].strip():
            last -= 1
        out: list[str] = []
        typed: list[dict] = []
        if head is not None:
            out.extend([""] * max(head.text_line - first, 0))
            out.append("#" * min(head.level, 6) + " " + head.text)
            typed.append(_block_row("heading", head.text, first, max(head.text_line, first), level=head.level))
        for j, b in enumerate(blocks):
            at = max(b.line - first, len(out))
            out.extend([""] * (at - len(out)))
            lines = [line.rstrip() for line in b.lines]
            out.extend(lines)
            start = b.line if b.line > 0 else (typed[-1]["end_line"] + 1 if typed else first)
            after = blocks[j + 1].line if j + 1 < len(blocks) and blocks[j + 1].line > start else last + 1
            end = _end(b, start, after, src_lines)
            typed.append(_block_row(b.type, _block_text(b, lines), start, end, lang=b.lang, name=b.name))
        path = [h for _, h in stack] if head is not None else []
        if front and not units:
            typed[:0] = [_block_row("front_matter", b.lines[0], b.line, b.end or b.line, name=b.name) for b in front]
        units.append(
            {
                "kind": "section",
                "name": (head.text if head is not None else "") or preamble or title,
                "heading_path": path,
                "signature": "",
                "docstring": "",
                "text": "\n".join(out).rstrip("\n"),
                "start_line": first,
                "end_line": max(last, first),
                "parent": " / ".join(path[:-1]),
                "blocks": typed,
            }
        )
    return units


def _block_text(b: Block, lines: list[str]) -> str:
    """What a block holds: a code block its code (the unit's text shows it in a fence), others their lines."""
    if b.type == "code" and len(lines) >= 2 and lines[0].startswith("`") and lines[-1].startswith("`"):
        return "\n".join(lines[1:-1])
    return "\n".join(lines).strip("\n")


def render_block(block: dict) -> str:
    """A block as the unit's text shows it: code in a fence that names its language, the rest as is."""
    if block["type"] == "code":
        return "\n".join(fence(block.get("lang") or "", block["text"]))
    return block["text"]


def _end(b: Block, start: int, after: int, src_lines: list[str]) -> int:
    """A block's last source line: the parser's, else the line before the next block; never a
    trailing blank, comment or target line, never before its start, never past the next block."""
    end = min(b.end, after - 1) if b.end >= start else after - 1
    end = min(end, len(src_lines))
    header = b.end == -1  # a directive's lead alone: its argument lines, not its options
    while end > start and (
        not src_lines[end - 1].strip()
        or _NOT_CONTENT.match(src_lines[end - 1])
        or (header and _OPTION.match(src_lines[end - 1]))
    ):
        end -= 1
    return max(end, start)


def _block_row(type: str, text: str, start: int, end: int, *, lang: str = "", name: str = "", level: int = 0) -> dict:
    """One entry of a unit's `blocks` column (the struct `table.BLOCK_FIELDS` describes)."""
    return {
        "type": type,
        "text": text,
        "start_line": start,
        "end_line": end,
        "lang": lang,
        "name": name,
        "level": level,
    }


def plain_blocks(lines: list[str], first: int, last: int, type: str = "paragraph") -> list[dict]:
    """Blocks of text without markup (0-based `first`..`last` inclusive): runs of non-blank lines."""
    out, start = [], None
    for i in range(first, last + 2):
        blank = i > last or not lines[i].strip()
        if not blank and start is None:
            start = i
        elif blank and start is not None:
            out.append(_block_row(type, "\n".join(lines[start:i]).strip(), start + 1, i))
            start = None
    return out


def markdown_sections(text: str, title: str, min_chars: int = 1, warnings: list | None = None) -> list[dict]:
    """Markdown (CommonMark, tables, front matter, MyST roles and directives) parsed by markdown-it-py."""
    from corpus_ft.ingest import markdown

    return _parse_or_degrade(markdown.sections, text, title, min_chars, warnings, "markdown")


def asciidoc_sections(text: str, title: str, min_chars: int = 1, warnings: list | None = None) -> list[dict]:
    """AsciiDoc: rewritten line for line as Markdown (corpus_ft/ingest/asciidoc.py), then read as Markdown."""
    from corpus_ft.ingest import asciidoc, markdown

    return _parse_or_degrade(markdown.sections, asciidoc.to_markdown(text), title, min_chars, warnings, "asciidoc")


def mdx_sections(text: str, title: str, min_chars: int = 1, warnings: list | None = None) -> list[dict]:
    """MDX (Markdown with JSX): its ESM, JSX tags and expressions dropped line for line, then read as Markdown."""
    from corpus_ft.ingest import markdown, mdx

    return _parse_or_degrade(markdown.sections, mdx.to_markdown(text), title, min_chars, warnings, "mdx")


def rst_sections(text: str, title: str, min_chars: int = 1, warnings: list | None = None) -> list[dict]:
    """reStructuredText parsed by docutils, Sphinx roles and directives included."""
    from corpus_ft.ingest import rst

    return _parse_or_degrade(rst.sections, text, title, min_chars, warnings, "rst")


def _readable_letters(text: str) -> int:
    """Letters on lines that look like prose (not front matter, comments, markup or indented
    directive bodies): a file with many of them must not come out of a parser empty."""
    text = re.sub(r"\A---\n.*?\n---\n", "", re.sub(r"<!--.*?-->|<[^>]*>", "", text, flags=re.S), flags=re.S)
    lines = [
        line
        for line in text.split("\n")
        if line[:1].strip() and not line.lstrip().startswith(("..", ":", "#", "{", "(", "%", "```", "~~~", "|", "+"))
    ]
    return len(re.findall(r"[^\W\d_]", "\n".join(lines)))


def _parse_or_degrade(parse, text: str, title: str, min_chars: int, warnings: list | None, what: str) -> list[dict]:
    """A parser that fails on a file leaves the file as one plain-text section, and says so."""
    warnings = warnings if warnings is not None else []
    try:
        units = parse(text, title, min_chars, warnings)
    except Exception as e:  # noqa: BLE001 - a parser bug on one file must not lose the file
        why = f"{what} parser failed ({type(e).__name__}: {e}"[:200] + ")"
    else:
        if units or _readable_letters(text) < 40:
            return units
        why = f"{what} parser found no readable text in a file that has some"
    warnings.append({"kind": "parse_degraded", "line": 0, "message": f"{why}; kept as one plain-text section"})
    return text_sections(text, title, min_chars)


_RST_HINT = re.compile(r"^\.\. [\w:-]+::|:[\w:+.-]+:`[^`\n]+`", re.M)


def looks_like_rst(text: str) -> bool:
    """A `.txt` file written in reStructuredText (Django's and many Sphinx projects' sources are):
    at least two directives or roles."""
    hits = _RST_HINT.finditer(text)
    return next(hits, None) is not None and next(hits, None) is not None


_UNDERLINE = re.compile(r"^\s*([=\-~^*+#])\1{2,}\s*$")


def text_sections(text: str, title: str, min_chars: int = 1) -> list[dict]:
    """Plain text has no markup for headings: the whole file is one section named after it. An
    underline (`=====` below a title line) becomes a blank line, so the lines keep their numbers."""
    lines = text.split("\n")
    lines = [
        "" if i and _UNDERLINE.match(line) and lines[i - 1].strip() and not _UNDERLINE.match(lines[i - 1]) else line
        for i, line in enumerate(lines)
    ]
    return _split(lines, [], title, min_chars)


_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "nav",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "pre",
    "blockquote",
    "br",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "form",
    "details",
    "summary",
    "caption",
}
_DROP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}


_HTML_TYPE = {
    "li": "list_item",
    "pre": "code",
    "table": "table",
    "blockquote": "quote",
    "dt": "definition",
    "dd": "definition",
}
_CLOSING_ONLY = re.compile(r"^\s*(?:</[^>]+>\s*)+$")


def html_sections(html: str, title: str, min_chars: int = 1) -> list[dict]:
    """Readable text (no tags, no script or style) cut at h1-h6 into typed blocks: paragraphs, list
    items whole, `<pre>` as code (its `language-x` class the language), tables as rows; spans are
    lines of the HTML source."""
    from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, ProcessingInstruction, Tag

    soup = BeautifulSoup(html, "html.parser")
    doc_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(list(_DROP)):
        tag.decompose()
    root = soup.body or soup
    src = html.split("\n")
    secs: list[dict] = [{"level": 0, "heading": "", "line": 1, "blocks": []}]
    at = [1]  # the last source line seen

    def open_block(type: str, line: int, text: str = "", lang: str = "") -> dict:
        block = {"type": type, "line": line, "parts": [text] if text else [], "lang": lang, "last": 0}
        secs[-1]["blocks"].append(block)
        return block

    def visit(node, current: dict | None) -> dict | None:
        for child in node.children:
            if isinstance(child, Tag):
                at[0] = child.sourceline or at[0]
                if child.name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                    heading = child.get_text(" ", strip=True)
                    secs.append({"level": int(child.name[1]), "heading": heading, "line": at[0], "blocks": []})
                    current = None
                elif child.name == "pre":
                    classes = child.get("class") or (child.code.get("class") if child.code else None) or []
                    lang = next((c.split("-", 1)[1] for c in classes if c.startswith(("language-", "lang-"))), "")
                    code = child.get_text()
                    open_block("code", at[0], code, lang)["last"] = at[0] + code.rstrip().count("\n")
                    current = None
                elif child.name == "table":
                    rows = [
                        " | ".join(" ".join(cell.get_text(" ").split()) for cell in tr.find_all(["td", "th"]))
                        for tr in child.find_all("tr")
                    ]
                    open_block("table", at[0], "\n".join(r for r in rows if r.strip()))
                    current = None
                elif child.name == "li":
                    open_block("list_item", at[0], "- " + " ".join(child.get_text(" ").split()))
                    current = None
                elif child.name in _BLOCK:
                    inner = open_block(_HTML_TYPE.get(child.name, "paragraph"), at[0])
                    visit(child, inner)
                    current = None
                else:
                    current = visit(child, current)
            elif isinstance(child, NavigableString):  # text keeps count of the lines since the last tag
                raw = str(child)
                first = at[0] + raw[: len(raw) - len(raw.lstrip())].count("\n")
                last = at[0] + raw.rstrip().count("\n")
                at[0] += raw.count("\n")
                text = re.sub(r"\s+", " ", raw)
                if text.strip() and not isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                    current = current if current is not None else open_block("paragraph", first)
                    current["parts"].append(text)
                    current["last"] = last
        return current

    visit(root, None)
    units, stack = [], []
    for i, s in enumerate(secs):
        end = secs[i + 1]["line"] - 1 if i + 1 < len(secs) else len(src)
        if s["level"]:
            while stack and stack[-1][0] >= s["level"]:
                stack.pop()
            stack.append((s["level"], s["heading"]))
        path = [h for _, h in stack] if s["level"] else []
        found = []
        for b in s["blocks"]:
            text = "".join(b["parts"])
            text = text.strip("\n") if b["type"] == "code" else " ".join(text.split())
            if text.strip():
                lines = fence(b["lang"], text) if b["type"] == "code" else text.split("\n")
                found.append(Block(b["line"], lines, b["type"], b["last"], b["lang"]))
        body = "\n\n".join("\n".join(b.lines) for b in found)
        if len(body.strip()) < max(min_chars, 1):
            continue
        typed = [_block_row("heading", s["heading"], s["line"], s["line"], level=s["level"])] if s["heading"] else []
        for j, b in enumerate(found):
            start = max(b.line, s["line"])
            after = found[j + 1].line if j + 1 < len(found) and found[j + 1].line > start else end + 1
            stop = min(after - 1, len(src), b.end if b.end >= start else after - 1)
            while stop > start and (not src[stop - 1].strip() or _CLOSING_ONLY.match(src[stop - 1])):
                stop -= 1
            typed.append(_block_row(b.type, _block_text(b, b.lines), start, stop, lang=b.lang))
        units.append(
            {
                "kind": "section",
                "name": s["heading"] or doc_title or title,
                "heading_path": path,
                "signature": "",
                "docstring": "",
                "text": f"{s['heading']}\n\n{body}" if s["heading"] else body,
                "start_line": s["line"],
                "end_line": max(end, s["line"]),
                "parent": " / ".join(path[:-1]),
                "blocks": typed,
            }
        )
    return units


def pdf_sections(data: bytes, title: str, min_chars: int = 1) -> list[dict]:
    """One section per page; start_line and end_line hold the page number (PDF has no lines)."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    units = []
    for number, page in enumerate(reader.pages, 1):
        body = (page.extract_text() or "").strip()
        if len(body) < max(min_chars, 1):
            continue
        name = f"{title} (page {number})"
        units.append(
            {
                "kind": "section",
                "name": name,
                "heading_path": [title, f"page {number}"],
                "signature": "",
                "docstring": "",
                "text": body,
                "start_line": number,
                "end_line": number,
                "parent": title,
                "blocks": [_block_row("paragraph", body, number, number)],  # a page: PDF keeps no finer structure
            }
        )
    return units


def docx_sections(data: bytes, title: str, min_chars: int = 1) -> list[dict]:
    """Sections from Title/Heading N paragraph styles; start_line and end_line count paragraphs."""
    import io

    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines, heads, tables = [], [], set()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                tables.add(len(lines))
                lines.append(" | ".join(cell.text.strip() for cell in row.cells))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = 1 if style == "Title" else int(m.group(1)) if (m := re.match(r"Heading (\d)", style)) else 0
        if level and block.text.strip():
            heads.append((len(lines), len(lines) + 1, level, block.text.strip()))
        lines.append(block.text)

    def blocks_of(first: int, body: int, last: int, level: int) -> list[dict]:
        """A heading, then one block per paragraph (a line here) and one per table."""
        out = [_block_row("heading", lines[first].strip(), first + 1, first + 1, level=level)] if level else []
        for i in range(body, last + 1):
            if i in tables and out and out[-1]["type"] == "table" and out[-1]["end_line"] == i:
                out[-1].update(text=out[-1]["text"] + "\n" + lines[i], end_line=i + 1)
            elif lines[i].strip():
                out.append(_block_row("table" if i in tables else "paragraph", lines[i].strip(), i + 1, i + 1))
        return out

    return _split(lines, heads, title, min_chars, blocks_of)
