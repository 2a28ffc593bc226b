"""Facts about a code definition read from its tree-sitter nodes, for every language ingest parses.

The doc comment (read whole, markers stripped, inline tags rendered as their text, lint
directives left out), the parameters, the declared return type, what it raises or throws, what
it calls, whether its body is a stub, abstract or generated, and whether it is a test. Later
stages read these columns of units.parquet and never parse code again.

Calls and raises come from one query run over the whole file (in C), each then given to the
innermost function whose body holds it.
"""

from __future__ import annotations

import re

from tree_sitter import Language, Node, Query, QueryCursor

# --- doc comments --------------------------------------------------------------------------

COMMENTS = {"comment", "line_comment", "block_comment"}
ATTACHED = {"decorator", "attribute_item", "attribute_list", "annotation", "marker_annotation"}
# A Rust attribute that is a line of the doc comment (`#[doc = "…"]`, `#[cfg_attr(x, doc = "…")]`, used to
# hide a doctest's lines): the comment runs on through it.
_DOC_ATTRIBUTE = re.compile(rb"^#!?\[\s*(?:cfg_attr\s*\(.*,\s*)?doc\s*=", re.S)


def doc_attribute(node: Node) -> bool:
    """Whether an attribute node is part of a doc comment rather than an attribute of the code."""
    return node.type == "attribute_item" and bool(_DOC_ATTRIBUTE.match(node.text or b""))


# A comment that only talks to a tool (linters, formatters, coverage, the compiler) is not a comment
# for a reader: it neither documents a definition nor separates a doc comment from it.
_DIRECTIVE = re.compile(
    r"^\s*(?:/[/*]+|#+|--)?\s*(?:"
    r"eslint[- ]|eslint$|jshint\b|jscs:|jslint\b|global\s+\w|istanbul\s+ignore|c8\s+ignore|v8\s+ignore|"
    r"prettier-ignore|tslint:|biome-ignore|deno-lint-ignore|deno-fmt-ignore|@ts-(?:ignore|expect-error|nocheck|check)|"
    r"nolint\b|lint:|go:\w+|\+build\b|NOLINT|clang-format\s|clang-tidy|cppcheck-suppress|coverity\[|"
    r"noqa\b|type:\s*ignore|pyright:|mypy:|pylint:|flake8[:\s]|fmt:\s*(?:on|off|skip)|isort:|ruff:|pragma\b|"
    r"rubocop:|frozen_string_literal:|typed:\s*\w+|encoding:|-\*-|"
    r"cspell:|spell-checker:|region\b|endregion\b|#region|#endregion|ReSharper\s|NOSONAR|"
    r"rustfmt::|allow\(|SPDX-License-Identifier"
    r")",
    re.I,
)
# Tags that open a comment which is about its file, not about the definition under it.
_FILE_COMMENT = re.compile(r"@(?:license|module|file|fileoverview|overview|packageDocumentation|copyright)\b|^\s*/\*!")
_LICENSE = re.compile(r"\b(?:copyright|licen[cs]ed?|SPDX)\b", re.I)


def is_directive(comment: str) -> bool:
    """A whole comment that is a tool directive (`// eslint-disable-line`, `# noqa`, `//nolint`)."""
    return bool(_DIRECTIVE.match(comment))


def _doc_style(raw: str, language: str) -> bool:
    """A comment written as documentation by its language's convention (not only as a remark)."""
    if language == "rust":
        return (raw.startswith("///") and not raw.startswith("////")) or (
            raw.startswith("/**") and not raw.startswith("/***")
        )
    if language in ("python", "ruby"):
        return False
    return raw.startswith(("/**", "/*!", "///", "//!")) and not raw.startswith(("/***", "////"))


# Languages whose doc tools read only doc-style comments (Javadoc, KDoc, Scaladoc, PHPDoc `/** */`, C# `///`):
# a plain `//` comment between such a doc comment and the definition is a note to the maintainer
# ("// suppression for the superclass constructor"), and the doc comment above it is the doc.
_DOC_BLOCK_ONLY = frozenset({"java", "kotlin", "scala", "php", "csharp"})


def _doc_above(node: Node, src: bytes) -> bool:
    """Whether a doc-style block comment sits directly above this run of plain comments and attributes."""
    prev, row = node, node.start_point.row
    while prev is not None and (prev.type in COMMENTS or prev.type in ATTACHED) and prev.end_point.row >= row - 1:
        raw = src[prev.start_byte : prev.end_byte].decode("utf-8", "replace")
        if raw.startswith(("/**", "///")) and not raw.startswith(("/***", "////")):
            return True
        row, prev = prev.start_point.row, prev.prev_named_sibling
    return False


def _plain_ok(raw: str, language: str) -> bool:
    """A plain comment directly above a definition documents it in this language."""
    if language == "rust":
        return False  # rustdoc reads `///` and `/** */` only; `//` is a note to the maintainer
    if language == "ruby":
        return raw.startswith("#")
    return raw.startswith(("//", "/*"))


def leading_doc(outer: Node, src: bytes, language: str) -> tuple[str, int, int]:
    """The doc comment above a definition: (text, first line, last line), or ("", 0, 0).

    A run of line comments directly above (no blank line) is one text; a doc-style block
    (`/** */`, `///`) may stand a blank line away, as in "JSDoc, blank line, `x.y = function`".
    Decorators, attributes and tool directives between the comment and the definition are skipped.
    """
    parts: list[Node] = []
    row = outer.start_point.row
    prev = outer.prev_named_sibling
    style = ""
    while prev is not None and (prev.type in COMMENTS or prev.type in ATTACHED):
        if prev.type in ATTACHED:
            if parts and not doc_attribute(prev):
                break
            row = prev.start_point.row
            prev = prev.prev_named_sibling
            continue
        raw = src[prev.start_byte : prev.end_byte].decode("utf-8", "replace")
        if is_directive(raw):
            row = prev.start_point.row
            prev = prev.prev_named_sibling
            continue
        if prev.end_point.row == outer.start_point.row and not parts and prev.start_point.row == row:
            break  # `x = 1; // note` ends the line before: a trailing comment of other code
        if not parts and language in _DOC_BLOCK_ONLY and not _doc_style(raw, language) and _doc_above(prev, src):
            row = prev.start_point.row  # a `//` note to the maintainer between the doc comment and the code
            prev = prev.prev_named_sibling
            continue
        adjacent = prev.end_point.row >= row - 1
        doc = _doc_style(raw, language)
        marker = _MARKER.match(raw).group()
        if parts and (marker != style or not adjacent or raw.startswith("/*")):
            break  # a different kind of comment, a gap, or a second block: the doc is what we have
        if not parts:
            if not (doc or (adjacent and _plain_ok(raw, language))):
                break
            if not adjacent and _prev_code_on_row(prev):
                break
            if _FILE_COMMENT.search(raw) or (prev.start_point.row == 0 and _LICENSE.search(raw) and not doc):
                break
        parts.append(prev)
        style = marker
        row = prev.start_point.row
        if raw.startswith("/*"):
            break  # a block comment is whole on its own
        prev = prev.prev_named_sibling
    if not parts:
        return "", 0, 0
    parts.reverse()
    raw = "\n".join(src[p.start_byte : p.end_byte].decode("utf-8", "replace").rstrip() for p in parts)
    text = render_doc(strip_markers(raw), language)
    if not text:
        return "", 0, 0
    return text, parts[0].start_point.row + 1, parts[-1].end_point.row + 1


_MARKER = re.compile(r"///|//!|//|#|/\*\*|/\*!|/\*|--|")


def _prev_code_on_row(node: Node) -> bool:
    before = node.prev_sibling
    return before is not None and before.end_point.row == node.start_point.row


_COMMENT_LINE = re.compile(r"^\s*(?:///?[!<]?|#+:?|\*(?!/)|--)\s?")


def strip_markers(raw: str) -> str:
    """Comment markers (`/** */`, `*`, `///`, `//!`, `//`, `#`) off every line; lint directives dropped."""
    chunks = []
    for piece in raw.split("\n"):
        chunks.append(piece)
    text = "\n".join(chunks).strip()
    if text.startswith("/*"):
        text = text[2:].lstrip("*!")
        if text.endswith("*/"):
            text = text[:-2].rstrip("*")
    lines = []
    for ln in text.split("\n"):
        if is_directive(ln):
            continue
        lines.append(_COMMENT_LINE.sub("", ln, count=1).rstrip())
    while lines and not lines[0].strip():
        lines.pop(0)
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[indent:] for ln in lines).strip()


_HTML_TAGS = (
    "p|br|b|i|em|strong|u|ul|ol|li|pre|a|blockquote|h[1-6]|table|thead|tbody|tr|td|th|dl|dt|dd|div|span|sup|sub|hr|"
    "summary|remarks|para|value|example|list|item|term|description|inheritdoc|typeparam"
)
_HTML_TAG = re.compile(rf"</?(?:{_HTML_TAGS})\b[^<>]*/?>", re.I)
_CODE_TAG = re.compile(r"<(code|tt|c)>(.*?)</\1>", re.S | re.I)
_CREF = re.compile(
    r"""<(?:see|seealso)\s+(?:cref|langword|href)=["'](?:\w:)?([^"']+)["']\s*/?>(?:</(?:see|seealso)>)?"""
)
_NAMEREF = re.compile(r"""<(?:paramref|typeparamref)\s+name=["']([^"']+)["']\s*/?>""")
_XML_SECTION = re.compile(r"""<(param|typeparam|exception|returns)(?:\s+(?:name|cref)=["'](?:\w:)?([^"']+)["'])?\s*>""")
_INLINE_TAG = re.compile(r"\{@(\w+)\s*([^{}]*)\}")
_ROLE = re.compile(r":(?:[\w-]+:)*[\w-]+:`([^`]+)`")
_DOUBLE_TICK = re.compile(r"(?<!`)``([^`]+)``(?!`)")
_MD_LINK = re.compile(r"\[([^\[\]]+)\]\((?:[^()]|\([^()]*\))*\)|\[([^\[\]]+)\]\[[^\[\]]*\]")
_CODE_LINK = re.compile(r"\[(`[^`\n]+`)\](?![(\[])")
# `[Name]`, `[pkg.Name]`, `[crate::x]`: not an index or a type (`map[string]`, `x[i]`, `&[u8]`)
_INTRA_LINK = re.compile(r"(?<![\w\]&*])\[([A-Za-z_][\w:.*]*(?:\(\))?)\](?![(\[:\w])")


_LITERAL_AMP = "\x00"  # an `&` inside `{@code}`/`{@literal}`, kept from entity decoding, restored after


def _inline_tag(m: re.Match) -> str:
    """`{@code x}` -> `x` in backticks, `{@link A#b label}` -> label, `{@inheritDoc}` -> nothing."""
    tag, body = m.group(1), m.group(2).strip()
    if tag in ("inheritDoc", "docRoot"):
        return ""
    if tag in ("code", "literal"):  # shown as written: `{@code &lt;}` is the entity's text, not `<`
        body = body.replace("&", _LITERAL_AMP)
        return f"`{body}`" if tag == "code" else body
    if tag in ("link", "linkplain", "linkcode", "value", "see", "tutorial"):
        if "|" in body:
            target, _, label = body.partition("|")
        else:  # `#newName(String, Object) a label`: the target keeps its parenthesised parameters
            parts = re.match(r"(\S*\([^)]*\)|\S+)\s*(.*)", body, re.S)
            target, label = (parts.group(1), parts.group(2)) if parts else (body, "")
        label = label.strip()
        if label:
            return label
        target = target.strip().lstrip("#").replace("#", ".")
        return f"`{target}`" if tag != "linkplain" else target
    return body


def _role(m: re.Match) -> str:
    """`:class:`~pkg.Name`` -> `Name`; `:func:`text <target>`` -> text."""
    body = m.group(1)
    label = re.match(r"(.*?)\s*<[^<>]+>$", body, re.S)
    if label and label.group(1):
        return label.group(1)
    body = body.lstrip("!")
    if body.startswith("~"):
        body = body[1:].rsplit(".", 1)[-1]
    return f"`{body}`"


def render_doc(text: str, language: str) -> str:
    """A doc comment's own inline markup as the text it stands for; code spans are left untouched.

    JSDoc/Javadoc tags (`{@code x}`, `{@link X}`), Javadoc and C# XML tags, reST roles and
    Markdown or rustdoc links become their text. Anything else in angle brackets (`<PROGRAM>`,
    `List<T>`) and every underscore or asterisk stays as written: a doc comment names code.
    """
    text = _INLINE_TAG.sub(_inline_tag, text)
    if language in ("java", "csharp"):  # Javadoc and XML doc comments are HTML/XML; JSDoc, rustdoc are Markdown
        text = _CODE_TAG.sub(lambda m: f"`{m.group(2)}`", text)
        text = _CREF.sub(lambda m: f"`{m.group(1)}`", text)
        text = _NAMEREF.sub(lambda m: f"`{m.group(1)}`", text)
        text = _XML_SECTION.sub(lambda m: _xml_section(m.group(1), m.group(2)), text)
        text = re.sub(r"(?i)</?p\s*/?>|<para>|</para>", "\n\n", text)
        # markup tags go from the prose only: `{@code <div>}` shows a tag, written as code
        text = "".join(p if i % 2 else _HTML_TAG.sub("", p) for i, p in enumerate(_CODE_SPAN.split(text)))
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&nbsp;", " ")
    if language in ("rust", "go"):  # [`Foo::bar`]: an intra-doc link around a code span, before spans are kept
        text = _CODE_LINK.sub(r"\1", text)
    text = _outside_code(text, _md_links if language not in ("rust", "go") else _doc_links)
    lines = [ln.rstrip() for ln in text.replace(_LITERAL_AMP, "&").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text


def _xml_section(tag: str, name: str | None) -> str:
    what = {"param": "Parameter", "typeparam": "Type parameter", "exception": "Throws", "returns": "Returns"}[tag]
    return f"\n\n{what} `{name}`: " if name else f"\n\n{what}: "


def _md_links(text: str) -> str:
    return _MD_LINK.sub(lambda m: m.group(1) or m.group(2), text)


def _doc_links(text: str) -> str:
    """rustdoc intra-doc links (`[Foo]`) and Go doc links (`[Foo]`, `[pkg.Name]`: exported names) as names."""

    def link(m: re.Match) -> str:
        name = m.group(1)
        if not (name[0].isupper() or "." in name or "::" in name):
            return m.group(0)  # `[string]`, `[subkey]`: brackets in prose or code, not a link
        return f"`{name}`"

    return _INTRA_LINK.sub(link, _md_links(text))


_CODE_SPAN = re.compile(r"(```.*?```|(?<!`)`[^`\n]+`(?!`))", re.S)


def _outside_code(text: str, fn) -> str:
    """Apply `fn` to the prose between code spans and fenced blocks, never inside them."""
    if ":`" in text:  # reST roles first: their target is written in backticks
        text = _ROLE.sub(_role, text)
    if "``" in text:  # and reST literals, so they read as code spans
        text = _DOUBLE_TICK.sub(r"`\1`", text)
    parts = _CODE_SPAN.split(text)
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(parts))


# --- calls, raises, parameters, return types ------------------------------------------------

# One capture per call, on what is called (`res.status`, `deprecate`, `Vec::new`). The grammars'
# tags.scm `@reference.call` patterns capture only the last name (`status`), losing the receiver a
# reader needs, so these queries keep their shape but capture the whole callee.
_CALLS = {
    "python": "(call function: (_) @callee)",
    "javascript": "(call_expression function: (_) @callee)",
    "typescript": "(call_expression function: (_) @callee)",
    "tsx": "(call_expression function: (_) @callee)",
    "go": "(call_expression function: (_) @callee)",
    "c": "(call_expression function: (_) @callee)",
    "cpp": "(call_expression function: (_) @callee)",
    "rust": "(call_expression function: (_) @callee) (macro_invocation macro: (_) @macro)",
    "java": "(method_invocation) @call",
    "csharp": "(invocation_expression function: (_) @callee)",
    "ruby": "(call method: (_) @callee) @call",
}
_RAISE_NODES = ("raise_statement", "throw_statement", "throw_expression")
_queries: dict[str, tuple[Query, Query | None]] = {}


def fact_queries(language: str, lang: Language) -> tuple[Query, Query | None]:
    """(calls query, raise/throw query) for a language, built once per process."""
    if language not in _queries:
        raise_types = [t for t in _RAISE_NODES if lang.id_for_node_kind(t, True) is not None]
        raise_query = Query(lang, "[" + " ".join(f"({t})" for t in raise_types) + "] @raise") if raise_types else None
        _queries[language] = (Query(lang, _CALLS[language]), raise_query)
    return _queries[language]


def _callee_text(node: Node, src: bytes) -> str:
    text = src[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if "(" in text or "\n" in text or len(text) > 60:  # a chain (`a().b`) or a long expression: the name called
        text = re.split(r"[.:\s]", text.rstrip(") \n"))[-1] if "(" not in text[-1:] else ""
        text = re.sub(r"\W", "", text)
    return text


def _raised(node: Node, src: bytes) -> str:
    """What a raise/throw statement raises: `ValueError`, `IllegalStateException`; '' for a bare re-raise."""
    value = node.named_children[0] if node.named_child_count else None
    if value is None:
        return ""
    if value.type in ("call", "call_expression", "new_expression", "object_creation_expression"):
        inner = (
            value.child_by_field_name("function")
            or value.child_by_field_name("constructor")
            or value.child_by_field_name("type")
        )
        value = inner if inner is not None else value
    text = " ".join(_text(value, src).split())
    return text if len(text) <= 60 and "(" not in text else text.split("(", 1)[0][:60]


# panics and raises written as calls, by language
_RAISE_CALLS = {
    "ruby": {"raise", "fail"},
    "go": {"panic", "log.Fatal", "log.Fatalf", "log.Panic", "log.Panicf"},
    "rust": {"panic!", "unreachable!", "todo!", "unimplemented!"},
}


def file_calls(root: Node, src: bytes, language: str, queries: tuple[Query, Query | None]) -> tuple[list, list]:
    """Every call and every raise in a file: ([(position, callee)], [(position, raised)])."""
    call_query, raise_query = queries
    caps = QueryCursor(call_query).captures(root)
    calls, raises = [], []
    if language == "java":
        for call in caps.get("call", ()):
            obj, name = call.child_by_field_name("object"), call.child_by_field_name("name")
            if name is not None:
                callee = _callee_text(obj, src) + "." + _text(name, src) if obj is not None else _text(name, src)
                calls.append((call.start_byte, callee.lstrip(".")))
    elif language == "ruby":
        for call in caps.get("call", ()):
            recv, method = call.child_by_field_name("receiver"), call.child_by_field_name("method")
            if method is not None:
                callee = _callee_text(recv, src) + "." + _text(method, src) if recv is not None else _text(method, src)
                calls.append((call.start_byte, callee.lstrip(".")))
                args = call.child_by_field_name("arguments") if callee in ("raise", "fail") else None
                if args is not None and args.named_child_count:  # `raise ArgumentError, "month"`
                    raises.append((call.start_byte, _text(args.named_children[0], src).split("(")[0].split(".new")[0]))
    else:
        for node in caps.get("callee", ()):
            callee = _callee_text(node, src)
            if callee:
                calls.append((node.start_byte, callee))
        for node in caps.get("macro", ()):
            calls.append((node.start_byte, _text(node, src) + "!"))
    if raise_query is not None:
        for node in QueryCursor(raise_query).captures(root).get("raise", ()):
            what = _raised(node, src)
            if what:
                raises.append((node.start_byte, what))
    special = _RAISE_CALLS.get(language) if language != "ruby" else None
    if special:
        raises += [(pos, callee) for pos, callee in calls if callee in special]
    return calls, raises


def attach_calls(units: list[dict], calls: list, raises: list) -> None:
    """Give each function the calls and raises inside its body and not inside a nested function."""
    spans = sorted((u["_body"][0], -u["_body"][1], i) for i, u in enumerate(units) if u.get("_body"))
    for u in units:
        u["calls"], u["raises"] = [], list(u.get("raises") or [])
    points = sorted([(p, w, "calls") for p, w in calls] + [(p, w, "raises") for p, w in raises])
    stack: list[tuple[int, int]] = []  # (end, unit index), innermost last
    k = 0
    for pos, what, key in points:
        while k < len(spans) and spans[k][0] <= pos:
            start, neg_end, i = spans[k]
            while stack and stack[-1][0] <= start:
                stack.pop()
            stack.append((-neg_end, i))
            k += 1
        while stack and stack[-1][0] <= pos:
            stack.pop()
        if stack:
            bucket = units[stack[-1][1]][key]
            if what not in bucket and len(bucket) < 32:
                bucket.append(what)


def params_of(node: Node, src: bytes, language: str) -> list[str]:
    """The parameters as written, one string each, whitespace collapsed."""
    params = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
    if params is None and language in ("c", "cpp"):
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type != "function_declarator":
            decl = decl.child_by_field_name("declarator")
        params = decl.child_by_field_name("parameters") if decl is not None else None
    if params is None:
        return []
    if params.type in ("identifier",):  # `x => x + 1`
        return [_text(params, src)]
    return [" ".join(_text(p, src).split()) for p in params.named_children if p.type not in COMMENTS][:32]


def returns_of(node: Node, src: bytes, language: str) -> str:
    """The declared return type, or '' where the language or the code declares none."""
    field = {
        "python": "return_type",
        "typescript": "return_type",
        "tsx": "return_type",
        "rust": "return_type",
        "go": "result",
        "java": "type",
        "csharp": "returns",
        "c": "type",
        "cpp": "type",
    }.get(language)
    typ = node.child_by_field_name(field) if field else None
    if typ is None and language == "csharp":
        typ = node.child_by_field_name("type")
    text = " ".join(_text(typ, src).split()).lstrip(":").strip() if typ is not None else ""
    return text[:120]


def throws_clause(node: Node, src: bytes) -> list[str]:
    """Java's declared `throws A, B`."""
    for c in node.named_children:
        if c.type == "throws":
            return [_text(t, src) for t in c.named_children if t.type not in COMMENTS]
    return []


# --- stubs, abstract members, tests --------------------------------------------------------

_NOT_IMPLEMENTED = re.compile(
    r"^(?:raise\s+NotImplementedError\b.*|throw\s+new\s+(?:\w+\.)*(?:NotImplementedException|"
    r"UnsupportedOperationException|NotSupportedException)\b.*|throw\s+new\s+Error\(\s*['\"`]not implemented.*|"
    r"(?:todo|unimplemented)!\(.*\);?|panic\(\s*\"(?:not implemented|unimplemented|todo)[^\"]*\"\s*\)|"
    r"pass|\.\.\.|;)$",
    re.I | re.S,
)


def _statements(body: Node) -> list[Node]:
    kids = [c for c in body.named_children if c.type not in COMMENTS]
    if len(kids) == 1 and kids[0].type in ("statement_list", "body_statement"):
        return [c for c in kids[0].named_children if c.type not in COMMENTS]
    return kids


def body_kind(node: Node, body: Node | None, src: bytes, language: str, *, has_docstring: bool = False) -> str:
    """'abstract' for a declaration without a body or marked abstract, 'stub' for an empty or
    not-implemented body, '' for code that does something."""
    mods = next((c for c in node.children if c.type in ("modifiers", "modifier")), None)
    if (mods is not None and b"abstract" in src[mods.start_byte : mods.end_byte]) or node.type in (
        "abstract_method_signature",
    ):
        return "abstract"
    if language == "csharp" and any(
        c.type == "modifier" and src[c.start_byte : c.end_byte] == b"abstract" for c in node.children
    ):
        return "abstract"
    if body is None:
        body = node.child_by_field_name("body")
    if body is None:
        return "stub" if language == "ruby" else "abstract"
    if body.type not in ("block", "statement_block", "compound_statement", "body_statement", "declaration_list"):
        return ""  # an expression body (`x => x + 1`)
    stmts = _statements(body)
    if has_docstring and stmts:
        stmts = stmts[1:]
    if all(_NOT_IMPLEMENTED.match(" ".join(_text(s, src).split())) for s in stmts):
        return "stub"
    return ""


_TEST_ATTR = re.compile(
    r"^#\[(?:[\w:]+::)?(?:test|bench|rstest|test_case|quickcheck|proptest)\b"
    r"|^@(?:Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate|BeforeEach|AfterEach|BeforeAll|AfterAll)\b"
    r"|^\[(?:[\w.]+\.)?(?:Test|Fact|Theory|TestMethod|TestCase|SetUp|TearDown)\b"
)
_CFG_TEST = re.compile(rb"^#\[cfg\((?:.*\b)?test\b")


def is_test(node: Node, outer: Node, src: bytes, language: str) -> bool:
    """A test inside a source file: a `#[test]`/`@Test`/`[Fact]` function, a Go `*testing.T`
    function, anything under `#[cfg(test)]`."""
    for holder in (node, outer):
        for c in getattr(holder, "children", ()):
            if c.type in ("modifiers", "attribute_list"):
                for a in c.named_children if c.type == "modifiers" else [c]:
                    if _TEST_ATTR.match(_text(a, src)):
                        return True
        prev = holder.prev_named_sibling
        while prev is not None and (prev.type in ATTACHED or prev.type in COMMENTS):
            if prev.type in ATTACHED and (
                _TEST_ATTR.match(_text(prev, src)) or _CFG_TEST.match(src[prev.start_byte : prev.end_byte])
            ):
                return True
            prev = prev.prev_named_sibling
    if language == "go":
        params = node.child_by_field_name("parameters")
        return params is not None and re.search(rb"\*testing\.[TBFM]\b", src[params.start_byte : params.end_byte])
    if language == "rust":
        parent = node.parent
        while parent is not None:
            if parent.type == "mod_item":
                prev = parent.prev_named_sibling
                while prev is not None and prev.type in ATTACHED | COMMENTS:
                    if _CFG_TEST.match(src[prev.start_byte : prev.end_byte]):
                        return True
                    prev = prev.prev_named_sibling
            parent = parent.parent
    return False


def _text(node: Node | None, src: bytes) -> str:
    return "" if node is None else src[node.start_byte : node.end_byte].decode("utf-8", "replace")
