"""reStructuredText to clean section blocks with docutils, Sphinx's roles and directives included.

docutils knows none of Sphinx's additions, so they are registered generically while a document
is parsed (and docutils' own lookup is restored after it): a role becomes its text (`:func:`~a.b`` -> `b`), an object directive
(`py:function::`, `autoclass::`) keeps its target as a label, `toctree`/`include`-like
directives are dropped, code directives keep their language, and any other directive keeps
its argument and content as text (reported once per file as `unknown_directive`).
"""

from __future__ import annotations

import re
import textwrap
from contextlib import contextmanager
from functools import lru_cache

from corpus_ft.ingest.docs import (
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

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")
_MAX_WARNINGS = 5  # docutils errors reported per file; the rest are counted in the last one


def sections(text: str, title: str, min_chars: int, warnings: list) -> list[dict]:
    """Section units of one reST file; levels follow docutils (order in which adornments first appear)."""
    return assemble(blocks(text, 0, warnings), text.split("\n"), title, min_chars)


def blocks(text: str, offset: int, warnings: list, seen: set | None = None) -> list:
    """Headings and clean blocks in order; `offset` is the 0-based source line of `text`'s first line."""
    from docutils import nodes

    doc = _parse(text)
    errors = [m for m in doc.findall(nodes.system_message) if m.get("level", 0) >= 3]
    for i, m in enumerate(errors[:_MAX_WARNINGS]):
        more = f" (+{len(errors) - _MAX_WARNINGS} more)" if i == _MAX_WARNINGS - 1 < len(errors) - 1 else ""
        message = m.children[0].astext() if m.children else m.astext()
        warnings.append(
            {"kind": "rst", "line": (m.get("line") or 0) + offset, "message": " ".join(message.split())[:200] + more}
        )
    seen = set() if seen is None else seen
    for node in doc.findall(nodes.container):
        name = node.get("cft_unknown")
        if name and name not in seen:
            seen.add(name)
            warnings.append(
                {
                    "kind": "unknown_directive",
                    "line": (node.line or 0) + offset,
                    "message": f"directive `.. {name}::` is not known; its content was kept as text",
                }
            )
    walker = _Walker(text.split("\n"), offset, doc.substitution_defs)
    walker.walk(doc, 0)
    return walker.items


def _parse(text: str):
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    doc = new_document("<rst>", _settings())
    with sphinx_markup():
        Parser().parse(text, doc)
    return doc


@lru_cache(maxsize=1)
def _settings():
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser

    settings = get_default_settings(Parser)
    for key, value in {
        "report_level": 5,
        "halt_level": 5,
        "warning_stream": False,
        "file_insertion_enabled": False,
        "raw_enabled": False,
        "syntax_highlight": "none",
        "pep_references": False,
        "rfc_references": False,
    }.items():
        setattr(settings, key, value)
    return settings


class _AnyOption(dict):
    """Every `:option:` a directive may take is accepted and kept as a plain string."""

    def __missing__(self, key):
        from docutils.parsers.rst import directives

        return directives.unchanged


@contextmanager
def sphinx_markup():
    """docutils' directive and role lookup, taught Sphinx's generically for the `with` block only:
    docutils is process-wide state that other code (a Sphinx build, another docutils user) relies on."""
    from docutils.parsers.rst import directives, roles

    directive, role = _lookups()
    saved = directives.directive, roles.role
    directives.directive, roles.role = directive, role
    try:
        yield
    finally:
        directives.directive, roles.role = saved


@lru_cache(maxsize=1)
def _lookups():
    """(directive lookup, role lookup) that fall back to a generic directive and role."""
    from docutils import nodes, utils
    from docutils.parsers.rst import Directive, directives, roles

    class Generic(Directive):
        required_arguments, optional_arguments, final_argument_whitespace = 0, 1, True
        has_content = True
        option_spec = _AnyOption(class_=directives.unchanged)

        def run(self):
            kind = directive_kind(self.name)
            argument = " ".join(self.arguments[0].replace("\\ ", " ").split()) if self.arguments else ""
            argument = re.sub(r"\\(\S)", r"\1", argument)  # reST escapes: `call(\*args)` shows `call(*args)`
            if kind == "drop":
                return []
            if kind == "code":
                code = "\n".join(self.content)
                node = nodes.literal_block(code, code, language=argument.split()[0] if argument else "", cft_fence=True)
                node.line = self.lineno
                return [node]
            node = nodes.container(
                cft_lead=directive_lead(self.name, argument),
                cft_type=directive_type(self.name),
                cft_name=argument.split("(")[0] if kind == "label" else "",
            )
            node.line = self.lineno
            code = "\n".join(self.content)
            language = looks_like_code(code) if kind == "unknown" else None
            if language is not None:  # `.. click:example::` and the like hold a program: a code block
                block = nodes.literal_block(code, textwrap.dedent(code).strip("\n"), language=language, cft_fence=True)
                block.line = self.content_offset  # the fence takes the blank line above the code
                node += block
                return [node]
            if kind == "unknown":
                node["cft_unknown"] = self.name
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    ours = {"drop", "code", "version", "label"}
    known = directives.directive

    def directive(name, language, document):
        if directive_kind(name) in ours or name.lower() in ("seealso", "todo"):
            return Generic, []
        cls, messages = known(name, language, document)
        return (cls, messages) if cls is not None else (Generic, [])

    def generic_role(name, rawtext, text, lineno, inliner, options=None, content=None):
        shown = role_text(name, utils.unescape(text))
        if len(shown) > 1 and shown[0] == shown[-1] == "`":
            return [nodes.literal(rawtext, shown[1:-1])], []
        return [nodes.Text(shown)], []

    known_role = roles.role

    def role(name, language, lineno, reporter):
        fn, messages = known_role(name, language, lineno, reporter)
        return (fn, messages) if fn is not None else (generic_role, [])

    return directive, role


_TYPES = {"table": "table", "math_block": "math", "rubric": "paragraph", "line_block": "paragraph"}


class _Walker:
    """Turns a doctree into Headings and Blocks with their source lines."""

    def __init__(self, src: list[str], offset: int, substitutions: dict):
        self.src, self.offset, self.subs = src, offset, substitutions
        self.items: list = []

    def walk(self, node, depth: int) -> None:
        from docutils import nodes

        for child in node.children:
            if isinstance(child, nodes.section):
                title = child.next_node(nodes.title)
                text = " ".join(self.inline(title).split()) if title else ""
                at = title.line - 1 + self.offset if title is not None and title.line else 0
                self.items.append(Heading(self._title_line(title), depth + 1, text, at))
                self.walk(child, depth + 1)
            elif isinstance(
                child,
                (
                    nodes.title,
                    nodes.system_message,
                    nodes.comment,
                    nodes.target,
                    nodes.substitution_definition,
                    nodes.raw,
                    nodes.pending,
                    nodes.transition,
                ),
            ):
                continue
            elif isinstance(child, (nodes.bullet_list, nodes.enumerated_list)):
                for marker, item in self.markers(child):
                    self.items.append(Block(self.line(item), self.item(item, marker), "list_item"))
            elif isinstance(child, (nodes.definition_list, nodes.field_list, nodes.option_list)):
                for entry in child.children:  # each entry on its own line: they are often blank-separated
                    self.items.append(Block(self.line(entry), self.entry(entry), "definition"))
            elif isinstance(child, nodes.block_quote):
                self.walk(child, depth)
            elif isinstance(child, nodes.container) and "cft_lead" in child.attributes:
                self.lead_and_walk(child, child["cft_lead"], depth, child["cft_type"], child["cft_name"])
            elif isinstance(child, nodes.Admonition):
                self.lead_and_walk(child, self.admonition_lead(child), depth)
            elif isinstance(child, (nodes.container, nodes.compound)):
                self.walk(child, depth)
            else:
                line = self.line(child)
                code = isinstance(child, (nodes.literal_block, nodes.doctest_block))
                if code and not child.get("cft_fence") and line:
                    line -= 1  # `::` blocks: the fence takes the blank line above the code
                lines = self.lines(child)
                language = lines[0].lstrip("`") if code and lines else ""
                self.items.append(
                    Block(line, lines, _TYPES.get(child.tagname, "code" if code else "paragraph"), 0, language)
                )

    def lead_and_walk(self, node, lead: str, depth: int, type: str = "admonition", name: str = "") -> None:
        """A directive's content block by block on its own lines, its lead (`Note:`) before the first."""
        start = len(self.items)
        self.walk(node, depth)
        self.items[start:] = with_lead(lead, self.items[start:], self.line(node), type, name)

    def admonition_lead(self, node) -> str:
        from docutils import nodes

        if isinstance(node, nodes.admonition):
            title = node.next_node(nodes.title)
            return f"{' '.join(self.inline(title).split())}:" if title else ""
        return node.tagname.replace("_", " ").capitalize() + ":"

    def line(self, node) -> int:
        """1-based source line of a node (its own, else its first descendant's); 0 when unknown."""
        for n in node.findall():
            if getattr(n, "line", None):
                return n.line + self.offset
        return 0

    def _title_line(self, title) -> int:
        """docutils gives a title the line of its underline; the heading starts at its text or overline."""
        if title is None or not title.line:
            return 0
        at = title.line - 1  # 1-based line of the title text
        if at >= 2 and _ADORNMENT.match(self.src[at - 2]):  # an overline
            at -= 1
        return at + self.offset

    def markers(self, node):
        from docutils import nodes

        if isinstance(node, nodes.enumerated_list):
            start = node.get("start", 1)
            return [(f"{start + i}.", item) for i, item in enumerate(node.children)]
        return [("-", item) for item in node.children]

    def item(self, item, marker: str) -> list[str]:
        """A whole list item, each child block on its source line relative to the item's first."""
        from docutils import nodes

        lines: list[str] = []
        top = self.line(item)
        for child in item.children:
            at = self.line(child) - top if top else 0
            if isinstance(child, (nodes.literal_block, nodes.doctest_block)) and not child.get("cft_fence") and at > 0:
                at -= 1  # `::` code: the fence takes the blank line above it
            lines.extend([""] * (at - len(lines)))
            lines.extend(self.lines(child))
        lines = lines or [""]
        pad = " " * (len(marker) + 1)
        return [f"{marker} {lines[0]}"] + [pad + line if line else line for line in lines[1:]]

    def lines(self, node) -> list[str]:
        """Clean lines of one body element (nested elements included)."""
        from docutils import nodes

        if isinstance(node, nodes.paragraph) and link_only(
            [(isinstance(c, (nodes.reference, nodes.image)), c.astext()) for c in node.children]
        ):
            return []  # `GitHub <url>`_ | `Docs <url>`_, a row of badges: navigation, not prose
        if isinstance(
            node, (nodes.paragraph, nodes.rubric, nodes.title, nodes.caption, nodes.term, nodes.line, nodes.attribution)
        ):
            return self.inline(node).split("\n")
        if isinstance(node, (nodes.literal_block, nodes.doctest_block)):
            language = node.get("language") or ("pycon" if isinstance(node, nodes.doctest_block) else "")
            classes = [c for c in node.get("classes", []) if c != "code"]
            return fence(language or (classes[0] if classes else ""), node.astext())
        if isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            return [line for marker, item in self.markers(node) for line in self.item(item, marker)]
        if isinstance(node, (nodes.definition_list, nodes.field_list, nodes.option_list)):
            return [line for entry in node.children for line in self.entry(entry)]
        if isinstance(node, nodes.table):
            return self.table(node)
        if isinstance(node, nodes.Admonition):
            body = [c for c in node.children if not isinstance(c, nodes.title)]
            return _lead(self.admonition_lead(node), [line for c in body for line in self.lines(c)])
        if isinstance(node, nodes.container) and "cft_lead" in node.attributes:
            return _lead(node["cft_lead"], [line for c in node.children for line in self.lines(c)])
        if isinstance(
            node,
            (
                nodes.block_quote,
                nodes.container,
                nodes.topic,
                nodes.sidebar,
                nodes.compound,
                nodes.line_block,
                nodes.figure,
                nodes.legend,
                nodes.list_item,
                nodes.definition,
                nodes.entry,
            ),
        ):
            return [line for c in node.children for line in self.lines(c)]
        if isinstance(node, nodes.math_block):
            return node.astext().strip("\n").split("\n")
        if isinstance(
            node,
            (
                nodes.system_message,
                nodes.comment,
                nodes.target,
                nodes.substitution_definition,
                nodes.raw,
                nodes.image,
                nodes.transition,
                nodes.pending,
                nodes.footnote,
                nodes.citation,
            ),
        ):
            return []
        return [line for line in node.astext().split("\n")]

    def entry(self, entry) -> list[str]:
        """One definition (`term` then its text indented), field or option (`name: text`)."""
        from docutils import nodes

        if isinstance(entry, nodes.definition_list_item):
            out = []
            for part in entry.children:
                if isinstance(part, nodes.definition):
                    out.extend("  " + line if line else line for c in part.children for line in self.lines(c))
                else:
                    out.append(" ".join(self.inline(part).split()))
            return out
        name, body = entry.children[0], entry.children[-1]
        text = [line for c in body.children for line in self.lines(c)] or [""]
        return [f"{' '.join(name.astext().split())}: {text[0]}"] + ["  " + line if line else line for line in text[1:]]

    def table(self, node) -> list[str]:
        from docutils import nodes

        rows = []
        for part in node.findall(lambda n: isinstance(n, (nodes.thead, nodes.tbody))):
            for row in part.children:
                cells = [" ".join(" ".join(self.lines(entry)).split()) for entry in row.children]
                rows.append(" | ".join(cells))
                if isinstance(part, nodes.thead):
                    rows.append(" | ".join("---" for _ in cells))
        return rows

    def inline(self, node) -> str:
        """Text of inline markup: literals in backticks, references as their words, no images or footnotes."""
        from docutils import nodes

        out = []
        for child in node.children:
            if isinstance(child, nodes.Text):
                out.append(child.astext())
            elif isinstance(child, nodes.title_reference):  # `text` under a default role (`obj` in Sphinx)
                out.append(role_text("obj", child.astext()))
            elif isinstance(child, nodes.literal):
                out.append(f"`{child.astext()}`")
            elif isinstance(child, nodes.substitution_reference):
                target = self.subs.get(child.get("refname", ""))
                out.append(target.astext() if target is not None else child.astext())
            elif isinstance(
                child,
                (nodes.footnote_reference, nodes.citation_reference, nodes.image, nodes.raw, nodes.system_message),
            ):
                continue
            elif isinstance(child, nodes.problematic):
                out.append(child.astext().strip("|`*_"))
            else:
                out.append(self.inline(child))
        return "".join(out)


def _lead(lead: str, lines: list[str]) -> list[str]:
    """`Note: first line` with the rest of the content below it (a label on a line of its own)."""
    return [line for b in with_lead(lead, [Block(0, lines)] if lines else [], 0) for line in b.lines]
