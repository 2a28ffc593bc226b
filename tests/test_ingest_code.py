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
    from corpus_ft.ingest.code import clean_comment

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
