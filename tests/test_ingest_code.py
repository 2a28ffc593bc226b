"""Code units from tree-sitter: qualified names, kinds, spans, signatures, doc comments; recall vs ast and ctags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_ft.ingest import ingest_repo
from corpus_ft.ingest.code import code_units
from corpus_ft.ingest.recall import ctags_recall, python_recall

FIXTURE = Path(__file__).parent / "fixtures" / "ingest" / "repo"
needs_ctags = pytest.mark.skipif(shutil.which("ctags") is None, reason="Universal Ctags is not installed")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("code") / "run"
    ingest_repo(FIXTURE, out, workers=1)
    return out


@pytest.fixture(scope="module")
def table(run):
    return pq.read_table(run / "units.parquet")


@pytest.fixture(scope="module")
def by_file(table) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in table.to_pylist():
        out.setdefault(r["path"], {})[r["name"]] = r
    return out


def span(u: dict) -> tuple[str, int, int]:
    return u["kind"], u["start_line"], u["end_line"]


def test_python_nesting_decorators_and_docstrings(by_file):
    py = by_file["py/billing.py"]
    assert span(py["retry"]) == ("function", 7, 22)
    assert span(py["retry.decorator.wrapper"]) == ("function", 11, 18)  # starts at @functools.wraps
    assert span(py["Invoice"]) == ("class", 25, 57)  # starts at @dataclass
    assert span(py["Invoice.Line.__init__"]) == ("method", 35, 37)
    assert span(py["Invoice.parse_number"]) == ("method", 46, 50)  # two decorators
    assert span(py["Invoice.send"]) == ("method", 52, 57)
    assert span(py["Invoice.send.attempt"]) == ("function", 53, 54)  # trailing comment not counted
    assert span(py["charge"]) == ("function", 60, 65)
    assert py["charge"]["signature"] == "def charge(\n    card: str,\n    amount: int,\n) -> bool:"
    assert py["Invoice.parse_number"]["docstring"] == "Invoice numbers look like INV-0001."
    assert py["Invoice.Line.__init__"]["parent"] == "Invoice.Line"
    assert "conditional_helper" in py and "Registry.register.add" in py
    assert py["retry"]["text"].startswith("def retry(") and py["retry"]["text"].rstrip().endswith("return decorator")


def test_javascript_and_typescript_names_from_assignments(by_file):
    js = by_file["web/widgets.js"]
    assert js["formatPrice"]["docstring"] == "Formats a price for display."
    assert js["countVisible"]["docstring"] == "Counts visible widgets."
    assert js["countVisible"]["signature"] == "const countVisible = (widgets) =>"
    assert {"fetchAll", "save", "api.remove", "Widget.render", "idGenerator", "setup", "setup.bindEvents"} <= set(js)
    assert span(js["Carousel.constructor"]) == ("method", 36, 39)
    assert span(js["Carousel.onClick"]) == ("method", 50, 53)  # class field with an arrow function
    assert js["Carousel.next"]["docstring"] == "Moves to the next slide."
    assert "Carousel.current" in js
    assert span(js["Legacy"]) == ("class", 63, 71)  # a class compiled to an IIFE
    assert span(js["Legacy.run"]) == ("method", 67, 69)  # Legacy.prototype.run = function
    assert {"Stream.async", "Stream.#drain"} <= set(js)  # get ['async'](), #private
    ts = by_file["web/store.ts"]
    assert span(ts["CartLine"]) == ("class", 4, 7) and ts["CartLine"]["docstring"] == "A cart line."
    assert span(ts["CartStore"]) == ("class", 26, 47)  # starts at @Injectable()
    assert span(ts["CartStore.add"]) == ("method", 32, 35)  # starts at @Log("add")
    assert ts["CartStore.add"]["signature"] == "add(line: CartLine): void"
    assert span(ts["CartStore.total"]) == ("method", 42, 42)
    assert ts["withVat"]["docstring"] == "Adds VAT to a net amount."
    assert span(ts["sum"]) == ("function", 23, 24)
    assert {"Repository", "Repository.findOrFail", "CartStore.empty", "Currency"} <= set(ts)
    assert ts["Repository.find"]["signature"] == "abstract find(id: string): Promise<T>"  # no body: the declaration
    tsx = by_file["web/Panel.tsx"]
    assert tsx["Panel"]["language"] == "typescript" and {"Panel.onToggle", "Badge"} <= set(tsx)


def test_java_go_c_cpp_rust_ruby_csharp(by_file):
    java = by_file["java/com/acme/OrderService.java"]
    assert span(java["OrderService.place"]) == ("method", 32, 37)  # starts at @Override
    assert java["OrderService.place"]["signature"] == "public Order place(String sku, int qty)"
    assert java["OrderService.place"]["docstring"] == "Places an order and tells every listener."
    assert java["OrderService.cancel"]["docstring"] == "Cancels without refund."
    assert {
        "OrderService.OrderService",
        "OrderService.Order.Order",
        "OrderService.Order.total",
        "OrderService.Listener",
        "OrderService.State",
        "OrderService.Receipt.describe",
    } <= set(java)
    go = by_file["go/server.go"]
    assert span(go["Server.ServeHTTP"]) == ("method", 31, 36)
    assert go["Server.ServeHTTP"]["docstring"] == "ServeHTTP counts the request and answers 204."
    assert {"Server.Count", "Cache.Get", "New", "helper", "Server", "Handler", "Cache"} <= set(go)
    assert go["Server"]["kind"] == "class"
    c = by_file["native/queue.c"]
    assert c["queue_new"]["docstring"] == "Creates an empty queue with room for `cap` items."
    assert c["queue_free"]["docstring"] == "Frees the queue (not the items)."
    assert c["handler_for"]["signature"] == "void (*handler_for(int sig))(int)"
    assert {"grow"} <= set(c)
    cpp = by_file["native/matrix.cpp"]
    assert span(cpp["Matrix.transpose"]) == ("method", 28, 31)  # Matrix::transpose outside the class
    assert cpp["Matrix.transpose"]["docstring"] == "Swaps rows and columns."
    assert {
        "Matrix.Matrix",
        "Matrix.~Matrix",
        "Matrix.at",
        "Matrix.operator==",
        "Matrix.Shape.size",
        "Stack.push",
        "Stack.pop",
        "clamp",
        "main",
    } <= set(cpp)
    assert span(cpp["clamp"]) == ("function", 37, 40)  # starts at template <...>
    assert span(cpp["Flag.operator bool"]) == ("method", 66, 66)  # conversion operator
    assert span(cpp["exported_entry"]) == ("function", 70, 72)  # behind two export macros
    assert cpp["exported_entry"]["text"].startswith("static LINALG_API LINALG_INLINE int")
    rs = by_file["rust/lib.rs"]
    assert span(rs["Amount.minor"]) == ("method", 30, 33)  # starts at #[inline]
    assert rs["Amount.from_major"]["docstring"] == "Builds an amount from major units."
    assert {"Amount.fmt", "Vec.amount", "Postable.describe", "total", "total.add", "adds_up"} <= set(rs)
    assert rs["Postable"]["kind"] == "class"
    rb = by_file["ruby/report.rb"]
    assert {"Reports.Monthly.initialize", "Reports.Monthly.current", "top_level_helper"} <= set(rb)
    cs = by_file["cs/Ledger.cs"]
    assert span(cs["Ledger.Post"]) == ("method", 11, 15)


def test_syntax_error_keeps_recovered_definitions_and_reports_the_line():
    units, warnings = code_units((FIXTURE / "py" / "broken.py").read_text(), "python")
    names = {u["name"] for u in units}
    assert {"good_before", "StillHere.method_after_error", "good_after"} <= names
    assert warnings and warnings[0]["kind"] == "syntax_error" and warnings[0]["line"] == 5
    units, warnings = code_units("int ok(void) { return 0; }\nint bad( { \nint later(void) { return 1; }\n", "c")
    assert "ok" in {u["name"] for u in units} and warnings[0]["kind"] == "syntax_error"


def test_recall_against_python_ast_on_fixtures(run, table):
    result = python_recall(FIXTURE, table)
    assert result["files"] == 1 and result["files_ast_cannot_parse"] == 1  # broken.py is left out
    assert result["recall"] == 1.0, result["missed_examples"]


@needs_ctags
def test_recall_against_ctags_on_fixtures(table):
    result = ctags_recall(FIXTURE, table)
    assert result["expected"] > 50
    for language, figures in result["by_language"].items():
        assert figures["recall"] >= 0.95, (language, result["missed_examples"])


@needs_ctags
def test_recall_on_the_sample_corpus(sample_run):
    sample = Path(__file__).parent.parent / "sample_corpus"
    table = pq.read_table(sample_run / "units.parquet")
    py = python_recall(sample, table)
    assert py["expected"] > 20 and py["recall"] >= 0.99, py["missed_examples"]
    other = ctags_recall(sample, table)
    assert other["expected"] > 20 and other["recall"] >= 0.95, other["missed_examples"]


def test_comment_markers_are_stripped_and_the_words_kept():
    from corpus_ft.ingest.codefacts import strip_markers as clean_comment

    assert (
        clean_comment("/**\n * **NOTE** Service workers.\n * Second line.\n */")
        == "**NOTE** Service workers.\nSecond line."
    )
    assert clean_comment("/* Frees the queue. */") == "Frees the queue."
    assert clean_comment("/// Builds it.\n/// Fast.") == "Builds it.\nFast."
    assert clean_comment("// Package server serves.") == "Package server serves."
    assert clean_comment("# Creates a report.") == "Creates a report."


@needs_ctags
def test_bench_ingest_times_every_contender_on_the_same_tree(table):
    """One turn of `corpus-ft bench ingest` on the fixtures: ctags, the command, the in-process run,
    the parse-only floor and the unchanged re-run are all measured and the figures hang together."""
    from corpus_ft.bench.ingest import bench_ingest

    result = bench_ingest(FIXTURE, repeat=1)
    assert result["units"] == table.num_rows
    assert [set(t) for t in result["turns"]] == [
        {"ctags_wall_s", "command_wall_s", "in_process_wall_s", "parse_only_wall_s"}
    ]
    turn = result["turns"][0]
    for name, key in (("full_command", "command_wall_s"), ("full", "in_process_wall_s")):
        assert result[name]["wall_s"] == turn[key] > 0 and result[name]["x_ctags_wall"] > 0
    # both ratios stand on the same ctags run (its time is a few ms here, too coarse after rounding to divide by)
    assert result["full_command"]["x_ctags_wall"] / result["full"]["x_ctags_wall"] == pytest.approx(
        turn["command_wall_s"] / turn["in_process_wall_s"], rel=0.05
    )
    # a fresh interpreter that imports everything cannot beat the same work in a warm process by much
    assert result["full_command"]["wall_s"] > 0.5 * result["full"]["wall_s"]
    assert 0 < result["unchanged_rerun"]["wall_s"] < result["full_command"]["wall_s"]
    assert result["tree_sitter_parse_only"]["wall_s"] == turn["parse_only_wall_s"] > 0
    assert result["recall"]["python_vs_ast"]["recall"] >= 0.99


# --- facts from tree-sitter for every language (doc comments read whole, calls, raises, stubs, tests) ---

SOURCES = {
    "javascript": (
        "/**\n * Redirect to the given `url` with optional response `status`\n * defaulting to 302.\n *\n"
        " * @param {String} url\n * @public\n */\n\n"
        "res.redirect = function redirect(url) {\n  var address = url;\n  this.location(address);\n"
        "  if (!address) throw new TypeError('url');\n  return this.end(escapeHtml('<p>' + address + '</p>'));\n};\n"
        "\n/** The content type, see {@link res.type}. */\n// eslint-disable-next-line no-unused-vars\n"
        "function contentType(type) {\n  return lookup(type);\n}\n"
    ),
    "typescript": (
        "/**\n * Parses a {@link Header} value\n * into its parts.\n */\n\nexport function parse(value: string): Part[] {\n"
        "  return value.split(';').map(toPart);\n}\n\nabstract class Store {\n  abstract load(id: string): Item;\n}\n"
    ),
    "go": (
        '// Param returns the value of the URL param, parsed from "key[sub]=value" into a map[string]string.\n'
        "// It is a shortcut for c.Params.ByName(key); see [Context.Query]\n//\n"
        '//\trouter.GET("/user/:id", handler)\n//\n//nolint:revive\nfunc (c *Context) Param(key string) string {\n'
        "\treturn c.Params.ByName(key)\n}\n\n// Todo is not written yet.\n"
        'func Todo() error {\n\tpanic("not implemented")\n}\n\nfunc TestParam(t *testing.T) {\n\tt.Fatal("x")\n}\n'
    ),
    "java": (
        "class Names {\n  /**\n   * Returns a {@code String} for {@link TypeName#box the boxed type}, like\n"
        "   * {@link #newName(String, Object)},\n"
        "   * never {@code null}.\n   *\n   * <p>Second paragraph.\n   */\n  @Override\n"
        "  public String box(TypeName t, int depth) throws IOException {\n"
        '    if (t == null) throw new IllegalArgumentException("t");\n    return t.boxed().toString();\n  }\n\n'
        "  abstract void emit();\n\n  @Test\n  void boxes() {\n    assertEquals(1, 1);\n  }\n}\n"
    ),
    "rust": (
        "//! The crate: not the doc of the first item.\n\n"
        "/// Returns a match indicating whether the given file path should be\n/// ignored or not.\n///\n"
        "/// Usage: `<PROGRAM> [PATH]`, see [`Gitignore::matched`].\n#[inline]\npub fn matched(&self, path: &Path, is_dir: bool) -> Match<&Glob> {\n"
        "    let p = path.as_ref();\n    self.matched_stripped(p, is_dir)\n}\n\n// a maintainer's note\n"
        "fn undocumented() {\n    todo!()\n}\n\n#[cfg(test)]\nmod tests {\n    fn helper() -> u8 {\n        1\n    }\n\n"
        "    #[test]\n    fn works() {\n        assert_eq!(helper(), 1);\n    }\n}\n"
    ),
    "csharp": (
        'class Ledger {\n  /// <summary>\n  /// Posts an entry to the <see cref="T:Acme.Ledger"/>\n'
        '  /// and returns its <c>id</c>.\n  /// </summary>\n  /// <param name="e">The entry.</param>\n'
        "  public int Post(Entry e) {\n    return Save(e);\n  }\n}\n"
    ),
    "ruby": (
        "# Renders the monthly report\n# as a PDF file.\n# rubocop:disable Metrics/AbcSize\n"
        "def render(month, format = :pdf)\n  raise ArgumentError, 'month' if month.nil?\n  Report.new(month).to_pdf\nend\n"
    ),
    "c": (
        "/**\n * @brief Creates an empty queue\n * with room for `cap` items.\n */\n\n"
        "queue_t *queue_new(size_t cap) {\n  return calloc(1, sizeof(queue_t) + cap);\n}\n"
    ),
    "cpp": ("/// Swaps rows and\n/// columns in place.\nvoid Matrix::transpose() {\n  std::swap(rows_, cols_);\n}\n"),
    "python": (
        "import abc\n\n\ndef _make_eq(cls, attrs):\n"
        '    """\n    Create __eq__ method for *cls* with *attrs*, like :class:`~attr.Attribute`\n'
        '    and ``__ne__``.\n    """\n    # a comment inside the body is not the summary\n'
        "    lines = _eq_lines(attrs)\n    if not lines:\n        raise ValueError('no attrs')\n    return compile_eq(lines)\n\n\n"
        "class Base(abc.ABC):\n    @abc.abstractmethod\n    def load(self, key: str) -> bytes:\n"
        '        """Load the value stored under key."""\n\n    def todo(self):\n        raise NotImplementedError\n'
    ),
}


@pytest.fixture(scope="module")
def facts() -> dict[str, dict[str, dict]]:
    out = {}
    for language, src in SOURCES.items():
        units, warnings = code_units(src, language)
        assert not warnings, (language, warnings)
        out[language] = {u["name"]: u for u in units}
    return out


def test_doc_comments_are_read_whole_with_their_inline_tags_as_text(facts):
    js = facts["javascript"]
    assert js["res.redirect"]["docstring"].startswith(
        "Redirect to the given `url` with optional response `status`\ndefaulting to 302."
    ), "a JSDoc block a blank line above an assignment-defined function is its doc"
    assert "@param {String} url" in js["res.redirect"]["docstring"]
    assert js["contentType"]["docstring"] == "The content type, see `res.type`.", "a lint directive is not a comment"
    ts = facts["typescript"]
    assert ts["parse"]["docstring"] == "Parses a `Header` value\ninto its parts."
    go = facts["go"]["Context.Param"]["docstring"]
    assert go.startswith(
        'Param returns the value of the URL param, parsed from "key[sub]=value" into a map[string]string.\n'
        "It is a shortcut for c.Params.ByName(key); see `Context.Query`"
    ), "a Go doc link is its name; brackets of an index or a map type stay"
    assert 'router.GET("/user/:id", handler)' in go and "nolint" not in go
    java = facts["java"]["Names.box"]["docstring"]
    assert java.startswith(
        "Returns a `String` for the boxed type, like\n`newName(String, Object)`,\nnever `null`.\n\nSecond paragraph."
    )
    rust = facts["rust"]
    assert rust["matched"]["docstring"] == (
        "Returns a match indicating whether the given file path should be\nignored or not.\n\n"
        "Usage: `<PROGRAM> [PATH]`, see `Gitignore::matched`."
    ), "`///` lines are one text, never cut at the first line break; a placeholder stays"
    assert rust["undocumented"]["docstring"] == "", "a `//` note is not rustdoc, and `//!` documents the module"
    cs = facts["csharp"]["Ledger.Post"]["docstring"]
    assert cs.startswith("Posts an entry to the `Acme.Ledger`\nand returns its `id`.") and "Parameter `e`" in cs
    assert facts["ruby"]["render"]["docstring"] == "Renders the monthly report\nas a PDF file."
    assert facts["c"]["queue_new"]["docstring"] == "@brief Creates an empty queue\nwith room for `cap` items."
    assert facts["cpp"]["Matrix.transpose"]["docstring"] == "Swaps rows and\ncolumns in place."
    py = facts["python"]["_make_eq"]
    assert py["docstring"] == "Create __eq__ method for *cls* with *attrs*, like `Attribute`\nand `__ne__`."
    assert (py["doc_start_line"], py["doc_end_line"]) == (5, 8)


def test_signature_parameters_returns_raises_and_calls(facts):
    js = facts["javascript"]["res.redirect"]
    assert js["params"] == ["url"] and js["raises"] == ["TypeError"]
    assert js["calls"] == ["this.location", "this.end", "escapeHtml"], "HTML in a string is code, kept as written"
    assert "'<p>'" in js["text"].decode() if isinstance(js["text"], bytes) else "'<p>'" in js["text"]
    ts = facts["typescript"]["parse"]
    assert ts["params"] == ["value: string"] and ts["returns"] == "Part[]" and "value.split" in ts["calls"]
    go = facts["go"]["Context.Param"]
    assert go["params"] == ["key string"] and go["returns"] == "string" and go["calls"] == ["c.Params.ByName"]
    java = facts["java"]["Names.box"]
    assert java["params"] == ["TypeName t", "int depth"] and java["returns"] == "String"
    assert java["raises"] == ["IOException", "IllegalArgumentException"]
    rust = facts["rust"]["matched"]
    assert rust["params"] == ["&self", "path: &Path", "is_dir: bool"] and rust["returns"] == "Match<&Glob>"
    assert rust["calls"] == ["path.as_ref", "self.matched_stripped"]
    assert facts["ruby"]["render"]["raises"] == ["ArgumentError"]
    assert facts["ruby"]["render"]["params"] == ["month", "format = :pdf"]
    py = facts["python"]["_make_eq"]
    assert py["params"] == ["cls", "attrs"] and py["raises"] == ["ValueError"]
    assert py["calls"] == ["_eq_lines", "ValueError", "compile_eq"]
    assert facts["python"]["Base.load"]["returns"] == "bytes"


def test_stub_abstract_and_test_bodies_are_marked(facts):
    assert facts["typescript"]["Store.load"]["body_kind"] == "abstract"
    assert facts["java"]["Names.emit"]["body_kind"] == "abstract"
    assert facts["java"]["Names.box"]["body_kind"] == ""
    assert facts["go"]["Todo"]["body_kind"] == "stub" and facts["go"]["Todo"]["raises"] == ["panic"]
    assert facts["rust"]["undocumented"]["body_kind"] == "stub"
    assert facts["python"]["Base.load"]["body_kind"] == "abstract"
    assert facts["python"]["Base.todo"]["body_kind"] == "stub"
    assert facts["python"]["_make_eq"]["body_kind"] == ""
    assert facts["java"]["Names.boxes"]["test"] and not facts["java"]["Names.box"]["test"]
    assert facts["go"]["TestParam"]["test"] and not facts["go"]["Context.Param"]["test"]
    rust = facts["rust"]
    assert rust["works"]["test"] and rust["helper"]["test"], "a #[cfg(test)] module's helpers are tests"
    assert not rust["matched"]["test"]
    units, _ = code_units(
        "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage p\n\nfunc N() int {\n\treturn 1\n}\n", "go"
    )
    assert units[0]["body_kind"] == "generated"


def test_facts_are_columns_of_units_parquet_and_tests_in_source_are_tests(tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "lib.rs").write_text(SOURCES["rust"])
    (repo / "README.md").write_text("# Lib\n\nA library that matches paths against globs.\n")
    ingest_repo(repo, tmp_path / "run", workers=1)
    rows = {r["name"]: r for r in pq.read_table(tmp_path / "run" / "units.parquet").to_pylist()}
    assert rows["matched"]["params"] == ["&self", "path: &Path", "is_dir: bool"]
    assert rows["matched"]["calls"] == ["path.as_ref", "self.matched_stripped"]
    assert rows["matched"]["category"] == "source" and rows["matched"]["test"] is False
    assert rows["helper"]["test"] is True and rows["helper"]["category"] == "test"
    assert rows["undocumented"]["body_kind"] == "stub"
    doc = next(r for r in rows.values() if r["kind"] == "section")
    assert doc["params"] == [] and doc["body_kind"] == "" and doc["test"] is False


def test_bench_docstrings_compares_summaries_with_an_independent_reader(tmp_path):
    """`corpus-ft bench docstrings`: the reader finds doc comments by its own means (ast, a line
    scanner), and a documented unit whose summary is not its doc comment is counted and named."""
    from corpus_ft.bench.docstrings import independent_doc, repo_docstrings

    lines = SOURCES["javascript"].split("\n")
    assert independent_doc(lines, 9, "javascript").startswith("Redirect to the given `url`")  # a blank line away
    rust = SOURCES["rust"].split("\n")
    assert independent_doc(rust, 7, "rust").startswith("Returns a match") and not independent_doc(rust, 12, "rust")
    repo = tmp_path / "repo"
    for path, language in (("lib/response.js", "javascript"), ("src/lib.rs", "rust"), ("attr/_make.py", "python")):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(SOURCES[language])
    (repo / "server.go").write_text(
        SOURCES["go"] + "\n// TODO: make this faster.\nfunc Later() int {\n\treturn compute(1)\n}\n"
    )
    r = repo_docstrings(repo, tmp_path / "run")
    # res.redirect, contentType, matched, _make_eq, Context.Param and Later; stubs, abstract members and tests are not counted
    assert r["documented"] == 6, r
    assert [(m["name"], m["reason"]) for m in r["misses"]] == [("Later", "doc too short or not a sentence")]
    assert r["share_not_taken"] == round(1 / 6, 4) and not r["ok"]


def test_python_docstring_roles_are_rendered_once_at_ingest(tmp_path):
    """A docstring's reST roles and literals reach the units as their text; no later stage cleans them."""
    from corpus_ft.ingest.parse import parse_file

    path = tmp_path / "hooks.py"
    path.write_text(
        'def route(rule):\n    """Like :meth:`~flask.Flask.route` but for a ``Blueprint``."""\n    return rule\n'
    )
    settings = {"max_line_length": 10000, "min_section_chars": 1}
    (unit,) = parse_file(str(path), "python", settings)["units"]
    assert unit["docstring"] == "Like `route` but for a `Blueprint`."


@pytest.mark.parametrize(
    ("doc", "rendered"),
    [
        # HTML is taken out of the prose, never out of a code span: `{@code <div>}` names a tag
        (
            "The normal name: {@code <DIV>} and {@code <div>} are both <b>div</b>.",
            "The normal name: `<DIV>` and `<div>` are both div.",
        ),
        # `{@code &lt;}` shows the entity's text (Javadoc prints it literally); prose entities are decoded
        ("Unescape: {@code &lt;} becomes {@code <}, a &amp; b stays.", "Unescape: `&lt;` becomes `<`, a & b stays."),
    ],
)
def test_javadoc_code_spans_show_what_is_written_in_them(tmp_path, doc, rendered):
    """A Javadoc code span is shown as written; markup and entities are rendered in the prose around it."""
    from corpus_ft.ingest.parse import parse_file

    path = tmp_path / "Acme.java"
    path.write_text(f"class Acme {{\n    /** {doc} */\n    String normalName() {{ return name; }}\n}}\n")
    settings = {"max_line_length": 10000, "min_section_chars": 1}
    (unit,) = [u for u in parse_file(str(path), "java", settings)["units"] if u["name"] == "Acme.normalName"]
    assert unit["docstring"] == rendered


def test_a_rust_doc_comment_runs_on_through_its_doc_attributes():
    """`#[cfg_attr(x, doc = "…")]` lines hide doctest lines inside a doc comment: the unit starts below the
    whole comment, so its code holds no half of the comment and no unbalanced ``` fence."""
    src = (
        "impl Acme {\n"
        "    /// Convert to a boxed error.\n"
        "    ///\n"
        "    /// ```\n"
        '    #[cfg_attr(not(nightly), doc = "# _ = stringify! {")]\n'
        "    /// let x = 1;\n"
        '    #[cfg_attr(not(nightly), doc = "# };")]\n'
        "    /// ```\n"
        '    #[cfg(feature = "std")]\n'
        "    pub fn into_boxed(self) -> Box<u8> {\n"
        "        Box::new(0)\n"
        "    }\n"
        "}\n"
    )
    units, _ = code_units(src, "rust")
    (unit,) = [u for u in units if u["name"].endswith("into_boxed")]
    text = unit["text"].decode() if isinstance(unit["text"], bytes) else unit["text"]
    assert text.lstrip().startswith('#[cfg(feature = "std")]')
    assert "```" not in text
    assert unit["docstring"].startswith("Convert to a boxed error.") and unit["docstring"].count("```") == 2


def test_a_java_maintainer_note_is_not_the_doc_comment():
    """Javadoc reads `/** */` only: a `//` note between it and the code is skipped for the Javadoc above;
    a `//` comment with no Javadoc above stays the doc, as it documents the method for its reader."""
    src = (
        "class Acme {\n"
        "  /** Creates a primitive holding a boolean value. */\n"
        '  // "deprecation" suppression for the superclass constructor\n'
        '  @SuppressWarnings("deprecation")\n'
        "  public Acme(Boolean bool) { set(bool); }\n\n"
        "  // Don't add Javadoc, inherit it from the super implementation\n"
        "  @Override\n"
        "  public String getAsString() { return s; }\n"
        "}\n"
    )
    docs = {u["name"]: u["docstring"] for u in code_units(src, "java")[0]}
    assert docs["Acme.Acme"] == "Creates a primitive holding a boolean value."
    assert docs["Acme.getAsString"] == "Don't add Javadoc, inherit it from the super implementation"
