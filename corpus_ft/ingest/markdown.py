"""Markdown to clean section blocks with markdown-it-py: CommonMark, tables, YAML front matter,
MyST roles and directives (```{note}```, :::{note}, ```{eval-rst}```), definition lists."""

from __future__ import annotations

import re
from functools import lru_cache

from corpus_ft.ingest.docs import (
    ADMONITION,
    Block,
    Heading,
    assemble,
    directive_kind,
    directive_lead,
    directive_type,
    fence,
    link_only,
    looks_like_code,
    role_text,
    with_lead,
)

_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
_STYLE = re.compile(r"<(style|script)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I)  # CSS and scripts: never text
_INCLUDE = re.compile(
    r"^\s*\{\*.*\*\}\s*$", re.S
)  # an mkdocs include of an example file: `{* docs_src/app.py hl[3] *}`
_URL = re.compile(r"https?://\S+")
_ANCHOR = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.S | re.I)
# pymdownx.blocks (Material for MkDocs sites): `/// tip | Title` ... `///`, nested with more slashes
_PYMDOWNX_OPEN = re.compile(r"^(\s*)(/{3,})\s*([\w-]+)\s*(?:\|\s*(.*?))?\s*$")
_PYMDOWNX_CLOSE = re.compile(r"^(\s*)(/{3,})\s*$")
_PYMDOWNX_OPTION = re.compile(r"^\s+([\w-]+):\s*(.*)$")
_TABBED = re.compile(r'^(\s*)===[+!]*\s+"[^"]*"\s*$')  # pymdownx.tabbed content tabs
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING_ID = re.compile(r"\s*\{#[\w.:-]+\}$")  # a custom anchor after a heading's words: `## Setup {#setup}`
# A container named like an admonition, with its title after it (Docusaurus `:::tip Title`, `:::tip[Title]`,
# `:::tip{title="Title"}`; VitePress `::: warning Title`, `::: details Title`)
_TITLED_CONTAINER = re.compile(r"([A-Za-z][\w-]*)\s*(?:\[(.*)\]|\{[^}]*?\btitle=\"([^\"]*)\"[^}]*\}|(.*))$")
# A paragraph of ES module imports (`import Tabs from '@theme/Tabs';`): docs sites that read `.md` as MDX
# take them as code, a reader never sees them
_IMPORTS = re.compile(
    r"""(?:import\s+(?:type\s+)?(?:(?:[\w$]+|\{[^}]*\}|\*\s+as\s+[\w$]+)\s*,?\s*)+from\s+(['"])[^'"\n]+\1\s*;?\s*"""
    r"""|import\s+(['"])[^'"\n]+\2\s*;?\s*)+"""
)
_ALERT = re.compile(r"^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$", re.I)  # GitHub's `> [!NOTE]`
PYMDOWNX = "pymdownx:"  # the directive name prefix a pymdownx block is rewritten to


@lru_cache(maxsize=1)
def parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin
    from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
    from mdit_py_plugins.container import container_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.field_list import fieldlist_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin
    from mdit_py_plugins.myst_blocks import myst_block_plugin
    from mdit_py_plugins.myst_role import myst_role_plugin
    from mdit_py_plugins.substitution import substitution_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for plugin in (
        front_matter_plugin,
        myst_role_plugin,
        myst_block_plugin,
        deflist_plugin,
        fieldlist_plugin,
        attrs_block_plugin,
        attrs_plugin,
        substitution_plugin,
        dollarmath_plugin,
        admon_plugin,
    ):
        md.use(plugin)
    # `:::{name} argument` (MyST, and pymdownx blocks rewritten to it) and `::: name`: a container whose
    # Markdown content is parsed in the same run as the file, so nested blocks are never parsed twice
    md.use(container_plugin, "directive", validate=lambda params, markup: True)
    # a link shows its words and its target is never rendered: normalising every URL (a tenth of the
    # parse time on link-heavy docs) is work for nothing, and a `javascript:` link is text all the same
    md.normalizeLink = md.normalizeLinkText = _same
    md.validateLink = _any_link
    return md


def _same(url: str) -> str:
    return url


def _any_link(url: str) -> bool:
    return True


def sections(text: str, title: str, min_chars: int, warnings: list) -> list[dict]:
    """Section units of one Markdown file; front matter is read for its title, never kept as text."""
    lines = text.split("\n")
    items, meta = blocks(pymdownx_blocks(text), 0, warnings)
    if lines and lines[0].strip() == "---" and meta is None:
        warnings.append(
            {
                "kind": "front_matter",
                "line": 1,
                "message": "front matter opened with '---' but never closed; read as text",
            }
        )
    preamble = str(meta.get("title") or "") if isinstance(meta, dict) else ""
    return assemble(items, lines, title, min_chars, preamble)


_TYPES = {
    "paragraph": "paragraph",
    "table": "table",
    "dl": "definition",
    "field_list": "definition",
    "html_block": "html",
    "math_block": "math",
    "admonition": "admonition",
    "fence": "code",
    "code_block": "code",
}


def blocks(text: str, offset: int, warnings: list, seen: set | None = None) -> tuple[list, dict | None]:
    """(headings and typed blocks in order, front matter or None); `offset` is the 0-based line of `text`'s first line."""
    from markdown_it.tree import SyntaxTreeNode

    global _source
    saved, _source = _source, text.split("\n")
    try:
        return _items(SyntaxTreeNode(parser().parse(text)).children, offset, warnings, set() if seen is None else seen)
    finally:
        _source = saved


_source: list[str] = []  # the lines of the text `blocks` is reading: a container's raw content comes from them


def _items(nodes, offset: int, warnings: list, seen: set) -> tuple[list, dict | None]:
    items: list = []
    meta = None
    for node in nodes:
        line = (node.map[0] if node.map else 0) + offset + 1
        end = _last(node, line)
        if node.type == "front_matter":
            meta = _front_matter(node.content, line, warnings)
            items.extend(_front_matter_blocks(meta, node.content, line, end))
        elif node.type == "heading":
            items.append(Heading(line, int(node.tag[1]), _heading_text(node)))
        elif node.type in ("bullet_list", "ordered_list"):
            start = int(node.attrs.get("start", 1) or 1)
            for i, item in enumerate(node.children):
                marker = f"{start + i}." if node.type == "ordered_list" else "-"
                lines = _item(item, marker)
                if lines:
                    at = (item.map[0] if item.map else 0) + offset + 1
                    items.append(Block(at, lines, "list_item", _last(item, at)))
        elif node.type == "blockquote" and _alert(node):  # `> [!NOTE]`: a note, its marker gone
            inner = _content(_items(node.children, offset, warnings, seen)[0])
            first = inner[0]._replace(lines=inner[0].lines[1:])
            inner = [first, *inner[1:]] if any(x.strip() for x in first.lines) else inner[1:]
            items.extend(with_lead(ADMONITION[_alert(node)] + ":", inner, line))
        elif node.type == "blockquote":
            for child in node.children:
                at = (child.map[0] if child.map else 0) + offset + 1
                items.append(Block(at, _lines(child), "quote", _last(child, at)))
        elif node.type == "fence" and node.info.strip().startswith("{"):
            items.extend(_directive(node, line, warnings, seen))
        elif node.type == "container_directive":
            items.extend(_container(node, line, offset, warnings, seen))
        elif node.type == "code_block" and not _html(node.content):
            items.append(
                Block(max(line - 1, offset + 1), _lines(node), "code", end)
            )  # the fence takes the blank line above
        else:
            language = node.info.strip().split()[0] if node.type == "fence" and node.info.strip() else ""
            kind = "html" if node.type == "code_block" else _TYPES.get(node.type, "paragraph")
            items.append(Block(line, _lines(node), kind, end, language))
    return items, meta


def _options(body: list[str]) -> int:
    """How many lines at the top of a directive's content are its options (a YAML block, `:key: value` lines)."""
    skip = 0
    if body and body[0].strip() == "---":  # YAML options block
        skip = next((i + 1 for i in range(1, len(body)) if body[i].strip() == "---"), 0)
    while skip < len(body) and re.match(r"^\s*:[\w-]+:", body[skip]):
        skip += 1
    return skip


def _container(node, line: int, offset: int, warnings: list, seen: set) -> list:
    """A `:::` container, its content parsed with the file: a MyST directive (`:::{note}`), a pymdownx
    block, mkdocstrings' `::: package.object` or a container with a CSS class."""
    info = node.info.strip()
    first, close = (node.map[0] + 1, node.map[1]) if node.map else (0, 0)
    raw = _source[first:close] if _source else []
    skip = _options(raw)
    children = [c for c in node.children if not c.map or c.map[0] >= first + skip]
    end = line + close - first + (1 if close < len(_source) and _source[close].lstrip().startswith(":") else 0)
    if not info.startswith("{"):  # often never closed (mkdocstrings): it runs on, headings and all
        inner = [b for b in _items(children, offset, warnings, seen)[0] if not isinstance(b, Block) or b.lines]
        if re.fullmatch(r"[\w.]+", info) and "." in info:  # mkdocstrings: an API reference generated from code
            lead = f"`{info}`: API reference generated from its docstrings (autodoc)."
            return [Block(line, [lead], "autodoc", -1, "", info), *inner]
        titled = _TITLED_CONTAINER.match(info)
        if titled and titled.group(1).lower() in _ADMONITION_NAMES:  # `:::tip Title`: `Tip: Title`, then its text
            name, *title = titled.groups()
            return with_lead(_container_lead(name.lower(), next((t for t in title if t), "")), _content(inner), line)
        return inner
    name, _, argument = info[1:].partition("}")
    name, argument = name.strip(), argument.strip()
    kind = directive_kind(name)
    content = "\n".join(raw[skip:])
    at = line + 1 + skip  # 1-based line of the content
    if kind == "drop":
        return []
    if kind == "code":
        language = argument.split()[0] if argument else ""
        return [Block(line, fence(language, content.strip("\n")), "code", end, language)]
    if name == "eval-rst":
        from corpus_ft.ingest import rst

        return _within(rst.blocks(content, at - 1, warnings, seen), end - 1)
    if name.startswith(PYMDOWNX):
        inner = _content(_items(children, offset, warnings, seen)[0])
        return with_lead(_container_lead(name[len(PYMDOWNX) :], argument), inner, line)
    language = looks_like_code(content) if kind == "unknown" else None
    if language is not None:  # an unknown directive that holds a program: a code block
        import textwrap

        code = fence(language, textwrap.dedent(content).strip("\n"))
        return with_lead(
            directive_lead(name, argument), [Block(at - 1, code, "code", end, language)], line, directive_type(name)
        )
    _unknown(name, kind, line, warnings, seen)
    inner = _content(_items(children, offset, warnings, seen)[0])
    return with_lead(directive_lead(name, argument), inner, line, directive_type(name), argument.split("(")[0])


def _unknown(name: str, kind: str, line: int, warnings: list, seen: set) -> None:
    """An unknown directive is reported once per file."""
    if kind == "unknown" and name not in seen:
        seen.add(name)
        warnings.append(
            {
                "kind": "unknown_directive",
                "line": line,
                "message": f"directive {{{name}}} is not known; its content was kept as text",
            }
        )


def _last(node, line: int) -> int:
    """The 1-based last source line of a node that starts on `line` (0 when the parser gave no map)."""
    return line + node.map[1] - node.map[0] - 1 if node.map else 0


def _front_matter_blocks(meta: dict | None, content: str, line: int, end: int) -> list:
    """One block per scalar front-matter field (`title: ...`), on the line of its key."""
    out = []
    keys = content.split("\n")
    for key, value in (meta or {}).items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            at = next((line + 1 + i for i, k in enumerate(keys) if k.startswith(f"{key}:")), line)
            out.append(Block(at, [" ".join(str(value).split())], "front_matter", at, "", str(key)))
    return out


def pymdownx_blocks(text: str) -> str:
    """pymdownx.blocks rewritten, line for line, as MyST colon fences the parser reads: `/// tip | Title`
    becomes `:::{pymdownx:tip} Title`, its indented `key: value` options `:key: value`, `///` `:::`
    (as many colons as slashes, so nesting survives). Lines inside code fences are left alone.
    pymdownx.tabbed `=== "Tab"` lines go and their content (indented by 4) moves out by 4."""
    lines = text.split("\n")
    out: list[str] = []
    code: str | None = None
    depth: list[int] = []  # slash counts of the open blocks
    options = False
    tabbed: tuple[str, int] | None = None  # (indent, content indent) of an open `=== "Tab"`
    for line in lines:
        if tabbed and line.strip():  # inside a tab: its content moves out; a line less indented ends it
            if len(line) - len(line.lstrip()) >= tabbed[1]:
                line = tabbed[0] + line[tabbed[1] :]
            elif code is None:
                tabbed = None
        fence_mark = _FENCE_OPEN.match(line)
        if code is not None:
            if fence_mark and fence_mark.group(1)[0] == code[0] and len(fence_mark.group(1)) >= len(code):
                code = None
            out.append(line)
            continue
        if fence_mark:
            code, options = fence_mark.group(1), False
            out.append(line)
            continue
        tab = _TABBED.match(line)
        if tab:  # `=== "pip"`: the tab's title goes, its indented content moves out to the tab's indent
            tabbed = (tab.group(1), len(tab.group(1)) + 4)
            out.append("")
            continue
        opener, closer = _PYMDOWNX_OPEN.match(line), _PYMDOWNX_CLOSE.match(line)
        if closer and depth and len(closer.group(2)) == depth[-1]:
            depth.pop()
            out.append(closer.group(1) + ":" * len(closer.group(2)))
            options = False
        elif opener:
            indent, slashes, name, title = opener.groups()
            depth.append(len(slashes))
            out.append(f"{indent}{':' * len(slashes)}{{{PYMDOWNX}{name.lower()}}} {title or ''}".rstrip())
            options = True
        elif options and _PYMDOWNX_OPTION.match(line):
            key, value = _PYMDOWNX_OPTION.match(line).groups()
            out.append(f":{key}: {value}")
        else:
            options = False
            out.append(line)
    return "\n".join(out)


# Admonition kinds beyond reST's that Material for MkDocs, Docusaurus and VitePress write
_MORE_ADMONITIONS = frozenset(
    "info check success question example abstract quote bug failure danger summary details".split()
)
_ADMONITION_NAMES = frozenset(ADMONITION) - {"admonition"} | _MORE_ADMONITIONS


def _container_lead(name: str, title: str) -> str:
    """`/// tip | Title`, `:::tip Title` -> `Tip: Title`; `/// tip` -> `Tip:`; tabs, details and the like:
    their title, if any."""
    word = ADMONITION.get(name, "") if name != "admonition" else ""
    if not word and name in _MORE_ADMONITIONS - {"details"}:
        word = name.capitalize()
    title = " ".join(title.split())
    if name in ("tab", "html", "define", "caption"):
        return ""
    if word:
        return f"{word}: {title}" if title else f"{word}:"
    return title


def _front_matter(content: str, line: int, warnings: list) -> dict | None:
    import yaml

    try:
        meta = yaml.safe_load(content)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = line + 1 + mark.line if mark is not None else line
        warnings.append(
            {
                "kind": "front_matter",
                "line": at,
                "message": f"front matter is not valid YAML ({getattr(e, 'problem', None) or e}); ignored",
            }
        )
        return {}
    return meta if isinstance(meta, dict) else {}


def _directive(node, line: int, warnings: list, seen: set) -> list:
    """A MyST directive in a backtick fence (```{note}```): code keeps its language, toctree-like ones
    vanish, the rest keep their content (parsed here: a fence's content is raw text to the parser)."""
    name, _, argument = node.info.strip()[1:].partition("}")
    name, argument = name.strip(), argument.strip()
    kind = directive_kind(name)
    body = node.content.split("\n")
    skip = _options(body)
    content = "\n".join(body[skip:])  # leading blank lines kept: the content's lines stay on their source lines
    first = line + 1 + skip  # 1-based line of the content
    end = _last(node, line)
    if kind == "drop":
        return []
    if kind == "code":
        language = argument.split()[0] if argument else ""
        return [Block(line, fence(language, content.strip("\n")), "code", end, language)]
    if name == "eval-rst":
        from corpus_ft.ingest import rst

        return _within(rst.blocks(content, first - 1, warnings, seen), end - 1)  # the closing fence is no block's
    language = looks_like_code(content) if kind == "unknown" else None
    if language is not None:  # an unknown directive that holds a program: a code block
        import textwrap

        code = fence(language, textwrap.dedent(content).strip("\n"))
        return with_lead(
            directive_lead(name, argument), [Block(first - 1, code, "code", end, language)], line, directive_type(name)
        )
    _unknown(name, kind, line, warnings, seen)
    inner, _ = blocks(content, first - 1, warnings, seen)
    return with_lead(
        directive_lead(name, argument), _content(inner), line, directive_type(name), argument.split("(")[0]
    )


def _within(inner: list, last: int) -> list:
    """Blocks whose end the parser did not give end before the next one, and the last by `last`."""
    out = []
    for i, b in enumerate(inner):
        if isinstance(b, Block) and b.end <= 0:
            after = next((x.line for x in inner[i + 1 :] if x.line > b.line), last + 1)
            b = b._replace(end=min(after - 1, last))
        out.append(b)
    return out


def _content(inner: list) -> list:
    """A container's blocks: a heading inside it is a paragraph of its own, empty blocks go."""
    return [
        b if isinstance(b, Block) else Block(b.line, [b.text]) for b in inner if not isinstance(b, Block) or b.lines
    ]


def _item(item, marker: str) -> list[str]:
    """A whole list item: its marker on the first line, everything else indented under it, each
    child block on its own source line relative to the item's first; [] when nothing is left of it
    (a link-only item), so no empty `- ` bullet stays behind."""
    lines: list[str] = []
    for child in item.children:
        if child.map and item.map and child.map[0] - item.map[0] > len(lines):
            lines.extend([""] * (child.map[0] - item.map[0] - len(lines)))
        lines.extend(_lines(child))
    if not any(line.strip() for line in lines):
        return []
    while not lines[0].strip():
        lines.pop(0)
    pad = " " * (len(marker) + 1)
    return [f"{marker} {lines[0]}"] + [pad + line if line else line for line in lines[1:]]


def _lines(node) -> list[str]:
    """Clean lines of one block node (nested blocks included)."""
    t = node.type
    if t == "fence" and node.info.strip().startswith("{"):  # a directive inside a list or quote
        return [line for b in _directive(node, 0, [], set()) for line in ([""] + b.lines)][1:]
    if t == "container_directive":
        return [line for b in _container(node, 0, 0, [], set()) for line in ([""] + b.lines)][1:]
    if t == "admonition":
        title = " ".join(node.meta.get("tag", "").split()) if node.meta else ""
        body = [line for c in node.children if c.type != "admonition_title" for line in _lines(c)]
        heads = [_inline_of(c) for c in node.children if c.type == "admonition_title"]
        lead = (heads[0].strip() if heads and heads[0].strip() else title.capitalize()) + ":"
        return [line for b in with_lead(lead, [Block(0, body)] if body else [], 0) for line in b.lines]
    if t == "field_list":
        out = []
        for child in node.children:
            if child.type == "fieldlist_name":
                out.append(" ".join(_inline_of(child).split()) + ":")
            else:
                body = [line for c in child.children for line in _lines(c)]
                if body and out:
                    out[-1] += " " + body[0]
                    body = body[1:]
                out.extend("  " + line if line else line for line in body)
        return out
    if t == "paragraph":
        return (
            []
            if _link_only(node) or _INCLUDE.match(node.content or _inline_of(node)) or _imports(node)
            else _inline_of(node).split("\n")
        )
    if t == "heading":
        return [_heading_text(node)]
    if t == "html_block" or (t == "code_block" and _html(node.content)):
        return _html_lines(node.content)
    if t in ("fence", "code_block"):
        language = node.info.strip().split()[0] if node.info.strip() else ""
        return fence(language, node.content)
    if t in ("bullet_list", "ordered_list"):
        start = int(node.attrs.get("start", 1) or 1)
        return [
            line
            for i, item in enumerate(node.children)
            for line in _item(item, f"{start + i}." if t == "ordered_list" else "-")
        ]  # empty items vanish
    if t == "table":
        rows = []
        for part in node.children:
            for tr in part.children:
                rows.append(" | ".join(" ".join(_inline_of(cell).split()) for cell in tr.children))
                if part.type == "thead":
                    rows.append(" | ".join("---" for _ in tr.children))
        return rows
    if t == "dl":
        out = []
        for child in node.children:
            if child.type == "dt":
                out.append(" ".join(_inline_of(child).split()))
            else:
                out.extend("  " + line if line else line for c in child.children for line in _lines(c))
        return out
    if t == "blockquote" and _alert(node):
        lines = [line for c in node.children for line in _lines(c)][1:]
        body = [Block(0, lines)] if any(line.strip() for line in lines) else []
        return [line for b in with_lead(ADMONITION[_alert(node)] + ":", body, 0) for line in b.lines]
    if t in ("blockquote", "dd", "list_item"):
        return [line for c in node.children for line in _lines(c)]
    if t == "math_block":
        return node.content.strip("\n").split("\n")
    return []  # hr, myst targets, comments and block breaks, footnote blocks: nothing to read


def _imports(node) -> bool:
    """A paragraph whose source is ES module imports only."""
    return bool(_IMPORTS.fullmatch("\n".join(c.content for c in node.children if c.type == "inline").strip()))


def _heading_text(node) -> str:
    return _HEADING_ID.sub("", " ".join(_inline_of(node).split()))


def _alert(node) -> str:
    """The kind of a GitHub alert (a quote whose first line is `[!NOTE]`, `[!WARNING]`...), else ''."""
    first = node.children[0] if node.children else None
    if first is None or first.type != "paragraph":
        return ""
    m = _ALERT.match(_inline_of(first).split("\n")[0])
    return m.group(1).lower() if m else ""


def _html(text: str) -> bool:
    """An indented block that is HTML (a `<div>` nested in a `<div>` after a blank line), not code."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return bool(lines) and lines[0].startswith("<") and sum(line.startswith("<") for line in lines) >= 0.6 * len(lines)


def _html_lines(content: str) -> list[str]:
    """An HTML block's text, each line where it was (leading blank lines kept; `<br>` is a space, so
    lines stay put), entities decoded; a block of links and badges only is nothing."""
    import html

    content = _STYLE.sub("", content)
    if link_only([(bool(m), part) for part, m in _anchor_parts(_TAG.sub(_keep_anchors, content))]):
        return []
    text = html.unescape(_TAG.sub("", re.sub(r"<br\s*/?>", " ", content, flags=re.I)))
    return [" ".join(line.split()) for line in text.rstrip().split("\n")] if text.strip() else []


def _keep_anchors(m) -> str:
    return m.group(0) if re.match(r"</?a\b", m.group(0), re.I) else ""


def _anchor_parts(html: str) -> list[tuple[str, bool]]:
    """(text, inside an <a> element) pieces of HTML whose other tags are gone."""
    parts, at = [], 0
    for m in _ANCHOR.finditer(html):
        parts.extend([(html[at : m.start()], False), (m.group(1), True)])
        at = m.end()
    return parts + [(html[at:], False)]


def _link_only(node) -> bool:
    """A paragraph of links, badges and separators only (`GitHub | Documentation`, a row of shields)."""
    parts: list[tuple[bool, str]] = []
    inside = 0
    for child in (c for i in node.children if i.type == "inline" for c in i.children):
        if child.type == "html_inline":
            if re.match(r"<a\b", child.content, re.I):
                inside += 1
            elif re.match(r"</a\s*>", child.content, re.I):
                inside = max(inside - 1, 0)
            continue
        if child.type in ("link", "image"):
            parts.append((True, ""))
        elif child.type in ("softbreak", "hardbreak"):
            continue
        elif child.type == "text":  # bare URLs count as links; a malformed `<a href=x">` is still an anchor
            for piece in re.split(r"(<a\b[^>]*>|</a\s*>)", child.content, flags=re.I):
                if re.match(r"<a\b", piece, re.I) or _URL.search(piece):
                    inside += 1 if piece[:2].lower() == "<a" else 0
                    parts.append((True, ""))
                    piece = "" if piece[:2].lower() == "<a" else _URL.sub("", piece)
                elif re.match(r"</a", piece, re.I):
                    inside, piece = max(inside - 1, 0), ""
                parts.append((bool(inside), piece))
        else:
            parts.append((bool(inside), _inline(child)))
    return link_only(parts)


def _inline_of(node) -> str:
    """Text of a block's inline content: roles as their text, links as their words, no HTML or images."""
    return (
        "".join(_inline(c) for child in node.children if child.type == "inline" for c in child.children)
        if any(c.type == "inline" for c in node.children)
        else "".join(_inline(c) for c in node.children)
    )


def _inline(node) -> str:
    t = node.type
    if t == "text":
        return node.content
    if t in ("softbreak", "hardbreak"):
        return "\n"
    if t == "code_inline":
        return f"`{node.content}`"
    if t == "myst_role":
        return role_text(node.meta.get("name", ""), node.content)
    if t in ("image", "html_inline", "footnote_ref"):
        return ""
    if t == "link":  # its words; a badge (a link around an image) shows nothing
        words = "".join(_inline(c) for c in node.children)
        return words or ("" if node.children else node.attrs.get("href", ""))
    if t in ("math_inline", "substitution_inline"):
        return node.content.strip()
    return "".join(_inline(c) for c in node.children)
