"""MDX (Markdown with JSX, the page format of Docusaurus, Nextra, Astro Starlight and similar docs
sites) rewritten, line for line, as the Markdown the Markdown reader reads: ESM `import`/`export`
statements, JSX tags and `{expressions}` go, the text between tags stays, code fences are untouched.

Every source line keeps its number, so blocks still map back to the lines they came from.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^((?:\s*(?:>|(?:[-*+]|\d+[.)])(?=\s)))*\s*)(`{3,}|~{3,})")  # in a list item or quote too
# ESM at the start of a line (MDX reads it only there, outside JSX): `import X from 'y'`, `export const meta = {`
_ESM = re.compile(
    r"^(?:import\s+(?:type\s+)?(?:[\w$]+\s*(?:,|from\b)|[{*])|import\s*['\"]"
    r"|export\s+(?:const|let|var|function|async|class|default|type|interface)\b|export\s*[{*])"
)
_TAG_START = re.compile(r"<(?:/?\s*[A-Za-z][\w.:-]*|/?>)")  # `<Name`, `</Name`, `<>` and `</>` (fragments)
_AUTOLINK = re.compile(r"<(?:[A-Za-z][\w+.-]*:[^\s<>]*|[^\s<>@]+@[^\s<>]+)>")  # <https://x>, <a@b.c>: Markdown's
_STRING = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*""", re.S)
_ANCHOR_TAG = re.compile(r"</?a\b", re.I)  # kept: the Markdown reader tells a row of links from prose by them
# HTML elements that never hold children, written without `/>` by authors used to HTML
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


class _Construct:
    """A JSX tag or a `{...}` expression being read, perhaps across lines."""

    def __init__(self, kind: str, start: str):
        self.kind = kind  # "tag" or "expr"
        self.text = start
        self.depth = 1 if kind == "expr" else 0  # open braces
        self.quote = ""  # the quote character of an open string
        self.comment = False  # inside /* ... */

    def feed(self, ch: str, nxt: str) -> tuple[bool, int]:
        """Take one character; (construct ended, extra characters consumed)."""
        self.text += ch
        if self.comment:
            if ch == "*" and nxt == "/":
                self.text += nxt
                self.comment = False
                return False, 1
            return False, 0
        if self.quote:
            if ch == "\\" and nxt:
                self.text += nxt
                return False, 1
            if ch == self.quote:
                self.quote = ""
            return False, 0
        if ch in "\"'`" and (self.kind == "expr" or self.depth or ch != "`"):
            self.quote = ch
        elif ch == "/" and nxt == "*" and (self.kind == "expr" or self.depth):
            self.text += nxt
            self.comment = True
            return False, 1
        elif ch == "{":
            self.depth += 1
        elif ch == "}":
            self.depth -= 1
            return self.kind == "expr" and self.depth == 0, 0
        elif ch == ">" and self.kind == "tag" and self.depth == 0:
            return True, 0
        return False, 0


def to_markdown(text: str) -> str:
    """An MDX page as Markdown on the same lines: front matter and code as they are; ESM statements,
    `{/* comments */}` and `{expressions}` gone (a string literal `{' '}` is its text); JSX and HTML
    tags gone but their children kept, except `<a>` tags, which the Markdown reader reads itself.
    Content indented inside JSX elements moves out to the outermost element's indentation (relative
    indentation kept), since MDX has no indented code blocks and Markdown would read it as one.

    A `{`, `<` or ESM line whose construct never ends (a page that is not valid MDX), or a tag that
    runs over a blank line, is text: the page is read again with that one taken literally, so one
    stray brace does not empty the page."""
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":  # front matter: YAML, read by the Markdown reader
        close = next((j for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), None)
        start = 0 if close is None else close + 1
    literal: set[tuple[int, int]] = set()  # (line, column) of openings read as text; column -1: an ESM line
    for _ in range(_MAX_PASSES):
        out, unclosed = _rewrite(lines, start, literal)
        if unclosed is None:
            break
        literal.add(unclosed)
    return "\n".join(out)


_MAX_PASSES = 50  # a page with more never-closed openings than this keeps what the last pass made of it


def _rewrite(lines: list[str], start: int, literal: set[tuple[int, int]]) -> tuple[list[str], tuple | None]:
    """One pass of `to_markdown` from line `start`: (the lines, where a construct left open at the
    end of the page began, or None)."""
    out = lines[:start]
    opened: tuple[int, int] | None = None  # where the open construct or ESM statement began
    fence: tuple[str, int] | None = None  # (marker, indentation its lines lose)
    esm_depth: int | None = None  # open brackets of an ESM statement being dropped; None: not in one
    open_: _Construct | None = None
    stack: list[str] = []  # the names of the open JSX elements
    outer: list = [0, None]  # the outermost open element's indentation, and how much its content's exceeds it
    for at in range(start, len(lines)):
        line = lines[at]
        if fence is not None:  # code: as it is, less the indentation of its fence
            out.append(_dedent(line, fence[1]))
            m = _FENCE.match(line)
            if m and m.group(2)[0] == fence[0][0] and len(m.group(2)) >= len(fence[0]) and not line[m.end() :].strip():
                fence = None
            continue
        if esm_depth is not None:
            if not line.strip() and esm_depth <= 0:
                esm_depth = None
                out.append(line)
            else:
                esm_depth += _brackets(line)
                out.append("")
            continue
        if open_ is None and not stack and _ESM.match(line) and (at, -1) not in literal:
            esm_depth, opened = _brackets(line), (at, -1)
            out.append("")
            continue
        if open_ is not None and open_.kind == "tag" and not line.strip():
            return out, opened  # a tag runs over a blank line: its `<` was text (`a <b`), read again
        m = _FENCE.match(line)
        if open_ is None and m:
            strip = _shift(outer, len(m.group(1))) if stack and not m.group(1).strip() else 0
            fence = (m.group(2), strip)
            out.append(_dedent(line, strip))
            continue
        inside = bool(stack)
        skip = {col for row, col in literal if row == at}
        kept, open_, changed, events, col = _scan(line, open_, skip)
        if col is not None:
            opened = (at, col)
        if changed and not kept.strip():
            kept = ""
        elif inside:
            kept = _dedent(kept, _shift(outer, _indent(kept)))
        for kind, name in events:
            if kind == "open" and name.lower() not in _VOID:
                if not stack:
                    outer = [_indent(line), None]
                stack.append(name)
            elif kind == "close" and name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        out.append(kept)
    return out, opened if open_ is not None or (esm_depth or 0) > 0 else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent(line: str, n: int) -> str:
    """`line` less up to `n` leading spaces (a shorter indentation goes whole)."""
    return line[min(n, _indent(line)) :]


def _shift(outer: list, indent: int) -> int:
    """How far a line indented by `indent` inside JSX moves out: by as much as the first content line
    is indented past the outermost element, never past that element's own indentation."""
    base, excess = outer
    if indent <= base:
        return 0
    if excess is None:
        excess = outer[1] = indent - base
    return min(excess, indent - base)


def _brackets(line: str) -> int:
    """Open minus closed brackets on a line of code (strings are not looked into: ESM lines are simple)."""
    line = re.sub(r"""(["'`])(?:\\.|(?!\1).)*\1""", "", line)
    return sum(line.count(c) for c in "{([") - sum(line.count(c) for c in "})]")


def _scan(
    line: str, open_: _Construct | None, literal: set[int]
) -> tuple[str, _Construct | None, bool, list[tuple[str, str]], int | None]:
    """One line outside code, the `{` and `<` at columns in `literal` taken as text: (what is kept,
    the construct still open at its end, whether anything was dropped, the JSX elements opened and
    closed as ("open"|"close"|"self", name), the column where the last construct began or None)."""
    if open_ is None and "{" not in line and "<" not in line:  # most lines: prose with no JSX
        return line, None, False, [], None
    kept: list[str] = []
    events: list[tuple[str, str]] = []
    changed = open_ is not None
    began = None
    n, k = len(line), 0
    while k < n:
        if open_ is not None:
            ended, extra = open_.feed(line[k], line[k + 1] if k + 1 < n else "")
            k += 1 + extra
            if ended:
                kept.append(_finish(open_, events))
                open_ = None
            continue
        ch = line[k]
        if ch == "\\" and k + 1 < n:
            kept.append(line[k : k + 2])
            k += 2
        elif ch == "`":  # a code span is text as it is
            run = len(line[k:]) - len(line[k:].lstrip("`"))
            close = line.find("`" * run, k + run)
            while close != -1 and line[close + run : close + run + 1] == "`":
                close = line.find("`" * run, close + run + 1)
            end = close + run if close != -1 else k + run
            kept.append(line[k:end])
            k = end
        elif k in literal:
            kept.append(ch)
            k += 1
        elif ch == "{":
            open_, changed, began = _Construct("expr", ""), True, k
            k += 1
        elif ch == "<" and (
            line[k + 1 : k + 2] in ("/", ">") or k == 0 or not (line[k - 1].isalnum() or line[k - 1] == "_")
        ):
            # (`Map<Key>` right after a word is a type written in prose, not a tag; `</x>` always closes one)
            auto = _AUTOLINK.match(line, k)
            if auto or not _TAG_START.match(line, k) or line.startswith("<!--", k):
                end = auto.end() if auto else k + 1
                kept.append(line[k:end])
                k = end
                continue
            open_, changed, began = _Construct("tag", "<"), True, k
            k += 1
        else:
            kept.append(ch)
            k += 1
    return "".join(kept), open_, changed, events, began


def _finish(c: _Construct, events: list[tuple[str, str]]) -> str:
    """What a complete tag or expression leaves in the text."""
    if c.kind == "expr":
        s = _STRING.fullmatch(c.text[:-1])  # `{' '}`, `{"<"}`: a string is its text
        return (s.group(1) if s.group(1) is not None else s.group(2)) if s else ""
    if _ANCHOR_TAG.match(c.text):
        return c.text
    m = re.match(r"<\s*(/?)\s*([\w.:-]*)", c.text)
    closing, name = m.group(1), m.group(2)
    selfclosing = c.text.rstrip(">").rstrip().endswith("/") and not closing
    events.append(("close" if closing else "self" if selfclosing else "open", name))
    return ""
