"""Markdown to clean section blocks with markdown-it-py: CommonMark, tables, YAML front matter,
MyST roles and directives (```{note}```, :::{note}, ```{eval-rst}```), definition lists."""

from __future__ import annotations

import re
from functools import lru_cache

from corpus_ft.ingest.docs import (Block, Heading, assemble, directive_kind, directive_lead, fence, role_text,
                                   with_lead)

_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.S)


@lru_cache(maxsize=1)
def parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin
    from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
    from mdit_py_plugins.colon_fence import colon_fence_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.field_list import fieldlist_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin
    from mdit_py_plugins.myst_blocks import myst_block_plugin
    from mdit_py_plugins.myst_role import myst_role_plugin
    from mdit_py_plugins.substitution import substitution_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for plugin in (front_matter_plugin, myst_role_plugin, myst_block_plugin, colon_fence_plugin, deflist_plugin,
                   fieldlist_plugin, attrs_block_plugin, attrs_plugin, substitution_plugin, dollarmath_plugin,
                   admon_plugin):
        md.use(plugin)
    return md


def sections(text: str, title: str, min_chars: int, warnings: list) -> list[dict]:
    """Section units of one Markdown file; front matter is read for its title, never kept as text."""
    lines = text.split("\n")
    items, meta = blocks(text, 0, warnings)
    if lines and lines[0].strip() == "---" and meta is None:
        warnings.append({"kind": "front_matter", "line": 1,
                         "message": "front matter opened with '---' but never closed; read as text"})
    preamble = str(meta.get("title") or "") if isinstance(meta, dict) else ""
    return assemble(items, lines, title, min_chars, preamble)


def blocks(text: str, offset: int, warnings: list, seen: set | None = None) -> tuple[list, dict | None]:
    """(headings and blocks in order, front matter or None); `offset` is the 0-based line of `text`'s first line."""
    from markdown_it.tree import SyntaxTreeNode

    seen = set() if seen is None else seen
    items: list = []
    meta = None
    for node in SyntaxTreeNode(parser().parse(text)).children:
        line = (node.map[0] if node.map else 0) + offset + 1
        if node.type == "front_matter":
            meta = _front_matter(node.content, line, warnings)
        elif node.type == "heading":
            items.append(Heading(line, int(node.tag[1]), " ".join(_inline_of(node).split())))
        elif node.type in ("bullet_list", "ordered_list"):
            start = int(node.attrs.get("start", 1) or 1)
            for i, item in enumerate(node.children):
                marker = f"{start + i}." if node.type == "ordered_list" else "-"
                items.append(Block((item.map[0] if item.map else 0) + offset + 1, _item(item, marker)))
        elif node.type == "blockquote":
            for child in node.children:
                items.append(Block((child.map[0] if child.map else 0) + offset + 1, _lines(child)))
        elif node.type in ("fence", "colon_fence") and node.info.strip().startswith("{"):
            items.extend(_directive(node, line, warnings, seen))
        elif node.type == "colon_fence":  # ::: with a class or (mkdocstrings) an object to document
            items.extend(_colon_container(node, line, warnings, seen))
        elif node.type == "admonition":  # Python-Markdown `!!! note "Title"`
            items.append(Block(line, _lines(node)))
        elif node.type == "code_block":
            items.append(Block(max(line - 1, offset + 1), _lines(node)))  # the fence takes the blank line above
        else:
            items.append(Block(line, _lines(node)))
    return items, meta


def _front_matter(content: str, line: int, warnings: list) -> dict | None:
    import yaml

    try:
        meta = yaml.safe_load(content)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = line + 1 + mark.line if mark is not None else line
        warnings.append({"kind": "front_matter", "line": at,
                         "message": f"front matter is not valid YAML ({getattr(e, 'problem', None) or e}); ignored"})
        return {}
    return meta if isinstance(meta, dict) else {}


def _directive(node, line: int, warnings: list, seen: set) -> list:
    """A MyST directive: code keeps its language, toctree-like ones vanish, the rest keep their content."""
    name, _, argument = node.info.strip()[1:].partition("}")
    name, argument = name.strip(), argument.strip()
    kind = directive_kind(name)
    body = node.content.split("\n")
    skip = 0
    if body and body[0].strip() == "---":  # YAML options block
        skip = next((i + 1 for i in range(1, len(body)) if body[i].strip() == "---"), 0)
    while skip < len(body) and re.match(r"^:[\w-]+:", body[skip]):
        skip += 1
    content = "\n".join(body[skip:])  # leading blank lines kept: the content's lines stay on their source lines
    first = line + 1 + skip  # 1-based line of the content
    if kind == "drop":
        return []
    if kind == "code":
        return [Block(line, fence(argument.split()[0] if argument else "", content.strip("\n")))]
    if name == "eval-rst":
        from corpus_ft.ingest import rst

        return rst.blocks(content, first - 1, warnings, seen)
    if kind == "unknown" and name not in seen:
        seen.add(name)
        warnings.append({"kind": "unknown_directive", "line": line,
                         "message": f"directive {{{name}}} is not known; its content was kept as text"})
    inner, _ = blocks(content, first - 1, warnings, seen)
    out = [Block(b.line, b.lines) if isinstance(b, Block) else Block(b.line, [b.text]) for b in inner
           if not isinstance(b, Block) or b.lines]
    return with_lead(directive_lead(name, argument), out, line)


def _colon_container(node, line: int, warnings: list, seen: set) -> list:
    """`::: name` without braces: mkdocstrings' `::: package.object` (a label; its `:options:` go)
    or a container with a CSS class (its content is Markdown)."""
    info = node.info.strip()
    content = "\n".join("" if re.match(r"^\s*:[\w-]+:", x) else x for x in node.content.split("\n"))
    inner = [b for b in blocks(content, line, warnings, seen)[0] if not isinstance(b, Block) or b.lines]
    if re.fullmatch(r"[\w.]+", info) and "." in info:
        return [Block(line, [f"`{info}`"]), *inner]
    return inner


def _item(item, marker: str) -> list[str]:
    """A whole list item: its marker on the first line, everything else indented under it, each
    child block on its own source line relative to the item's first."""
    lines: list[str] = []
    for child in item.children:
        if child.map and item.map and child.map[0] - item.map[0] > len(lines):
            lines.extend([""] * (child.map[0] - item.map[0] - len(lines)))
        lines.extend(_lines(child))
    lines = lines or [""]
    pad = " " * (len(marker) + 1)
    return [f"{marker} {lines[0]}"] + [pad + line if line else line for line in lines[1:]]


def _lines(node) -> list[str]:
    """Clean lines of one block node (nested blocks included)."""
    t = node.type
    if t in ("fence", "colon_fence") and node.info.strip().startswith("{"):  # a directive inside a list or quote
        return [line for b in _directive(node, 0, [], set()) for line in ([""] + b.lines)][1:]
    if t == "colon_fence":
        return [line for b in _colon_container(node, 0, [], set()) if isinstance(b, Block) for line in b.lines]
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
        return _inline_of(node).split("\n")
    if t == "heading":
        return [" ".join(_inline_of(node).split())]
    if t in ("fence", "code_block", "colon_fence"):
        language = node.info.strip().split()[0] if node.info.strip() else ""
        return fence(language, node.content)
    if t in ("bullet_list", "ordered_list"):
        start = int(node.attrs.get("start", 1) or 1)
        return [line for i, item in enumerate(node.children)
                for line in _item(item, f"{start + i}." if t == "ordered_list" else "-")]
    if t == "table":
        rows = []
        for part in node.children:
            for tr in part.children:
                rows.append(" | ".join(" ".join(_inline_of(cell).split()) for cell in tr.children))
                if part.type == "thead":
                    rows.append(" | ".join("---" for _ in tr.children))
        return rows
    if t == "html_block":  # its text, each line where it was (leading blank lines kept)
        text = _TAG.sub("", node.content)
        return [line.strip() for line in text.rstrip().split("\n")] if text.strip() else []
    if t == "dl":
        out = []
        for child in node.children:
            if child.type == "dt":
                out.append(" ".join(_inline_of(child).split()))
            else:
                out.extend("  " + line if line else line for c in child.children for line in _lines(c))
        return out
    if t in ("blockquote", "dd", "list_item"):
        return [line for c in node.children for line in _lines(c)]
    if t == "math_block":
        return node.content.strip("\n").split("\n")
    return []  # hr, myst targets, comments and block breaks, footnote blocks: nothing to read


def _inline_of(node) -> str:
    """Text of a block's inline content: roles as their text, links as their words, no HTML or images."""
    return "".join(_inline(c) for child in node.children if child.type == "inline" for c in child.children) \
        if any(c.type == "inline" for c in node.children) else "".join(_inline(c) for c in node.children)


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
    if t == "link":
        words = "".join(_inline(c) for c in node.children)
        return words or node.attrs.get("href", "")
    if t in ("math_inline", "substitution_inline"):
        return node.content.strip()
    return "".join(_inline(c) for c in node.children)
