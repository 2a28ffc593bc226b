"""Documents to `section` units along their heading hierarchy: Markdown, reST, text, HTML, PDF, DOCX."""

from __future__ import annotations

import re

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RST_ADORN = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")  # one punctuation character, 3+ times


def section(name: str, heading_path: list[str], lines: list[str], start: int, end: int) -> dict:
    """A section unit; `start`/`end` are 0-based inclusive indexes into `lines`."""
    return {"kind": "section", "name": name, "heading_path": list(heading_path), "signature": "",
            "docstring": "", "text": "\n".join(lines[start:end + 1]).strip("\n"),
            "start_line": start + 1, "end_line": end + 1, "parent": " / ".join(heading_path[:-1])}


def _split(lines: list[str], heads: list[tuple[int, int, int, str]], title: str, min_chars: int) -> list[dict]:
    """Cut `lines` at headings (first line, body line, level, text), keeping a stack of open headings."""
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
        if last < first or len("".join(lines[body:last + 1]).strip()) < need:
            continue
        units.append(section(text or title, path, lines, first, last))
    return units


def markdown_sections(text: str, title: str, min_chars: int = 1) -> list[dict]:
    """ATX and setext headings; a '#' line inside a fenced block or front matter is not a heading."""
    lines = text.split("\n")
    heads, fence, para_start = [], None, None
    i = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        end = next((j for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), None)
        if end is not None:
            i = end + 1
    while i < len(lines):
        line = lines[i]
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
                fence = None
        elif m and not (m.group(1)[0] == "`" and "`" in line.strip()[len(m.group(1)):]):
            fence, para_start = m.group(1), None
        elif (a := _ATX.match(line)) is not None:
            heads.append((i, i + 1, len(a.group(1)), (a.group(2) or "").strip()))
            para_start = None
        elif para_start is not None and _SETEXT.match(line) and not line.startswith("    "):
            level = 1 if line.strip()[0] == "=" else 2
            heading = " ".join(s.strip() for s in lines[para_start:i])
            heads.append((para_start, i + 1, level, heading))
            para_start = None
        elif not line.strip():
            para_start = None
        elif para_start is None and not line.startswith("    ") and not _SETEXT.match(line) \
                and not re.match(r"^ {0,3}([-*+]|\d+[.)]|>)(\s|$)", line):
            para_start = i
        i += 1
    return _split(lines, heads, title, min_chars)


def rst_sections(text: str, title: str, min_chars: int = 1) -> list[dict]:
    """Over/underlined titles; the level of a style is the order in which it first appears."""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    heads = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        # overline + title + underline
        if (_RST_ADORN.match(line) and i + 2 < n and lines[i + 1].strip()
                and lines[i + 2].rstrip() == line.rstrip() and not _RST_ADORN.match(lines[i + 1])):
            style = (line.strip()[0], True)
            heading, first, body = lines[i + 1].strip(), i, i + 3
        elif (i + 1 < n and line.strip() and not line[0].isspace() and _RST_ADORN.match(lines[i + 1])
              and not _RST_ADORN.match(line) and len(lines[i + 1].rstrip()) >= min(len(line.rstrip()), 4)
              and (i == 0 or not lines[i - 1].strip())):
            style = (lines[i + 1].strip()[0], False)
            heading, first, body = line.strip(), i, i + 2
        else:
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        heads.append((first, body, styles.index(style) + 1, heading))
        i = body
    return _split(lines, heads, title, min_chars)


def text_sections(text: str, title: str, min_chars: int = 1) -> list[dict]:
    """Plain text has no markup for headings: the whole file is one section named after it."""
    return _split(text.split("\n"), [], title, min_chars)


_BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "li", "ul", "ol",
          "table", "tr", "pre", "blockquote", "br", "hr", "dl", "dt", "dd", "figure", "figcaption",
          "form", "details", "summary", "caption"}
_DROP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object"}


def html_sections(html: str, title: str, min_chars: int = 1) -> list[dict]:
    """Readable text (no tags, no script or style) cut at h1-h6; lines are those of the HTML source."""
    from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, ProcessingInstruction, Tag

    soup = BeautifulSoup(html, "html.parser")
    doc_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(list(_DROP)):
        tag.decompose()
    root = soup.body or soup
    n_lines = html.count("\n") + 1
    secs: list[dict] = [{"level": 0, "heading": "", "line": 1, "parts": []}]

    def visit(node) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                if child.name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                    secs.append({"level": int(child.name[1]), "heading": child.get_text(" ", strip=True),
                                 "line": child.sourceline or secs[-1]["line"], "parts": []})
                    continue
                block = child.name in _BLOCK
                if block:
                    secs[-1]["parts"].append("\n")
                if child.name == "pre":
                    secs[-1]["parts"].append(child.get_text())
                else:
                    visit(child)
                if block or child.name in {"td", "th"}:
                    secs[-1]["parts"].append("\n" if block else " ")
            elif isinstance(child, NavigableString) and not isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                secs[-1]["parts"].append(re.sub(r"\s+", " ", str(child)))

    visit(root)
    units, stack = [], []
    for i, s in enumerate(secs):
        body = re.sub(r"[ \t]*\n[ \t\n]*", "\n\n", "".join(s["parts"])).strip()
        body = re.sub(r"[ \t]{2,}", " ", body)
        end = (secs[i + 1]["line"] - 1 if i + 1 < len(secs) else n_lines)
        if s["level"]:
            while stack and stack[-1][0] >= s["level"]:
                stack.pop()
            stack.append((s["level"], s["heading"]))
        path = [h for _, h in stack] if s["level"] else []
        if len(body) < max(min_chars, 1):
            continue
        name = s["heading"] or doc_title or title
        text = f"{s['heading']}\n\n{body}" if s["heading"] else body
        units.append({"kind": "section", "name": name, "heading_path": path, "signature": "", "docstring": "",
                      "text": text, "start_line": s["line"], "end_line": max(end, s["line"]),
                      "parent": " / ".join(path[:-1])})
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
        units.append({"kind": "section", "name": name, "heading_path": [title, f"page {number}"],
                      "signature": "", "docstring": "", "text": body, "start_line": number,
                      "end_line": number, "parent": title})
    return units


def docx_sections(data: bytes, title: str, min_chars: int = 1) -> list[dict]:
    """Sections from Title/Heading N paragraph styles; start_line and end_line count paragraphs."""
    import io

    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines, heads = [], []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                lines.append(" | ".join(cell.text.strip() for cell in row.cells))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = 1 if style == "Title" else int(m.group(1)) if (m := re.match(r"Heading (\d)", style)) else 0
        if level and block.text.strip():
            heads.append((len(lines), len(lines) + 1, level, block.text.strip()))
        lines.append(block.text)
    return _split(lines, heads, title, min_chars)
