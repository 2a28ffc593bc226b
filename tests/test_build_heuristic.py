"""The offline heuristic generator and the dataset stage's content rules: questions that name
what they are about, whole-paragraph answers, one record per question, code summaries that say
more than the name, stubs and generated code skipped, long classes outlined, keywords that are
domain terms."""

from __future__ import annotations

import re
import textwrap

from corpus_ft.datasets.config import BuildConfig
from corpus_ft.datasets.kinds import (
    code_summary,
    extract_keywords,
    good_docstring,
    grounding,
    is_keyword,
    product_name,
    qa,
    skip_reason,
)
from corpus_ft.datasets.quality import markup_residue
from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.heuristic import HeuristicGenerator
from corpus_ft.ingest.code import code_units
from corpus_ft.ingest.table import unit_id

CHUNK = {
    "id": "chunk-1",
    "heading_path": ["Runbook", "Restarting the billing service"],
    "product": "Ledgerline",
    "text": "## Restarting the billing service\n\n"
    "The billing service is the component that issues invoices to customers every month.\n\n"
    "1. Stop the worker with `billing-ctl stop`.\n2. Flush the Redis cache.\n3. Start the worker again.\n\n"
    "```bash\nbilling-ctl status\n```\n",
}
RETRIES = {
    "id": "chunk-2",
    "heading_path": ["Ledgerline configuration", "Retries"],
    "product": "Ledgerline",
    "text": "Retries\n=======\n\nThe `retry_limit` setting defaults to `5`. It is read at start-up.\n\n"
    "If the bank feed is unreachable for more than an hour, the matcher pauses and pages the on-call "
    "engineer. It resumes on its own once the feed is back.\n\n"
    "The trick is to keep the feed small.\n\n"
    "The exception queue is used to hold statement lines that the matcher could not match.\n\n"
    "If you want to replay a statement, run `ledgerctl replay FILE`. The replay is idempotent.\n",
}
RST = {
    "id": "chunk-3",
    "heading_path": ["Configuration Handling", "Debug Mode"],
    "product": "Flask",
    "text": "Debug Mode\n----------\n\nThe :data:`DEBUG` config value is special because it may behave inconsistently "
    "if changed after the app has begun setting up. Use the ``--debug`` option on the "
    ":meth:`~flask.Flask.run` command instead::\n\n    $ flask --app hello run --debug\n\n"
    ".. versionchanged:: 2.3\n   The option replaces the environment variable.\n",
}


def parsed(chunk: dict) -> dict:
    """A hand-written chunk as the pipeline hands it over: its text read by ingest's parser (reST when
    it looks like reST, else Markdown), its blocks packed by the chunker."""
    from corpus_ft.datasets.chunk import chunk_units, make_splitter
    from corpus_ft.ingest import docs

    reader = docs.rst_sections if docs.looks_like_rst(chunk["text"]) else docs.markdown_sections
    units = reader(chunk["text"], "chunk", 1, [])
    for u in units:
        u.update(id="u", path="chunk.md", language="markdown")
    found = [b for c in chunk_units(units, make_splitter(100_000, 0, None)) for b in c["blocks"]]
    return {**chunk, "blocks": found}


def _pairs(chunk: dict, n: int = 8) -> dict[str, str]:
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=n))
    chunk = parsed(chunk)
    pairs = gen.questions([chunk])[0]
    assert pairs == gen.questions([chunk])[0], "must be deterministic"
    return {p["question"]: p["answer"] for p in pairs}


def test_questions_name_the_product_and_come_in_several_types_with_whole_answers():
    by_q = _pairs(CHUNK)
    assert by_q["How do I restart the billing service in Ledgerline?"] == (
        "1. Stop the worker with `billing-ctl stop`.\n2. Flush the Redis cache.\n3. Start the worker again."
    )
    assert (
        by_q["What is the billing service in Ledgerline?"]
        == "The billing service is the component that issues invoices to customers every month."
    )
    assert "billing-ctl status" not in by_q["How do I restart the billing service in Ledgerline?"], (
        "the code after a list is not part of the steps"
    )
    assert all(grounding(a, CHUNK["text"]) == 1.0 for a in by_q.values())

    by_q = _pairs(RETRIES)
    assert by_q["What is the default of `retry_limit` in Ledgerline?"].startswith(
        "The `retry_limit` setting defaults to `5`."
    )
    assert by_q["In Ledgerline, what happens if the bank feed is unreachable for more than an hour?"].endswith(
        "It resumes on its own once the feed is back."
    ), "the whole paragraph answers, not the one sentence"
    assert "What is the exception queue for in Ledgerline?" in by_q
    assert by_q["How do I replay a statement in Ledgerline?"].startswith("If you want to replay a statement, run")
    assert not any("trick" in q for q in by_q), "a context-free subject is never asked about"
    assert all("Ledgerline" in q for q in by_q), by_q
    assert len(HeuristicGenerator(GeneratorConfig(questions_per_chunk=1)).questions([parsed(RETRIES)])[0]) == 1
    reader = dict(
        RETRIES,
        text="If your question is shorter than a tweet, send it to the on-call channel.\n\n"
        "If you want to use any of these forms of login, follow the vendor's guide.\n",
    )
    assert not [q for q in _pairs(reader) if "what happens" in q or q.startswith("How do I")], (
        "conditions about the reader and how-tos that point at 'these' need the page"
    )
    faq = {
        "id": "c9",
        "heading_path": ["FAQ", "Encoded Data?"],
        "product": "Requests",
        "text": "Requests automatically decompresses gzip-encoded responses, and does its best to decode content.\n\n"
        "The maintainers believe that Requests is a feature-complete piece of software at this time.\n\n"
        "Requests allows you to easily override User-Agent strings, along with any other HTTP header.\n",
    }
    code_heading = dict(
        RETRIES,
        heading_path=["Typer", "Note about `FileTextWrite"],
        text="The `FileTextWrite` class is a convenience class that opens files for writing text.\n",
    )
    assert all(q.count("`") % 2 == 0 for q in _pairs(code_heading)), "a cut code span in a heading is not carried over"
    them = dict(
        RETRIES, heading_path=["Subcommands", "Put them together"], text="Both parts are similar:\n\n```\nx\n```\n"
    )
    assert not any(q.startswith("How do I") for q in _pairs(them))
    faq2 = {
        "id": "c10",
        "heading_path": ["FAQ", "Shell Variable Expansion On Windows", "Answer"],
        "product": "Click",
        "text": "Why does my glob not expand on Windows, and what should I do about it in scripts?\n\n"
        "Windows command line does not do any expansion, so Click emulates unix expansion on Windows.\n\n"
        "The third row is the three-state pattern for flags.\n\n"
        '@click.command()\n@click.option("-n", type=int)\ndef foo(n):\n    run(n)\n',
    }
    by_q = _pairs(faq2)
    assert list(by_q) == ["How does shell variable expansion on Windows work in Click?"], by_q
    assert by_q[list(by_q)[0]].startswith("Windows command line does not do any expansion"), "a question is no overview"
    assert "@click" not in " ".join(by_q.values()), "code the parser left unfenced is not prose"
    cut = dict(RETRIES, text="If a response carries cookies, you can read them like this:\n")
    assert not _pairs(cut), "an answer that ends in ':' (its code is in the next chunk) is half an answer"
    assert list(_pairs(faq)) == ["How does encoded data work in Requests?"]


def test_questions_and_answers_carry_no_markup():
    by_q = _pairs(RST)
    text = " ".join(by_q) + " ".join(by_q.values())
    assert by_q, "the section supports questions"
    assert not markup_residue(text) and "versionchanged" not in text and "~flask" not in text, text
    assert any("`flask.Flask.run`" not in a and "`run`" in a for a in by_q.values())


def _qa_records(chunks: list[dict]) -> tuple[list[dict], list[dict]]:
    class Fixed:
        name, version = "fixed", "1"

        def questions(self, cs):
            return [[{"question": "What is Flask?", "answer": c["text"]}] for c in cs]

    return qa(chunks, Fixed(), BuildConfig())


def test_no_two_qa_records_share_a_question():
    def chunk(i: int, heads: list[str], text: str, unit: str | None = None) -> dict:
        return {
            "id": f"c{i}",
            "unit_id": unit or f"u{i}",
            "text": text,
            "heading_path": heads,
            "path": f"d{i}.md",
            "language": "markdown",
            "start_line": 1,
            "end_line": 3,
        }

    kept, removed = _qa_records(
        [
            chunk(1, ["Flask"], "Flask is a lightweight web application framework."),
            chunk(2, ["Foreword"], "Flask is a micro framework with a small core."),
            chunk(3, ["Foreword"], "Flask is a framework that stays out of your way.", unit="u2"),
            chunk(4, ["Installation"], "Flask is a lightweight web application framework."),
        ]
    )
    questions = [r["messages"][1]["content"] for r in kept]
    assert questions == ["What is Flask?"], "a repeated question is not told apart by naming its section"
    assert [r["reason"] for r in removed] == ["duplicate_question"] * 3


def test_product_name_of_an_old_run_is_the_repository_name_as_the_docs_spell_it_never_a_heading():
    units = [{"kind": "section", "path": "README.md", "heading_path": ["Compatibility"], "text": "# Compatibility"}]
    assert product_name(units) == "" and product_name(units, "/src/tree") == "", "a first heading is no product"
    units = [
        {"kind": "section", "path": "README.md", "heading_path": ["Features"], "text": "HTTPX is fast."},
        {
            "kind": "section",
            "path": "docs/index.md",
            "heading_path": ["Intro"],
            "text": "Use HTTPX, httpx.get or HTTPX.",
        },
    ]
    assert product_name(units, "/src/httpx") == "HTTPX", "the docs' spelling of the repository's name"
    assert product_name(units, "/src/checkout") == "", "a README section heading is not a product"
    assert product_name([], None) == ""


def test_docstrings_are_cleaned_and_keywords_are_domain_terms():
    assert good_docstring("Render an order as an invoice.\n\nArgs: ...", 4) == "Render an order as an invoice."
    assert good_docstring("Like `route` but for a `Blueprint`.", 4) == "Like `route` but for a `Blueprint`."
    assert good_docstring("TODO: write me properly later on", 4) is None
    assert good_docstring("Getter.", 4) is None
    assert good_docstring("Merges two maps, keeping the newer value. TODO handle nulls later", 4) == (
        "Merges two maps, keeping the newer value."
    )
    # an entity in prose is its character; in a code span it is the text the code reads
    assert (
        good_docstring("Decode it: `&lt;` becomes `<`, so a &lt; b.", 4) == "Decode it: `&lt;` becomes `<`, so a < b."
    )
    assert good_docstring("Given the routes, yields the following information:\n\n- a", 4) is None
    kws = extract_keywords(
        "The reconciler compares the ledger with bank statements every night. "
        "Unmatched bank statements become exception cases for finance operations.",
        3,
    )
    assert any("bank statements" in k.lower() for k in kws), "the term that recurs in the chunk"
    assert "reconciler compares" not in kws, "a subject and its verb is not a term"
    words = [w for k in kws for w in k.lower().split()]
    assert len(words) == len(set(words)), f"keyword phrases should not repeat words: {kws}"
    changelog = textwrap.dedent("""\
        Version 2.3.0
        -------------

        Released 2023-04-25

        -   Drop support for Python 3.7. :pr:`5072`
        -   The session cookie is signed with the secret key rotation list. :issue:`4567`
        -   Session interface gains ``should_set_cookie``. .. versionadded:: 2.3
        """)
    from corpus_ft.datasets.chunk import prose_text
    from corpus_ft.ingest.docs import rst_sections

    (unit,) = rst_sections(changelog, "CHANGES.rst", 1, [])  # keywords read the parser's blocks
    kws = extract_keywords(prose_text(unit), 5)
    assert kws and all(is_keyword(k) for k in kws), kws
    banned = {"version", "released", "issue", "pr", "versionadded", "2.3.0", "2023-04-25"}
    assert not any(w in banned for k in kws for w in k.lower().split()), kws


# Issue 12, the records a practitioner would keep: one regression test per class of defect found
# by reading 20 records per kind from Uvicorn, HTTPX, Typer, Starlette and Flask.


def test_keywords_are_noun_phrases_not_fragments():
    from corpus_ft.datasets.kinds import noun_phrase

    text = (
        "See Third Party Packages. Build dynamic web applications with custom shell scripts. Starlette Compress adds ZStd. "
        "Run the uvicorn command line tool. Hypercorn was part of the Quart web framework. Use a UNIX domain "
        "socket. Uvicorn translates the request. The WebSocket protocol starts as an HTTP connection. "
        "Data is sent faster than the other side reads it. Keep a longer buffer for the package underneath."
    )
    for fragment in (
        "uvicorn command and line tool",
        "package underneath",
        "Encrypt",
        "Uvicorn translates",
        "configure Uvicorn",
        "data faster",
        "Job Failed",
        "Built-in",
        "Why Sponsor?",
        "Quart web",
        "UNIX domain",
        "protocol starts",
        "longer buffer",
        "error occurs",
        "decorators execute",
        "proxies remove",
        "code failing",
        "instruct Uvicorn",
        "raise errors",
        "application built",
        "Dynamic web",
        "custom shell",
        "adds ZStd",
        "function are",
        "complex area",
        "usage grows",
        "Party Packages",
    ):
        assert not noun_phrase(fragment, text), fragment
    for term in (
        "ASGI frameworks",
        "lifespan protocol",
        "request body",
        "Keep-Alive",
        "Arguments and Options",
        "Running behind Nginx",
        "bank statements",
        "API requests",
        "child processes",
    ):
        assert noun_phrase(term, text + " The lifespan protocol runs as a task."), term
    listing = (
        "- `--limit-concurrency <int>` - Maximum number of concurrent connections to allow.\n"
        "- `--backlog <int>` - Maximum number of connections to hold in backlog."
    )
    assert "Maximum" not in extract_keywords(listing, 3, "Resource Limits"), "a list item's first word is no name"
    assert "Job Failed" not in extract_keywords(
        "This job failing means the docs failed to build.", 3, "Docs Job Failed"
    )
    assert "Graceful Process" not in extract_keywords(
        "Graceful process shutdowns matter during a restart.", 3, "Graceful Process Shutdown"
    )
    spans = extract_keywords("Call `create` from `main` with `max` and `min`, then `typer.Typer()` runs.", 5)
    assert not {"create", "main", "max", "min"} & set(spans) and "typer.Typer()" in spans, spans


def test_what_is_x_in_product_only_for_parts_of_the_product():
    chunk = {
        "id": "c-g",
        "heading_path": ["Usage", "Running with Gunicorn"],
        "product": "Uvicorn",
        "text": "Gunicorn is a mature, fully featured server and process manager.\n\n"
        "WSGI applications are a single, synchronous callable that takes a request.\n\n"
        "The reload supervisor is the process that restarts workers when files change.\n\n"
        "`Config.load` is the method that imports the application and sets up logging.\n",
    }
    by_q = _pairs(chunk)
    assert "What is Gunicorn?" in by_q and "What is Gunicorn in Uvicorn?" not in by_q
    assert "What are WSGI applications?" in by_q
    assert "What is the reload supervisor in Uvicorn?" in by_q, "a common noun of the product's docs is a part of it"
    assert "What is `Config.load` in Uvicorn?" in by_q
    ssl = dict(chunk, text="By default the certifi CA bundle is used for SSL verification of every request.\n")
    assert not any("By default" in q for q in _pairs(ssl)), "an adverbial opening is not a subject"
    gerund = dict(
        chunk,
        text="Inspecting the connection `scope` is useful for routing to another app.\n\n"
        "Booking date is the date the bank recorded a movement on the account.\n",
    )
    qs = set(_pairs(gerund))
    assert "What is Booking date in Uvicorn?" in qs and not any("Inspecting" in q for q in qs), qs


def test_answers_start_at_a_sentence_that_stands_alone():
    chunk = {
        "id": "c-h",
        "heading_path": ["Add Typer", "Manage users"],
        "product": "Typer",
        "text": "But then you realize that you also have to manage users from your CLI app.\n\n"
        "It could be a file `users.py` with something like:\n\n```python\nimport typer\n```\n",
    }
    assert not any(q.startswith("How do I manage users") for q in _pairs(chunk)), "no standalone paragraph: no how-to"
    binary = {
        "id": "c-b",
        "heading_path": ["QuickStart", "Sending Binary Request Data"],
        "product": "HTTPX",
        "text": "Request bodies can be bytes or a stream of bytes sent by the client.\n\n"
        "For other encodings, you should use the `content=...` parameter, passing bytes.\n\n"
        "It also includes a generator form that yields `bytes` for streaming uploads.\n\n"
        "```python\nr = httpx.post(url, content=b'Hello')\n```\n",
    }
    answers = list(_pairs(binary).values())
    assert answers and not any(re.match(r"(?:It|This|They|For other|But|Then)\b", a) for a in answers), answers
    from corpus_ft.generate.heuristic import _answer_from, blocks, chunk_blocks

    parts = blocks(chunk_blocks(parsed(binary)))
    assert _answer_from(parts, 2).startswith("For other encodings") is False
    assert _answer_from(parts, 2).startswith("Request bodies"), "reaches back to the paragraph it leans on"
    typer = {
        "id": "c-t",
        "heading_path": ["CLI Options with Help", "Help with style using Rich"],
        "product": "Typer",
        "text": "In a future section you will see how to use custom markup in the `help` for CLI options.\n\n"
        "...you can also remove it if you are calling that script only with the `typer` command.\n\n"
        "When you need to ask the user for info interactively you should normally use CLI Options with "
        "Prompt, because they allow using the CLI program in a non-interactive way.\n",
    }
    by_q = _pairs(typer)
    assert not any(a.startswith(("In a future", "...")) for a in by_q.values()), "a pointer elsewhere, an opening '...'"
    assert not any("should normally" in q for q in by_q), "a clause run past its comma asks nothing"
    from corpus_ft.generate.heuristic import _task

    assert _task("Request Files") is None and _task("Debug Mode") is None and _task("Testing and Linting") is None
    assert _task("Request the token") == "request the token" and _task("Installing Flask", "Flask") == "install Flask"
    land = {
        "id": "c-l",
        "heading_path": ["Manage the land in a CLI app"],
        "product": "Typer",
        "text": "Check it:\n\n```console\n$ python main.py --help\n```\n",
    }
    assert not any(q.startswith("How do I") for q in _pairs(land)), "'Check it:' over a console block explains nothing"
    notes = {
        "id": "c-v",
        "heading_path": ["Templates", "Standard Context"],
        "product": "Flask",
        "text": "Changed in version 0.10: This is now always available, even in imported templates.\n\n"
        "Let's say that we want a `--force` CLI option only, we want to discard `--no-force` too.\n\n"
        "In the next short sections we will see how to modify CLI options using `typer.Option()`.\n",
    }
    assert _pairs(notes) == {}, "a version note, a 'Let's say' opening and a pointer are no overview"
    api = {
        "id": "c-u",
        "heading_path": ["Developer Interface", "`URL`"],
        "product": "HTTPX",
        "text": "- `def __init__(url, **kwargs)`\n- `.scheme` - **str**\n- `.authority` - **str**\n"
        "- `def copy_with([scheme], [authority], [path], [query], [fragment])`\n- `def join(relative_url)`\n",
    }
    assert not any(
        q.startswith("What does the HTTPX documentation say")
        for q in _pairs(
            dict(
                api,
                text="- `def __init__(url, **kwargs)`\n- `def copy_with([scheme], [authority], [path], [query], [fragment])`\n"
                "- `def join(relative_url)`\n- `def raise_for_status(self, strict_mode_enabled)`\n",
            )
        )
    )
    prop = dict(land, text="The property is a string-like object that exposes all the components of the URL.\n")
    assert not any("the property" in q for q in _pairs(prop))


def test_heading_questions_are_answered_by_text_about_the_heading():
    chunk = {
        "id": "c-d",
        "heading_path": ["Dockerfile", "Quickstart"],
        "product": "Uvicorn",
        "text": "`uv.lock` is a `uv` specific lockfile. A lockfile contains the exact versions of the "
        "dependencies that were installed, which allows for deterministic builds.\n",
    }
    assert not any("Dockerfile" in q for q in _pairs(chunk)), "a uv.lock paragraph does not answer 'Dockerfile'"
    from corpus_ft.generate.heuristic import on_subject

    assert on_subject("Application factories", "The `--factory` flag loads the app from a factory function.")
    assert on_subject("Proxies", "When proxying from Nginx, use a socket.")
    assert not on_subject("Timeouts", "Keep-Alive. Defaults to 5 seconds.")


# --- code summaries: from the doc comment (read by ingest, every language) or nothing ---------


def code_units_of(src: str, language: str, path: str) -> list[dict]:
    """Units as ingest writes them (facts included), for one source file written here."""
    units, _ = code_units(src, language)
    for u in units:
        u.update(path=path, language=language, category="source", sha256=u["name"])
        u["id"] = unit_id(path, u)
        u["text"] = u["text"].decode() if isinstance(u["text"], bytes) else u["text"]
    return units


EXPRESS_STYLE = """
/**
 * Redirect to the given `url` with optional response `status`
 * defaulting to 302.
 *
 * Examples:
 *
 *    res.redirect('/foo/bar');
 *
 * @public
 */

res.redirect = function redirect(url) {
  var address = url;
  this.location(address);
  return this.end(escapeHtml(address));
};

res.vary = function(field){
  // checks for back-compat: a comment inside the body is not a summary
  vary(this, field);
  deprecate('res.vary(): Provide a field name');
  return this;
};
"""

ATTRS_STYLE = '''
def _make_eq(cls, attrs):
    """
    Create __eq__ method for *cls* with *attrs*.
    """
    lines = _eq_lines(attrs)
    return compile_eq(lines)


def guess_codec(sample):
    # JSON always starts with two ASCII characters, so detection is as
    # easy as counting the nulls.
    return sample.count(b"\\x00")
'''


def test_code_summaries_come_from_doc_comments_or_not_at_all():
    units = code_units_of(EXPRESS_STYLE, "javascript", "lib/response.js") + code_units_of(
        ATTRS_STYLE, "python", "src/attr/_make.py"
    )
    assert HeuristicGenerator().summaries(units) == [None] * len(units), "the offline generator writes no summary"
    records, removed = code_summary(units, HeuristicGenerator(), BuildConfig())
    explain = {
        r["meta"]["name"]: r["messages"][2]["content"] for r in records if r["meta"]["direction"] == "code_to_summary"
    }
    assert explain == {
        "res.redirect": "Redirect to the given `url` with optional response `status` defaulting to 302.",
        "_make_eq": "Create __eq__ method for *cls* with *attrs*.",
    }, "JSDoc a blank line above an assignment; dunder names kept"
    assert all(r["meta"]["summary_source"] == "docstring" for r in records)
    left = {r["record"]["meta"]["name"] for r in removed if r["reason"] == "needs_model_generator"}
    assert left == {"res.vary", "guess_codec"}, "no call list, no comment from the body: left to a model"
    assert not any(" calls `" in r["messages"][2]["content"] for r in records)
    shown = next(r for r in records if r["meta"]["name"] == "_make_eq" and r["meta"]["direction"] == "code_to_summary")
    assert "__eq__" not in shown["messages"][1]["content"], "the docstring is taken out of the code to explain"
    assert "return compile_eq(lines)" in shown["messages"][1]["content"]


def test_needs_model_generator_is_counted_in_stats_and_card(tmp_path):
    from corpus_ft.datasets import build_dataset
    from corpus_ft.ingest import ingest_repo

    repo = tmp_path / "repo"
    for i in range(3):
        (repo / f"pkg{i}").mkdir(parents=True)
        (repo / f"pkg{i}" / "response.js").write_text(EXPRESS_STYLE)
    ingest_repo(repo, tmp_path / "run", workers=1)
    stats = build_dataset("code_summary", tmp_path / "run", generator="heuristic")
    assert stats["needs_model_generator"] == 3 and stats["removed"]["needs_model_generator"] == 6
    assert stats["total"] >= 2  # res.redirect, both directions (copies in other files are duplicates)
    card = (tmp_path / "run" / "datasets" / "code_summary" / "card.md").read_text()
    assert "**Needs a model generator**: 3 code units" in card


def test_stubs_abstract_generated_and_pyi_make_no_summary_and_long_classes_are_outlined():
    src = '''
import abc
from typing import overload


class Store(abc.ABC):
    @abc.abstractmethod
    def load(self, key: str) -> bytes:
        """Load the value stored under the given key."""

    @overload
    def get(self, key: int) -> int: ...

    def decode(self, data):
        """Decode the data read from the store."""
        raise NotImplementedError()  # pragma: no cover

    def keys(self):
        """Return every key held by the store."""
        return list(self._data)
'''
    units = code_units_of(src, "python", "store.py")
    units += code_units_of(
        'def load(key: str) -> bytes:\n    """Load the value stored under a key."""\n', "python", "store.pyi"
    )
    units += code_units_of(
        "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage p\n\n// N returns the number of entries.\n"
        "func N() int {\n\treturn 1\n}\n",
        "go",
        "n.go",
    )
    units += code_units_of(
        "interface Shape {\n  /** Returns the area of the shape in square metres. */\n  double area();\n}\n",
        "java",
        "S.java",
    )
    reasons = {u["name"] + ":" + u["path"]: skip_reason(u) for u in units}
    assert reasons == {
        "Store:store.py": None,
        "Store.load:store.py": "abstract",
        "Store.get:store.py": "stub",
        "Store.decode:store.py": "stub",
        "Store.keys:store.py": None,
        "load:store.pyi": "stub",
        "N:n.go": "generated",
        "Shape:S.java": None,
        "Shape.area:S.java": "abstract",
    }
    records, removed = code_summary(units, HeuristicGenerator(), BuildConfig())
    assert {r["meta"]["name"] for r in records} == {"Store.keys"}
    methods = "".join(
        f'    def method_{i}(self, value: int) -> int:\n        """Add {i} to the value."""\n'
        + "        total = value\n" * 40
        + f"        return total + {i}\n\n"
        for i in range(14)
    )
    big = code_units_of(
        'class Big(Base):\n    """Keeps a running total for the ledger."""\n\n' + methods, "python", "big.py"
    )
    assert len(big[0]["text"]) > 12000
    records, _ = code_summary(big, HeuristicGenerator(), BuildConfig())
    write = next(r for r in records if r["meta"]["name"] == "Big" and r["meta"]["direction"] == "summary_to_code")
    code = write["messages"][2]["content"]
    assert write["messages"][1]["content"].startswith("Write the outline (signature, doc comment, method signatures)")
    assert "Keeps a running total for the ledger." in write["messages"][1]["content"]
    assert "def method_13(self, value: int) -> int:" in code and '"""Add 13 to the value."""' in code
    assert "total = value" not in code and len(code) < 2000
    doc = code_units_of(
        'def g():\n    """Return one, the answer to everything here.\n\n    ```python\n    g()\n    ```\n    """\n    return 1\n',
        "python",
        "g.py",
    )
    records, _ = code_summary(doc, HeuristicGenerator(), BuildConfig())
    shown = next(r for r in records if r["meta"]["direction"] == "summary_to_code")["messages"][2]["content"]
    assert shown.startswith("````python\n") and shown.endswith("\n````"), "a fence the docstring's ``` cannot close"


def test_summaries_cut_short_or_only_saying_when_make_no_record():
    """A doc comment that stops mid-sentence or only says when the code runs waits for a model generator."""
    src = textwrap.dedent(
        """
        class Acme {
            /** Add another item to the joiner, which will be */
            public Acme add(Object item) { items.add(item); return this; }

            // hit when the node is first seen
            public void head(Node node, int depth) { depth++; }

            /** Merge two evaluators into one that matches when both match. */
            public Acme and(Acme other) { return new Acme(this, other); }
        }
        """
    )
    units = [u for u in code_units_of(src, "java", "src/Acme.java") if u["kind"] == "method"]
    records, removed = code_summary(units, HeuristicGenerator(GeneratorConfig()), BuildConfig())
    assert {r["meta"]["name"] for r in records} == {"Acme.and"}
    assert {r["record"]["meta"]["name"] for r in removed if r["reason"] == "needs_model_generator"} == {
        "Acme.add",
        "Acme.head",
    }


def test_a_class_with_no_body_beyond_its_docstring_is_a_stub():
    """`class AcmeError(Exception): \"\"\"…\"\"\"` shows only its declaration once the docstring is taken out."""
    src = textwrap.dedent(
        '''
        class AcmeError(Exception):
            """Acme could not rewind the request body before a retry."""


        class AcmeClient:
            """Sends requests to the Acme service and retries failed ones."""

            retries = 3
        '''
    )
    by_name = {u["name"]: u for u in code_units_of(src, "python", "acme/errors.py")}
    assert skip_reason(by_name["AcmeError"]) == "stub"
    assert skip_reason(by_name["AcmeClient"]) is None
    java = "class Acme {\n    /** How output is written. */\n    enum Syntax {html, xml}\n\n    /** Nothing. */\n    static class Empty {}\n}\n"
    by_name = {u["name"]: u for u in code_units_of(java, "java", "src/Acme.java")}
    assert skip_reason(by_name["Acme.Syntax"]) is None  # one line, but it declares members
    assert skip_reason(by_name["Acme.Empty"]) == "stub"


def test_code_its_doc_comment_says_was_copied_from_elsewhere_is_vendored():
    """Another project's code adapted in is not the repository's own: no record, counted as `vendored`."""
    src = textwrap.dedent(
        """
        package acme

        // jaroDistance measures how alike two strings are, from 0 to 1.
        //
        // Adapted from https://github.com/acme/metrics/blob/main/jaro.go.
        func jaroDistance(a, b string) float64 {
        \treturn 0
        }

        // contextKey is a key for context values. This technique
        // was copied from the standard library's own use of context.
        type contextKey struct {
        \tname string
        }
        """
    )
    by_name = {u["name"]: u for u in code_units_of(src, "go", "acme/suggest.go")}
    assert skip_reason(by_name["jaroDistance"]) == "vendored"
    linked = {
        **by_name["jaroDistance"],
        "docstring": "Date parsing code from Acme https://github.com/acme/x/blob/v2/D.java",
    }
    assert skip_reason(linked) == "vendored"
    assert skip_reason(by_name["contextKey"]) is None
