"""Code to `function`, `method` and `class` units with tree-sitter: qualified names, signatures, facts.

One tree-sitter query per language finds the definition nodes in C; Python code then names
each one (from its own `name` field, or from what it is assigned to), finds its decorators and
doc comment, nests it under the enclosing definition by byte range, and reads its facts
(codefacts.py: parameters, return type, raises, calls, stub/abstract/generated, test).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from corpus_ft.ingest import codefacts as facts
from corpus_ft.ingest.policy import generated

# grammar module, function returning its language, and the node types a query captures
GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "java": ("tree_sitter_java", "language"),
    "go": ("tree_sitter_go", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
}
_JS = [
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "class",
    "method_definition",
    "arrow_function",
    "function_expression",
    "generator_function",
    "function",
]
_TS = _JS + [
    "abstract_class_declaration",
    "interface_declaration",
    "enum_declaration",
    "abstract_method_signature",
    "method_signature",
    "function_signature",
]
CAPTURED = {
    "python": ["function_definition", "class_definition"],
    "javascript": _JS,
    "typescript": _TS,
    "tsx": _TS,
    "java": [
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
        "method_declaration",
        "constructor_declaration",
        "compact_constructor_declaration",
    ],
    "go": ["function_declaration", "method_declaration", "type_spec"],
    "c": ["function_definition", "struct_specifier", "union_specifier", "enum_specifier"],
    "cpp": ["function_definition", "class_specifier", "struct_specifier", "union_specifier", "enum_specifier"],
    "rust": [
        "function_item",
        "function_signature_item",
        "struct_item",
        "enum_item",
        "union_item",
        "trait_item",
        "impl_item",
    ],
    "ruby": ["method", "singleton_method", "class", "module"],
    "csharp": [
        "class_declaration",
        "struct_declaration",
        "interface_declaration",
        "record_declaration",
        "enum_declaration",
        "method_declaration",
        "constructor_declaration",
        "destructor_declaration",
        "operator_declaration",
        "local_function_statement",
    ],
}
COMMENTS = facts.COMMENTS
# Nodes that sit before a definition and belong to it: its span starts at the first of them.
ATTACHED = {"decorator", "attribute_item", "attribute_list", "annotation"}
_CLASSY = {"class", "scope"}

_parsers: dict[str, tuple[Parser, Query]] = {}


def parser_for(language: str) -> tuple[Parser, Query]:
    """A parser and the definitions query for `language`, built once per process."""
    if language not in _parsers:
        module, fn = GRAMMARS[language]
        lang = Language(getattr(importlib.import_module(module), fn)())
        types = [t for t in CAPTURED[language] if _has_type(lang, t)]
        query = Query(lang, "[" + " ".join(f"({t})" for t in types) + "] @def")
        _parsers[language] = (Parser(lang), query)
    return _parsers[language]


def _has_type(lang: Language, name: str) -> bool:
    return lang.id_for_node_kind(name, True) is not None


@dataclass(slots=True)
class Def:
    """A definition found in the tree, before it is nested under its parent."""

    kind: str  # function | method | class | scope (a namer only, e.g. a Rust impl block)
    name: str
    node: Node  # the definition itself
    outer: Node  # what its span covers: adds export, template, decorators held by a parent node
    body: Node | None


def code_units(text: str, language: str, src: bytes | None = None) -> tuple[list[dict], list[dict]]:
    """(units, warnings) for one source file; a syntax error keeps what the parser recovered.

    `src` is `text` as UTF-8 when the caller has it already; each unit's `text` is a slice of it
    (bytes), as units.parquet stores it.
    """
    src = text.encode("utf-8") if src is None else src
    parser, query = parser_for(language)
    tree = parser.parse(src)
    root = tree.root_node
    warnings = []
    if root.has_error:
        line, what = _first_error(root)
        warnings.append(
            {
                "kind": "syntax_error",
                "line": line,
                "message": f"{what} at line {line}; definitions tree-sitter recovered were kept",
            }
        )
    if root.has_error and language == "python":
        units = _python_chunks(text)
    else:
        units = _units(root, src, language, query)
        if root.has_error and language in ("c", "cpp"):
            units = max(units, _without_macros(src, language), key=len)
    if generated(text[:4096]):
        for u in units:
            u["body_kind"] = "generated"
    return units, warnings


_MACRO = re.compile(rb"\b[A-Z_][A-Z0-9_]{2,}\b(?=[ \t]+[A-Za-z_~])")


def _without_macros(src: bytes, language: str) -> list[dict]:
    """Re-parse with ALL_CAPS macros in declarations (`C10_API`, `CYTHON_INLINE`) blanked out.

    The grammar cannot expand macros, and `static EXPORT int f(void)` defeats its recovery;
    spaces of the same length keep every byte offset and line, so units keep their real text.
    """
    parser, query = parser_for(language)
    blanked = _MACRO.sub(lambda m: b" " * len(m.group(0)), src)
    if blanked == src:
        return []
    return _units(parser.parse(blanked).root_node, src, language, query)  # text from the real source


def _units(root: Node, src: bytes, language: str, query: Query) -> list[dict]:
    if language == "python":
        units = _python_units(root, src)
    else:
        describe = _DESCRIBE[language]
        defs = [describe(node, src) for node in QueryCursor(query).captures(root).get("def", [])]
        units = _nest([d for d in defs if d is not None and d.name], src, language)
    _add_calls(units, root, src, language)
    return _elide_nested(units, src, language)


def _add_calls(units: list[dict], root: Node, src: bytes, language: str) -> None:
    """Calls and raises from one query run over the file, each given to the function that holds it;
    a unit nested in a test is a test too."""
    if any(u.get("_body") for u in units):
        queries = facts.fact_queries(language, parser_for(language)[0].language)
        calls, raises = facts.file_calls(root, src, language, queries)
    else:
        calls, raises = [], []
    facts.attach_calls(units, calls, raises)
    tests = set()
    for u in units:
        u.pop("_body", None)
        if u["parent"] in tests:
            u["test"] = True
        if u["test"]:
            tests.add(u["name"])


def _pointer(unit: dict, head: bytes, indent: bytes, language: str) -> bytes:
    """What stands for an elided definition's body: still valid code, and it names the unit."""
    note = f"{unit['name']} (lines {unit['start_line']}-{unit['end_line']}) is a unit of its own"
    if language == "python":
        return f"...  # {note}".encode()
    if language == "ruby":
        return f"# ... {note}\n".encode() + indent + b"end"
    close = b"\n" + indent + b"}" if head.rstrip().endswith(b"{") else b""
    return f"// ... {note}".encode() + close


def _elide_nested(units: list[dict], src: bytes, language: str) -> list[dict]:
    """Each definition's text holds its leaf children (a class its methods) in full, but a child that
    holds definitions of its own only as its first line and a pointer: that child is a unit too.

    Without this, 500 classes nested in one another put the innermost one's text into all 500
    ancestors (quadratic: a 507 KB file became 169 MB of units); with it every byte of the file is
    in at most two units, so unit text grows linearly with the file.
    """
    order = sorted(range(len(units)), key=lambda i: (units[i]["_span"][0], -units[i]["_span"][1]))
    parent: dict[int, int] = {}
    stack: list[int] = []
    for i in order:
        begin, end = units[i]["_span"]
        while stack and units[stack[-1]]["_span"][1] <= begin:
            stack.pop()
        if stack and end <= units[stack[-1]]["_span"][1]:
            parent[i] = stack[-1]
        stack.append(i)
    holders = set(parent.values())
    elided: dict[int, list[int]] = {}
    for child, p in parent.items():
        if child in holders:
            elided.setdefault(p, []).append(child)
    for p, children in elided.items():
        begin, end = units[p]["_span"]
        parts, at = [], begin
        for c in sorted(children, key=lambda c: units[c]["_span"][0]):
            c_begin, c_end = units[c]["_span"]
            first = src.find(b"\n", c_begin, c_end)
            head = src[c_begin : first if first >= 0 else c_end]
            indent = head[: len(head) - len(head.lstrip())]
            parts += [src[at:c_begin], head, b"\n", indent, b"    ", _pointer(units[c], head, indent, language)]
            at = c_end
        parts.append(src[at:end])
        units[p]["text"] = b"".join(parts)
    for u in units:
        del u["_span"]
    return units


# Python definitions are statements: only these nodes can hold one, so the walk skips every
# expression (twice as fast as a query over the whole tree), and every block whose text holds
# neither `def` nor `class` (most function bodies; twice as fast again).
_PY_HOLDERS = {
    "module",
    "block",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "with_statement",
    "match_statement",
    "case_clause",
    "decorated_definition",
    "function_definition",
    "class_definition",
    "ERROR",
}
_PY_DEFS = {"function_definition", "class_definition"}


_PY_TEST_IMPORT = re.compile(rb"^\s*(?:import|from)\s+(?:pytest|unittest)\b", re.M)


def _python_units(root: Node, src: bytes) -> list[dict]:
    """Python's units in one walk: the tree nests definitions, so the walk names them as it goes.

    Python is most of the code in most repositories and the walk is the hot path of ingest, so it
    touches each node once and asks the tree for nothing it already holds: the enclosing
    definition comes from the walk, the comment above a definition from its siblings' list.
    """
    units = []
    tests = bool(_PY_TEST_IMPORT.search(src))  # `test_*` and `Test*` are tests only where a test runner is imported
    stack = [(root, "", "")]  # (node whose children to visit, enclosing definition's name, its kind)
    while stack:
        holder, scope, scope_kind = stack.pop()
        kids = holder.named_children
        for c in kids:
            t = c.type
            if t not in _PY_HOLDERS or (
                src.find(b"def", c.start_byte, c.end_byte) < 0 and src.find(b"class", c.start_byte, c.end_byte) < 0
            ):
                continue
            node = c if t in _PY_DEFS else c.child_by_field_name("definition") if t == "decorated_definition" else None
            if node is None or node.type not in _PY_DEFS:
                stack.append((c, scope, scope_kind))
                continue
            body = node.child_by_field_name("body")
            unit = _python_unit(node, body, c, src, scope, scope_kind, tests)  # c: its decorated_definition or itself
            if unit:
                units.append(unit)
            # only its body can hold definitions (not its name or parameters), unless recovery
            # from a syntax error left some of them in ERROR nodes beside it
            inner = node if node.has_error else body
            if inner is not None and (
                src.find(b"def", inner.start_byte, inner.end_byte) >= 0
                or src.find(b"class", inner.start_byte, inner.end_byte) >= 0
            ):
                stack.append((inner, unit["name"], unit["kind"]) if unit else (inner, scope, scope_kind))
    return units


def _python_unit(
    node: Node, body: Node | None, outer: Node, src: bytes, scope: str, scope_kind: str, tests: bool
) -> dict | None:
    name = _text(node.child_by_field_name("name"), src)
    if not name:
        return None
    if node.type == "class_definition":
        kind = "class"
    else:
        kind = "method" if scope_kind == "class" else "function"
    start, end, end_point = outer.start_byte, outer.end_byte, None
    if body is not None and body.end_byte == node.end_byte and _ends_in_comment(body, src):
        last = _last_code(body)  # Python's own spans stop at the last statement, not a trailing comment
        end, end_point = last.end_byte, last.end_point
    start_row = outer.start_point.row
    line_start = src.rfind(b"\n", 0, start) + 1
    if not src[line_start:start].strip():
        start = line_start
    if body is not None and body.start_byte > node.start_byte:
        signature = src[node.start_byte : body.start_byte].decode("utf-8", "replace").strip()
    else:
        signature = src[node.start_byte : node.end_byte].decode("utf-8", "replace").strip()
    doc, doc_start, doc_end = _python_docstring(body, src)
    decorators = [_text(d, src) for d in outer.children if d.type == "decorator"] if outer is not node else []
    if kind == "class":
        body_kind = ""
    elif any(re.match(r"@(?:typing\.|t\.)?overload\b", d) for d in decorators):
        body_kind = "stub"
    elif any(re.match(r"@(?:abc\.)?abstract\w*\b", d) for d in decorators):
        body_kind = "abstract"
    else:
        body_kind = facts.body_kind(node, body, src, "python", has_docstring=bool(doc_start))
    return {
        "kind": kind,
        "name": f"{scope}.{name}" if scope else name,
        "heading_path": [],
        "signature": _drop_annotations(signature),
        "docstring": facts.render_doc(doc, "python") if doc else "",
        "text": src[start:end],
        "start_line": start_row + 1,
        "_span": (start, end),
        "end_line": (end_point or outer.end_point).row + 1,
        "parent": scope,
        "params": facts.params_of(node, src, "python") if kind != "class" else [],
        "returns": facts.returns_of(node, src, "python") if kind != "class" else "",
        "body_kind": body_kind,
        "test": tests and (name.startswith("test_") or name.startswith("Test")),
        "doc_start_line": doc_start,
        "doc_end_line": doc_end,
        "_body": (body.start_byte, body.end_byte) if body is not None and kind != "class" else None,
    }


_PY_TOP = re.compile(r"^(?:@|def\s|async\s+def\s|class\s)", re.M)


def _python_chunks(text: str) -> list[dict]:
    """Recover from a Python syntax error: parse each top-level definition on its own.

    tree-sitter's recovery inside an indentation-based grammar often folds the rest of the
    file into one ERROR node; cutting at column-0 `def`/`class`/decorator lines confines an
    error to the definition that holds it.
    """
    starts = [m.start() for m in _PY_TOP.finditer(text)]
    starts = [0] + [s for s in starts if s > 0 and text[s - 1] == "\n"]
    # a decorator line and the def under it belong to one chunk
    merged = [s for i, s in enumerate(starts) if i == 0 or text[starts[i - 1]] != "@"]
    parser, query = parser_for("python")
    units = []
    for i, begin in enumerate(merged):
        end = merged[i + 1] if i + 1 < len(merged) else len(text)
        chunk = text[begin:end]
        offset = text.count("\n", 0, begin)
        chunk_src = chunk.encode("utf-8")
        for u in _units(parser.parse(chunk_src).root_node, chunk_src, "python", query):
            u["start_line"] += offset
            u["end_line"] += offset
            units.append(u)
    return units


def _first_error(node: Node) -> tuple[int, str]:
    """Line and kind of the first ERROR or MISSING node, found by descending only where errors are."""
    while True:
        if node.is_missing:
            return node.start_point.row + 1, f"missing '{node.type}'"
        if node.is_error:
            return node.start_point.row + 1, "syntax error"
        nxt = next((c for c in node.children if c.has_error or c.is_missing), None)
        if nxt is None:
            return node.start_point.row + 1, "syntax error"
        node = nxt


def _nest(defs: list[Def], src: bytes, language: str) -> list[dict]:
    """Qualify names by the enclosing definitions (byte-range nesting) and render the units."""
    defs.sort(key=lambda d: (d.outer.start_byte, -d.outer.end_byte))
    stack: list[tuple[int, str, str]] = []  # (end_byte, qualified name, kind)
    units = []
    for d in defs:
        start = d.outer.start_byte
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent = stack[-1] if stack else None
        qual = _qualify(parent[1] if parent else "", d.name)
        kind = d.kind
        if kind == "function" and parent is not None and parent[2] in _CLASSY:
            kind = "method"
        stack.append((d.outer.end_byte, qual, kind))
        if kind == "scope":
            continue
        units.append(_render(d, kind, qual, parent[1] if parent else "", src, language))
    return units


def _qualify(parent: str, name: str) -> str:
    """`Outer` + `inner` -> `Outer.inner`; `ArrayDiff` + `ArrayDiff.join` (a prototype assignment) -> `ArrayDiff.join`."""
    if not parent:
        return name
    head, _, last = parent.rpartition(".")
    if name.startswith(last + "."):
        return f"{head}.{name}" if head else name
    return f"{parent}.{name}"


def _render(d: Def, kind: str, qual: str, parent: str, src: bytes, language: str) -> dict:
    outer, node = d.outer, d.node
    line_start = src.rfind(b"\n", 0, outer.start_byte) + 1
    begin = line_start if not src[line_start : outer.start_byte].strip() else outer.start_byte
    text = src[
        begin : outer.end_byte
    ]  # UTF-8 bytes (node edges fall between characters), decoded once by Arrow's reader
    sig_from = node.start_byte
    if language == "ruby":
        signature = src[sig_from : node.end_byte].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    elif d.body is not None and d.body.start_byte > sig_from:
        signature = src[sig_from : d.body.start_byte].decode("utf-8", "replace").strip()
    else:
        signature = src[sig_from : node.end_byte].decode("utf-8", "replace").strip().rstrip(";").strip()
    if outer is not node and outer.start_byte < node.start_byte and outer.type in _NAMING_PARENTS:
        # `const f = () => ...`: the declaration line is the signature
        body_start = d.body.start_byte if d.body is not None else node.end_byte
        signature = src[outer.start_byte : body_start].decode("utf-8", "replace").strip()
    signature = _drop_annotations(signature.rstrip("{").rstrip())
    doc, doc_start, doc_end = facts.leading_doc(outer, src, language)
    if not doc and outer is not node and outer.start_byte < node.start_byte:
        doc, doc_start, doc_end = facts.leading_doc(node, src, language)  # inside its statement, e.g. a pair
    if not doc and language in ("javascript", "typescript", "tsx"):
        holder = node  # `defineGetter(req, 'query', function query() {...})`: the comment above the call
        while holder.parent is not None and holder.parent.type in _ARGUMENT_OF:
            holder = holder.parent
        if holder is not node and holder.type == "expression_statement":
            doc, doc_start, doc_end = facts.leading_doc(holder, src, language)
    code = kind != "class"
    body = d.body if language != "ruby" else node.child_by_field_name("body")
    return {
        "kind": kind,
        "name": qual,
        "heading_path": [],
        "signature": signature,
        "docstring": doc,
        "text": text,
        "start_line": outer.start_point.row + 1,
        "end_line": outer.end_point.row + 1,
        "parent": parent,
        "_span": (begin, outer.end_byte),
        "params": facts.params_of(node, src, language) if code else [],
        "returns": facts.returns_of(node, src, language) if code else "",
        "raises": facts.throws_clause(node, src) if code and language == "java" else [],
        "body_kind": facts.body_kind(node, body, src, language) if code else "",
        "test": bool(facts.is_test(node, outer, src, language)),
        "doc_start_line": doc_start,
        "doc_end_line": doc_end,
        "_body": (body.start_byte, body.end_byte) if code and body is not None else None,
    }


_ANNOTATION_LINE = re.compile(r"^\s*(@[\w.]+(\([^\n]*\))?|#\[[^\n]*\]|\[[A-Z][^\n]*\])\s*$")


def _drop_annotations(signature: str) -> str:
    """`@Override\n public String f()` -> `public String f()`: annotations sit on lines of their own."""
    if "\n" not in signature:
        return signature
    lines = signature.split("\n")
    while len(lines) > 1 and _ANNOTATION_LINE.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip()


_ARGUMENT_OF = {"arguments", "call_expression", "expression_statement", "parenthesized_expression", "await_expression"}
_NAMING_PARENTS = {
    "lexical_declaration",
    "variable_declaration",
    "expression_statement",
    "public_field_definition",
    "field_definition",
    "pair",
    "export_statement",
}


def _with_attached(node: Node) -> Node:
    """Extend to decorators/attributes that precede `node` as siblings (TS class bodies, Rust)."""
    first = node
    prev = node.prev_named_sibling
    while prev is not None and (prev.type in ATTACHED or prev.type in COMMENTS):
        if prev.type in ATTACHED and not facts.doc_attribute(prev):
            first = prev  # a doc attribute is a line of the doc comment above, not of the unit
        prev = prev.prev_named_sibling
    return first


@dataclass(slots=True)
class _Span:
    """A node-like span: from the first attached decorator, or up to the last statement (Python)."""

    start_byte: int
    end_byte: int
    start_point: object
    end_point: object
    type: str
    prev_named_sibling: Node | None


def _span(first: Node, last: Node) -> Node:
    if first is last:
        return last
    return _Span(
        first.start_byte, last.end_byte, first.start_point, last.end_point, last.type, first.prev_named_sibling
    )  # type: ignore[return-value]


def _text(node: Node | None, src: bytes) -> str:
    return "" if node is None else src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _field(node: Node, name: str) -> Node | None:
    return node.child_by_field_name(name)


# --- Python ------------------------------------------------------------------------------


def _ends_in_comment(node: Node, src: bytes) -> bool:
    """Does an indented comment close this block? Python's own spans stop at the last statement."""
    line_start = src.rfind(b"\n", 0, node.end_byte) + 1
    if not src[line_start : node.end_byte].lstrip().startswith(b"#"):
        return False  # the cheap answer for nearly every block
    while node.named_child_count:
        last = node.named_children[-1]
        if last.type == "comment":
            return last.end_byte == node.end_byte  # not when a bracket closes after it
        if last.end_byte != node.end_byte:
            return False
        node = last
    return False


def _last_code(node: Node) -> Node:
    """The deepest last node that is not a trailing comment."""
    while node.named_child_count:
        kids = [k for k in node.named_children if k.type != "comment"]
        if not kids:
            break
        last = kids[-1]
        if last.end_byte != node.end_byte and node.named_children[-1].type != "comment":
            break
        node = last
    return node


def _python_docstring(body: Node | None, src: bytes) -> tuple[str, int, int]:
    """(docstring, first line, last line) of a body, or ("", 0, 0)."""
    first = body.named_child(0) if body is not None and body.named_child_count else None  # (raises when none)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return "", 0, 0
    string = first.named_child(0)
    if string.type not in ("string", "concatenated_string"):
        return "", 0, 0
    raw = _text(string, src)
    quote = raw[:3] if raw[:3] in ('"""', "'''") else raw[:1]
    if quote in ('"""', "'''", '"', "'") and "\\" not in raw and raw.endswith(quote) and len(raw) >= 2 * len(quote):
        value = raw[len(quote) : -len(quote)]  # the common case, without compiling a literal
    else:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = raw.strip("\"'rRuUbBfF")
    if not isinstance(value, str):
        return "", 0, 0
    return inspect.cleandoc(value), first.start_point.row + 1, first.end_point.row + 1


# --- JavaScript / TypeScript -------------------------------------------------------------

_JS_CLASSES = {"class_declaration", "abstract_class_declaration", "interface_declaration", "enum_declaration"}
_JS_FUNCS = {"function_declaration", "generator_function_declaration", "function_signature"}
_JS_ANON = {"arrow_function", "function_expression", "generator_function", "function", "class"}


def _export(node: Node) -> Node:
    parent = node.parent
    return parent if parent is not None and parent.type == "export_statement" else node


def _js(node: Node, src: bytes) -> Def | None:
    t = node.type
    body = _field(node, "body")
    if t in _JS_CLASSES:
        return Def(
            "class", _text(_field(node, "name"), src), node, _span(_with_attached(_export(node)), _export(node)), body
        )
    if t in _JS_FUNCS:
        return Def("function", _text(_field(node, "name"), src), node, _export(node), body)
    if t in ("method_definition", "abstract_method_signature", "method_signature"):
        name = _text(_field(node, "name"), src).strip("'\"`")  # `'$=' (a) {}` is named $=
        if re.fullmatch(r"\[\s*(['\"`])[^'\"`]*\1\s*\]", name):
            name = name.strip("[] ")[1:-1]  # get ['async']() is named async
        return Def("method", name, node, _span(_with_attached(node), node), body)
    if t not in _JS_ANON:
        return None
    kind = "class" if t == "class" else "function"
    name, outer = _assigned_name(node, src)
    if not name:
        own = _field(node, "name")
        if own is None:
            return None
        name, outer = _text(own, src), node
    elif body is not None and any(
        c.type == "function_declaration" and _text(_field(c, "name"), src) == name for c in body.named_children
    ):
        kind = "class"  # `var X = (function (_super) { function X() {} ... }(Base))`: a compiled class
    return Def(kind, name, node, outer, body)


def _assigned_name(node: Node, src: bytes) -> tuple[str, Node]:
    """The name a function or class expression is bound to, and the statement that binds it."""
    parent = node.parent
    while parent is not None and (
        parent.type in ("parenthesized_expression", "as_expression", "satisfies_expression")
        or parent.type == "call_expression"
        and _field(parent, "function") == node
    ):
        node, parent = parent, parent.parent  # through parentheses and an immediately invoked call
    if parent is None:
        return "", node
    t = parent.type
    if t == "variable_declarator" and _field(parent, "value") == node:
        name = _field(parent, "name")
        if name is None or name.type != "identifier":
            return "", node
        decl = parent.parent
        outer = parent
        if (
            decl is not None
            and decl.type in ("lexical_declaration", "variable_declaration")
            and decl.named_child_count == 1
        ):
            outer = _export(decl)
        return _text(name, src), outer
    if t == "assignment_expression" and _field(parent, "right") == node:
        left = _field(parent, "left")
        if left is None or left.type not in ("identifier", "member_expression"):
            return "", node
        name = re.sub(r"^this\.|\.prototype(?=\.)", "", _text(left, src))
        stmt = parent.parent
        return name, stmt if stmt is not None and stmt.type == "expression_statement" else parent
    if t == "pair" and _field(parent, "value") == node:
        key = _field(parent, "key")
        return _text(key, src).strip("'\"`"), parent
    if t in ("public_field_definition", "field_definition"):
        key = _field(parent, "name") or _field(parent, "property")
        return _text(key, src), _span(_with_attached(parent), parent)
    return "", node


# --- Java / C# ---------------------------------------------------------------------------


def _java(node: Node, src: bytes) -> Def | None:
    t = node.type
    kind = (
        "method"
        if "method" in t or "constructor" in t or "operator" in t or t.startswith("destructor")
        else "function"
        if t == "local_function_statement"
        else "class"
    )
    name = _text(_field(node, "name"), src)
    if t == "destructor_declaration":
        name = "~" + name
    elif t == "operator_declaration":
        name = "operator" + _text(_field(node, "operator"), src)
    return Def(kind, name, node, _span(_with_attached(node), node), _field(node, "body"))


# --- Go ----------------------------------------------------------------------------------


def _go(node: Node, src: bytes) -> Def | None:
    t = node.type
    if t == "type_spec":
        typ = _field(node, "type")
        if typ is None or typ.type not in ("struct_type", "interface_type"):
            return None
        parent = node.parent
        outer = (
            parent
            if parent is not None and parent.type == "type_declaration" and parent.named_child_count == 1
            else node
        )
        return Def("class", _text(_field(node, "name"), src), node, outer, typ)
    name = _text(_field(node, "name"), src)
    if t == "method_declaration":
        recv = _go_receiver(_field(node, "receiver"), src)
        return Def("method", f"{recv}.{name}" if recv else name, node, node, _field(node, "body"))
    return Def("function", name, node, node, _field(node, "body"))


def _go_receiver(params: Node | None, src: bytes) -> str:
    if params is None:
        return ""
    for p in params.named_children:
        typ = _field(p, "type")
        while typ is not None and typ.type in ("pointer_type", "generic_type", "parenthesized_type"):
            typ = (
                _field(typ, "type")
                if typ.type == "generic_type"
                else typ.named_children[0]
                if typ.named_child_count
                else None
            )
        if typ is not None:
            return _text(typ, src)
    return ""


# --- C / C++ -----------------------------------------------------------------------------

_C_WRAPPERS = {
    "pointer_declarator",
    "reference_declarator",
    "parenthesized_declarator",
    "attributed_declarator",
    "function_declarator",
}


def _c_name(declarator: Node | None, src: bytes) -> str:
    """Walk a declarator (pointers, references, parentheses) down to the function's name."""
    node, func = declarator, None
    while node is not None and node.type in _C_WRAPPERS:
        if node.type == "function_declarator":
            func = node
        inner = _field(node, "declarator")
        if inner is None:
            inner = next(
                (c for c in node.named_children if c.type in _C_WRAPPERS or c.type.endswith("identifier")), None
            )
        node = inner
    if node is not None and (node.type == "operator_cast" or _has_cast(node)):
        func = node  # `operator bool() const`: the declarator holds no function_declarator
    if func is None or node is None:
        return ""
    text = _declarator_text(node, src)
    while "<" in text and re.search(r"<[^<>]*>", text):  # Foo<T>::bar -> Foo::bar
        text = re.sub(r"<[^<>]*>", "", text)
    return ".".join(p.strip() for p in text.lstrip(":").split("::"))


def _has_cast(node: Node) -> bool:
    while node is not None and node.type == "qualified_identifier":
        node = _field(node, "name")
    return node is not None and node.type == "operator_cast"


def _declarator_text(node: Node, src: bytes) -> str:
    """`A::operator int() const` -> `A::operator int`; other names as written."""
    if node.type == "operator_cast":
        return _text(node, src).split("(", 1)[0].strip()
    if node.type == "qualified_identifier" and _has_cast(node):
        scope = _field(node, "scope")
        return f"{_text(scope, src)}::{_declarator_text(_field(node, 'name'), src)}"
    return _text(node, src)


def _template(node: Node) -> Node:
    parent = node.parent
    return parent if parent is not None and parent.type == "template_declaration" else node


def _c(node: Node, src: bytes) -> Def | None:
    t = node.type
    if t == "function_definition":
        name = _c_name(_field(node, "declarator"), src)
        return Def("method" if "." in name else "function", name, node, _template(node), _field(node, "body"))
    body = _field(node, "body")
    name = _field(node, "name")
    if body is None or name is None:
        return None
    outer = _template(node)
    parent = node.parent
    if (
        outer is node
        and parent is not None
        and parent.type in ("type_definition", "declaration")
        and _field(parent, "type") == node
    ):
        outer = parent
    return Def("class", _text(name, src).split("::")[-1], node, outer, body)


# --- Rust --------------------------------------------------------------------------------


def _rust(node: Node, src: bytes) -> Def | None:
    t = node.type
    body = _field(node, "body")
    outer = _span(_with_attached(node), node)
    if t == "impl_item":
        return Def("scope", _rust_type(_field(node, "type"), src), node, node, body)
    if t in ("function_item", "function_signature_item"):
        return Def("function", _text(_field(node, "name"), src), node, outer, body)
    return Def("class", _text(_field(node, "name"), src), node, outer, body)


def _rust_type(typ: Node | None, src: bytes) -> str:
    while typ is not None and typ.type in ("generic_type", "reference_type", "scoped_type_identifier", "pointer_type"):
        typ = (
            _field(typ, "type")
            if typ.type in ("generic_type", "reference_type", "pointer_type")
            else _field(typ, "name")
        )
    return _text(typ, src)


# --- Ruby --------------------------------------------------------------------------------


def _ruby(node: Node, src: bytes) -> Def | None:
    t = node.type
    name = _text(_field(node, "name"), src)
    if t in ("class", "module"):
        return Def("class", name.split("::")[-1], node, node, None)
    if t == "singleton_method":
        return Def("method", name, node, node, None)
    return Def("function", name, node, node, None)


_DESCRIBE = {
    "javascript": _js,
    "typescript": _js,
    "tsx": _js,
    "java": _java,
    "csharp": _java,
    "go": _go,
    "c": _c,
    "cpp": _c,
    "rust": _rust,
    "ruby": _ruby,
}
