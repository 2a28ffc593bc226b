"""Markup left in document text, cleaned for the heuristic generator.

Ingest's parsers hand over clean text; this is the second line of defence for the generated
half of a record (questions, answers, keywords, docstring summaries). What a dataset still
carries is measured by `corpus_ft.datasets.quality.markup_residue`.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_ROLE = re.compile(r"(?<![\w`]):(?:[\w.+-]+:)+`([^`]+)`|(?<![^\s(\[])\{[a-z][a-z:-]*\}`([^`]+)`")
_TEXT_ROLES = {
    "ref",
    "doc",
    "term",
    "pr",
    "issue",
    "user",
    "gh",
    "ghissue",
    "bpo",
    "pep",
    "rfc",
    "abbr",
    "kbd",
    "guilabel",
    "menuselection",
    "download",
    "numref",
    "envvar",
    "program",
    "option",
    "file",
    "command",
}
_DOUBLE_LITERAL = re.compile(r"``(.+?)``")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`_{1,2}")
_RST_REF = re.compile(r"`([^`]+)`_{1,2}(?!\w)")
_RST_SUBST = re.compile(r"\|([\w -]+)\|(?:_{1,2})?")
_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\*|\d+)\]_")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)|\[([^\]]+)\]\[[^\]]*\]")
_HTML_TAG = re.compile(r"</?[a-zA-Z][\w-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.S)
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])")
_UNDERLINE = re.compile(r"^\s*([=\-~^*+#\"'`:._])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+(?:([\w:.-]+)::(.*)|\S.*|)$")
_MYST_FENCE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{([\w:.-]+)\}(.*)$")
_KEEP_BODY = {
    "note",
    "warning",
    "tip",
    "important",
    "hint",
    "caution",
    "attention",
    "danger",
    "error",
    "admonition",
    "seealso",
    "versionadded",
    "versionchanged",
    "deprecated",
    "topic",
    "sidebar",
    "rubric",
    "container",
    "only",
    "tab",
    "tab-item",
    "tabs",
    "group-tab",
    "code-tab",
    "tab-set",
    "dropdown",
    "card",
    "div",
    "describe",
    "function",
    "class",
    "method",
    "attribute",
    "data",
    "module",
    "exception",
    "decorator",
    "py:function",
    "py:class",
    "py:method",
    "py:attribute",
    "py:data",
    "py:module",
    "py:exception",
    "py:decorator",
    "confval",
}
_VERSIONED = {
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
}
_ADMONITION = re.compile(r"^\s*(?:(?:!!!|\?\?\?\+?)\s*[\w-]+(?:\s+\"[^\"]*\")?|/{3,}(?:\s*[\w-]+.*)?)\s*$")
_LINK_TARGET = re.compile(r"^\s*\.\.\s+_[^:]*:.*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.S)


def _role_text(match: re.Match) -> str:
    """`:meth:`~flask.Flask.route`` -> `` `route` ``; `:ref:`the guide <target>`` -> `the guide`."""
    whole, inner = match.group(0), match.group(1) or match.group(2)
    role = whole[1 : whole.index("`") - 1].strip(":{}").rsplit(":", 1)[-1]
    label = re.match(r"^(.*?)\s*<[^>]*>$", inner, re.S)
    text = label.group(1) if label and label.group(1) else inner
    text = text.lstrip("!")
    if text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    text = text.strip()
    if not text:
        return ""
    return text if role in _TEXT_ROLES or " " in text else f"`{text}`"


def clean_inline(text: str) -> str:
    """Inline markup (roles, literals, links, emphasis, tags) replaced by its text; `code` spans kept."""
    text = _ROLE.sub(_role_text, text)
    text = _DOUBLE_LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    text = _RST_LINK.sub(r"\1", text)
    text = _RST_REF.sub(r"\1", text)
    parts = re.split(r"(`[^`\n]+`)", text)
    for i in range(0, len(parts), 2):  # outside code spans only: `*args` and `<T>` stay
        p = _FOOTNOTE.sub("", parts[i])
        p = _MD_IMAGE.sub(lambda m: m.group(1), p)
        p = _MD_LINK.sub(lambda m: m.group(1) or m.group(2), p)
        p = _HTML_TAG.sub("", p)
        p = _EMPHASIS.sub(r"\2", p)
        p = _STAR.sub(r"\1", p)
        parts[i] = _RST_SUBST.sub(r"\1", p)
    return "".join(parts)


def clean_markup(text: str) -> str:
    """Document text with reST/MyST/Markdown markup turned into plain prose; code fences kept.

    Directive lines go (an admonition keeps its body, an autodoc/toctree/image directive goes
    whole), heading underlines go, an reST `::` literal block becomes a fenced block.
    """
    text = _FRONT_MATTER.sub("", text)
    lines = text.split("\n")
    out: list[str] = []
    i, fence = 0, None
    while i < len(lines):
        line = lines[i]
        m = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if m and m.group(1).startswith(fence) and not m.group(2).strip():
                fence = None
            i += 1
            continue
        if _is_underline(lines, i):
            i += 1
            continue
        myst = _MYST_FENCE.match(line)
        if myst:
            close, name = myst.group(1), myst.group(2).split(":")[-1]
            body, i = [], i + 1
            while i < len(lines) and not lines[i].strip().startswith(close[:3] if close[0] == "`" else close):
                if not re.match(r"^\s*:[\w-]+:", lines[i]):
                    body.append(lines[i])
                i += 1
            i += 1
            if name in ("code-block", "code", "sourcecode"):
                out += [f"```{myst.group(3).strip()}", *body, "```"]
            elif name in _KEEP_BODY or name.split(":")[-1] in _KEEP_BODY:
                out += [clean_inline(b) for b in body]
            continue
        if m:
            fence = m.group(1)
            out.append(line)
            i += 1
            continue
        if _LINK_TARGET.match(line) or _ADMONITION.match(line):  # mkdocs `!!! note "Title"`: its body stays
            i += 1
            continue
        d = _DIRECTIVE.match(line)
        if d:
            indent, name, arg = len(d.group(1)), (d.group(2) or "").lower(), (d.group(3) or "").strip()
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            body = [b for b in body if not re.match(r"^\s*:[\w-]+:", b)]
            short = name.split(":")[-1]
            if short in ("code-block", "code", "sourcecode"):
                out += [f"```{arg}", *_dedent(body), "```", ""]
            elif name in _KEEP_BODY or short in _KEEP_BODY:
                inner = clean_markup("\n".join(_dedent(body))).split("\n") if body else []
                if short in _VERSIONED:
                    label = f"{_VERSIONED[short]} {arg}".strip()
                    inner = [f"{label}: {inner[0]}" if inner and inner[0] else label + ".", *inner[1:]]
                elif arg and short in (
                    "function",
                    "class",
                    "method",
                    "attribute",
                    "data",
                    "exception",
                    "decorator",
                    "describe",
                    "confval",
                    "module",
                    "rubric",
                    "topic",
                ):
                    out.append(f"`{arg}`" if short not in ("rubric", "topic") else arg)
                out += inner + [""]
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):
            head = line.rstrip()[:-2].rstrip()
            out.append(clean_inline(head + (":" if head and not head.endswith(":") else "")) if head.strip() else "")
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            base = len(line) - len(line.lstrip())
            body = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            if body:
                out += ["", "```", *_dedent(body), "```", ""]
            continue
        out.append(clean_inline(line))
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def _is_underline(lines: list[str], i: int) -> bool:
    """An reST underline under a title, or an overline above one (`~~~~` there is not a code fence)."""
    line = lines[i].strip()
    if not _UNDERLINE.match(line):
        return False
    if line[0] == "`":  # a backtick underline must be as long as its title and stand alone (else: a fence)
        prev = lines[i - 1].strip() if i else ""
        return bool(prev) and len(line) >= len(prev) and (i + 1 >= len(lines) or not lines[i + 1].strip())

    def text(j: int) -> bool:
        return (
            0 <= j < len(lines)
            and bool(lines[j].strip())
            and not _UNDERLINE.match(lines[j])
            and not _FENCE.match(lines[j])
        )

    over = text(i + 1) and i + 2 < len(lines) and lines[i + 2].strip() == line
    return text(i - 1) or over or not _FENCE.match(line)


def _dedent(lines: list[str]) -> list[str]:
    widths = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
    cut = min(widths) if widths else 0
    return [ln[cut:] for ln in lines]
