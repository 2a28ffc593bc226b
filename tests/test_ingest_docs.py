"""Document sections along the heading hierarchy: Markdown, reStructuredText, HTML, text, DOCX and PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus_ft.bench.docs import aligned_lines
from corpus_ft.datasets.quality import markup_residue
from corpus_ft.ingest import docs, ingest_repo

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path(__file__).parent / "fixtures" / "ingest" / "repo" / "docs"
FIXTURES = Path(__file__).parent / "fixtures" / "docs"


def by_name(units: list[dict]) -> dict[str, dict]:
    return {u["name"]: u for u in units}


def test_markdown_atx_setext_fences_and_front_matter():
    warnings: list = []
    units = docs.markdown_sections((DOCS / "guide.md").read_text(), "guide.md", 1, warnings)
    got = [(u["name"], u["heading_path"], u["start_line"], u["end_line"]) for u in units]
    assert got == [
        ("Operator guide", [], 6, 6),  # intro; front matter title names it
        ("Operator guide", ["Operator guide"], 8, 10),
        ("Install", ["Operator guide", "Install"], 12, 23),  # '#' lines in fences stay inside
        ("Configuration", ["Operator guide", "Configuration"], 25, 28),  # setext level 2
        ("Ports", ["Operator guide", "Configuration", "Ports"], 30, 32),  # closing #s stripped
        ("Troubleshooting", ["Troubleshooting"], 34, 39),  # setext level 1
        ("Last words", ["Troubleshooting", "Last words"], 42, 44),  # empty section dropped
    ]
    assert warnings == []
    text = by_name(units)
    assert "owner: platform" not in units[0]["text"], "front matter is metadata, not text"
    assert "# this is a shell comment, not a heading" in text["Install"]["text"]
    assert "## not a heading either" in text["Install"]["text"]
    assert text["Configuration"]["text"].startswith("## Configuration\n") and "---" not in text["Configuration"]["text"]
    assert text["Ports"]["text"].startswith("### Ports\n"), "closing #s are gone"
    assert "```\n# an indented code line is not a heading\n```" in text["Troubleshooting"]["text"]


def test_rst_titles_take_their_level_from_adornment_order():
    units = docs.rst_sections((DOCS / "runbook.rst").read_text(), "runbook.rst")
    got = [(u["name"], u["heading_path"], u["start_line"], u["end_line"]) for u in units]
    assert got == [
        ("Runbook", ["Runbook"], 1, 5),
        ("Restarting", ["Runbook", "Restarting"], 7, 10),
        ("Graceful restart", ["Runbook", "Restarting", "Graceful restart"], 12, 19),
        ("Hard restart", ["Runbook", "Restarting", "Hard restart"], 21, 24),
        ("Escalation", ["Runbook", "Escalation"], 26, 29),
    ]
    graceful = by_name(units)["Graceful restart"]["text"]
    assert "Drain first:\n```\nacme drain --wait\n# not a title\n----------\n```" in graceful
    assert "====" not in by_name(units)["Restarting"]["text"]
    assert "`systemctl restart acme`" in by_name(units)["Restarting"]["text"], "``literal`` becomes `literal`"


def test_sphinx_roles_and_directives_become_clean_text():
    warnings: list = []
    units = docs.rst_sections((FIXTURES / "sphinx.rst").read_text(), "sphinx.rst", 1, warnings)
    assert [(u["name"], u["start_line"], u["end_line"]) for u in units] == [
        ("API", 3, 18),
        ("Application object", 20, 38),
        ("Configuration", 40, 61),
    ]
    text = by_name(units)
    assert "covers `post` and the\n`ledger.Ledger` class. See the quickstart and\nconfig first." in text["API"]["text"]
    assert "maxdepth" not in text["API"]["text"] and "CHANGES" not in text["API"]["text"], "toctree/include dropped"
    app = text["Application object"]["text"]
    assert "`Ledger`" in app and "members" not in app, "autoclass keeps its target as a label, not its options"
    assert "`post(entry, *, dry_run=False)`\n\nPost an entry to the ledger and return its id." in app
    assert "Added in version 2.0." in app and "Changed in version 2.1: `dry_run` checks the entry" in app
    assert "Note: Posting is idempotent per entry id." in app
    config = text["Configuration"]["text"]
    assert "Key | Default | Meaning\n--- | --- | ---\n`TZ` | UTC | Time zone of value dates." in config
    assert '```python\nledger = Ledger(tz="UTC")\nledger.post(entry)\n```' in config
    assert "Linux\n\nInstall the `ledger` package" in config
    for u in units:
        assert not markup_residue(u["text"]), u["text"]
    assert warnings == [
        {
            "kind": "unknown_directive",
            "line": 59,
            "message": "directive `.. ledger-diagram::` is not known; its content was kept as text",
        }
    ]


def test_myst_markdown_roles_directives_and_front_matter():
    warnings: list = []
    units = docs.markdown_sections((FIXTURES / "myst.md").read_text(), "myst.md", 1, warnings)
    assert [(u["name"], u["heading_path"], u["start_line"], u["end_line"]) for u in units] == [
        ("Ledger guide", ["Ledger guide"], 7, 18),
        ("Install", ["Ledger guide", "Install"], 20, 44),
    ]
    guide, install = units[0]["text"], units[1]["text"]
    assert "The ledger keeps entries and answers `post`\ncalls. See the API for details.\n" in guide
    assert "Note: Entries are never deleted." in guide and "toctree" not in guide and "editor note" not in guide
    assert "2. Run the installer:\n\n   ```bash\n   ./install.sh --prefix /opt/ledger\n   ```" in install
    assert "Setting | Default\n--- | ---\n`port` | 8080" in install
    assert "```python\nledger.post(entry)\n```" in install and "caption" not in install
    assert (
        "`ledger.post`: API reference generated from its docstrings (autodoc).\n\nPosts an entry; see posting."
        in install
    ), "eval-rst content is read as reST"
    for u in units:
        assert not markup_residue(u["text"]), u["text"]
    assert warnings == []


def test_mkdocs_badges_link_rows_pymdownx_blocks_and_code_directives():
    """Badges and rows of links are not prose; `/// tip | Title` blocks read like admonitions, tabs as
    their content; an unknown directive holding a program (`.. click:example::`) is a code block."""
    warnings: list = []
    units = by_name(docs.markdown_sections((FIXTURES / "mkdocs.md").read_text(), "mkdocs.md", 1, warnings))
    assert list(units) == ["Ledger CLI", "Beancount", "Arguments", "Groups", "Install", "Sponsors"]
    intro, beancount, args, groups, install, sponsors = (units[n]["text"] for n in units)
    assert "```bash\npip install ledger\n```\n\n\n```bash\nuv add ledger\n```" in install and '"pip"' not in install
    assert install.endswith("- `colorama` — colored output.\n\n  Installed only on Windows.")
    assert "```" not in sponsors and "<" not in sponsors and "Gold & Silver" in sponsors
    assert "Acme Corp keeps the ledger running." in sponsors and "BSD licensed code. Made with care." in sponsors
    assert "badge" not in intro and "shields" not in intro and "actions" not in intro
    assert "GitHub" not in beancount and "Documentation" not in beancount and "PyPI" not in beancount
    assert beancount.split("\n")[-1] == "Imports beancount journals into the ledger, one entry per transaction."
    assert "Tip: Quote values with spaces\n\nPass a single value" in args
    assert "Note: Prefer the `Annotated` form" in args and "Python 3.9+" not in args and "tab" not in args
    assert "```Python\ndef post(" in args and "Why integers?\n\n\nCents as integers never round." in args
    assert "open: True" not in args and "```\n/// this line is code, not a block\n```" in args
    assert '```python\nimport click\n\n@click.group()\n@click.option("--home"' in groups
    assert "    ctx.obj = Ledger(home)\n```\n\nThe group creates" in groups
    assert "Subcommands read the state from the context" in groups, "an unknown directive of prose stays prose"
    for u in units.values():
        assert not markup_residue(u["text"]), u["text"]
    assert [w["kind"] for w in warnings] == ["unknown_directive"] and "ledger:aside" in warnings[0]["message"]


def test_rst_link_rows_and_code_directives():
    text = (
        "Ledger\n======\n\n`GitHub <https://github.com/acme/ledger>`_ | `Docs <https://ledger.example.org>`_\n\n"
        ".. image:: https://img.shields.io/pypi/v/ledger.svg\n   :target: https://pypi.org/project/ledger\n\n"
        "Read `the guide <https://ledger.example.org>`_ first.\n\n.. click:example::\n\n"
        "    @click.command()\n    def hello():\n        click.echo('Hello')\n"
    )
    (unit,) = docs.rst_sections(text, "ledger.rst")
    assert "GitHub" not in unit["text"] and "Docs" not in unit["text"] and "Read the guide first." in unit["text"]
    assert unit["text"].endswith("```python\n@click.command()\ndef hello():\n    click.echo('Hello')\n```")
    assert len(unit["text"].split("\n")) == len(text.rstrip("\n").split("\n")) + 1, "the fence closes below the code"


@pytest.mark.parametrize(
    "text, language",
    [
        ("import os\n\ndef main():\n    return os.getcwd()\n", "python"),
        ("@click.command()\ndef hello():\n    pass\n", "python"),
        ("$ ledger post 10\n$ ledger list\n", ""),
        ("int main() {\n  return 0;\n}\n", ""),
        ("This directive holds a sentence of prose.\n", None),
        ("Ledger\n", None),
        ("Entries are kept forever.\nNothing is deleted, ever.\n", None),
    ],
)
def test_looks_like_code(text, language):
    assert docs.looks_like_code(text) == language


@pytest.mark.parametrize(
    "path",
    [
        DOCS / "guide.md",
        DOCS / "runbook.rst",
        FIXTURES / "sphinx.rst",
        FIXTURES / "myst.md",
        FIXTURES / "mkdocs.md",
        *sorted((ROOT / "sample_corpus" / "docs").rglob("*.md")),
        *sorted((ROOT / "sample_corpus" / "docs").rglob("*.rst")),
    ],
    ids=lambda p: p.name,
)
def test_section_text_sits_on_its_source_lines(path):
    """Every prose line of a section's clean text is on the source line it came from."""
    reader = docs.rst_sections if path.suffix == ".rst" else docs.markdown_sections
    source = path.read_text().split("\n")
    total = 0
    for u in reader(path.read_text(), path.name):
        assert u["start_line"] >= 1 and u["start_line"] <= u["end_line"] <= len(source)
        checked, aligned = aligned_lines(u["text"], u["start_line"], source)
        assert checked == aligned, (
            f"{path.name}: {checked - aligned} prose lines of {u['name']!r} off their source line"
        )
        total += checked
    assert total > 3


def test_html_readable_text_without_tags_script_or_style():
    units = docs.html_sections((DOCS / "api.html").read_text(), "api.html")
    got = [(u["name"], u["heading_path"], u["start_line"]) for u in units]
    assert got == [
        ("Widget API", ["Widget API"], 9),
        ("Authentication", ["Widget API", "Authentication"], 11),
        ("Scopes", ["Widget API", "Authentication", "Scopes"], 14),
        ("Errors", ["Widget API", "Errors"], 19),
    ]
    text = "\n".join(u["text"] for u in units)
    assert "lets you create and list widgets" in text
    assert "<" not in text and "secret" not in text and "console.log" not in text and "color: red" not in text
    assert "widgets:read" in by_name(units)["Scopes"]["text"] and "404 | not found" in by_name(units)["Errors"]["text"]


def test_plain_text_is_one_section():
    [unit] = docs.text_sections((DOCS / "notes.txt").read_text(), "notes.txt")
    assert unit["name"] == "notes.txt" and (unit["start_line"], unit["end_line"]) == (1, 4)


def test_docx_and_pdf_are_read(tmp_path):
    import docx
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    document = docx.Document()
    document.add_heading("Settlement handbook", level=1)
    document.add_paragraph("How settlement files flow.")
    document.add_heading("Cut-off times", level=2)
    document.add_paragraph("Files after 18:00 go to the next business day.")
    document.save(tmp_path / "handbook.docx")
    with PdfPages(tmp_path / "slides.pdf") as pdf:
        for page in ("Quarterly close checklist", "Reconcile suspense accounts"):
            fig = plt.figure()
            fig.text(0.1, 0.5, page)
            pdf.savefig(fig)
            plt.close(fig)

    report = ingest_repo(tmp_path, tmp_path / "run", workers=1, exclude=["run/"])
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "run" / "units.parquet").to_pylist()
    word = {r["name"]: r for r in rows if r["path"] == "handbook.docx"}
    assert word["Cut-off times"]["heading_path"] == ["Settlement handbook", "Cut-off times"]
    assert "18:00" in word["Cut-off times"]["text"]
    pages = [r for r in rows if r["path"] == "slides.pdf"]
    assert [(r["start_line"], r["text"]) for r in pages] == [
        (1, "Quarterly close checklist"),
        (2, "Reconcile suspense accounts"),
    ]
    assert report["files_by_language"] == {"docx": 1, "pdf": 1}


def test_chunks_point_at_their_exact_source_lines(tmp_path):
    """A chunk's first and last lines are on the source lines its span names (what the review page shows)."""
    import shutil

    from corpus_ft.datasets import load_units
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "sample_corpus" / "docs", repo / "docs")
    shutil.copytree(FIXTURES, repo / "fixtures")
    ingest_repo(repo, tmp_path / "run", workers=1)
    units = [u for u in load_units(tmp_path / "run") if u["language"] in ("markdown", "rst")]
    chunks = chunk_units(units, make_splitter(300, 30, None))
    assert len(chunks) > len(units), "the small chunk size cuts sections into several chunks"
    words = re.compile(r"[^\W\d_]{3,}")
    checked = 0
    for c in chunks:
        source = (repo / c["path"]).read_text().split("\n")
        lines = [line for line in c["text"].split("\n") if line.strip()]
        for line, at in ((lines[0], c["start_line"]), (lines[-1], c["end_line"])):
            if (
                not words.search(line)
                or line.lstrip().startswith(("```", "Note:", "Added in", "Changed in"))
                or "|" in line
            ):
                continue
            shown = source[at - 1]
            if at == c["start_line"] and re.fullmatch(r"([=~^*+#-])\1{2,}", shown.strip()):
                shown = source[at]  # a heading's span starts at its overline
            assert set(words.findall(line.lower())) & set(words.findall(shown.lower())), (
                f"{c['path']}:{at}: chunk line {line!r} but the source has {shown!r}"
            )
            checked += 1
    assert checked > 100


def test_a_txt_file_written_in_rst_is_read_as_rst():
    text = "Settlement\n==========\n\nSee :doc:`ops` and :func:`~ledger.post`.\n\n.. note::\n\n   Runs nightly.\n"
    assert docs.looks_like_rst(text) and not docs.looks_like_rst((DOCS / "notes.txt").read_text())
    from corpus_ft.ingest.parse import parse_file

    path = Path(__file__).parent / "fixtures" / "docs" / "sphinx.rst"
    result = parse_file(
        str(path), "text", {"max_line_length": 5000, "read_pdf": True, "read_docx": True, "min_section_chars": 1}
    )
    assert [u["name"] for u in result["units"]] == ["API", "Application object", "Configuration"]
    assert not any(markup_residue(u["text"]) for u in result["units"])


def test_a_chunk_never_starts_halfway_through_a_list_item():
    from corpus_ft.datasets.chunk import chunk_units, make_splitter

    text = "Extras:\n\n- `colorama`: colors.\n\n  Installed on Windows.\n\n  ```bash\n  pip install colorama\n  ```\n\nDone."
    (unit,) = docs.markdown_sections(text, "extras.md", 1, [])
    assert [(b["type"], b["start_line"], b["end_line"]) for b in unit["blocks"]] == [
        ("paragraph", 1, 1),
        ("list_item", 3, 9),
        ("paragraph", 11, 11),
    ]
    unit.update(id="u", path="extras.md", language="markdown")
    chunks = chunk_units([unit], make_splitter(30, 0, None))
    assert [(c["start_line"], c["end_line"]) for c in chunks] == [(1, 1), (3, 9), (11, 11)]


def test_urls_are_not_words_of_prose():
    from corpus_ft.datasets.chunk import prose_words

    def para(text: str) -> list[dict]:
        return [{"type": "paragraph", "text": text}]

    assert prose_words(para("https://github.com/acme/ledger/actions <https://pypi.org/project/ledger>")) == 0
    assert prose_words(para("Read https://ledger.example.org/guide first")) == 2
    assert prose_words([{"type": "code", "text": "read the guide first"}, *para("Read it")]) == 2


def test_rst_escapes_in_a_directive_argument_are_read():
    text = "API\n===\n\n.. method:: call(callable, \\*args, \\**kwargs)\n\n    Call the callable.\n"
    (unit,) = docs.rst_sections(text, "api.rst")
    assert "`call(callable, *args, **kwargs)`\n\nCall the callable." in unit["text"] and "\\" not in unit["text"]


def test_markdown_leaves_no_empty_bullets_css_or_doc_includes():
    """Link-only list items vanish whole (no `- ` left), <style> blocks are not text, and the
    `{* docs_src/app.py hl[3] *}` include of FastAPI/Typer docs is not prose."""
    from corpus_ft.ingest import markdown

    text = (
        "<style>\n.md-typeset h1 { display: none; }\n</style>\n\n# Title\n\n"
        "Intro text is here for the page and it is long enough.\n\n"
        "- [GitHub](https://github.com/x/y)\n- Real item with words.\n- [Docs](https://x.org)\n\n"
        "{* docs_src/app/tutorial001.py hl[3] *}\n\nSome more prose after the include.\n"
    )
    (unit,) = markdown.sections(text, "x.md", 0, [])
    assert not re.search(r"^\s*[-*]\s*$", unit["text"], re.M), unit["text"]
    assert "- Real item with words." in unit["text"]
    assert "display" not in unit["text"] and "{*" not in unit["text"] and "Some more prose" in unit["text"]


def _blocks_on_their_lines(path: Path, units: list[dict]) -> int:
    """Every block's words lie in its own source span; returns how many blocks were checked."""
    source = path.read_text().split("\n")
    checked = 0
    for u in units:
        for b in u["blocks"]:
            inside = b["type"] == "front_matter" or u["start_line"] <= b["start_line"]  # front matter: above the unit
            assert inside and 1 <= b["start_line"] <= b["end_line"] <= len(source), (path.name, b)
            span = "\n".join(source[b["start_line"] - 1 : b["end_line"]])
            words = re.findall(r"[A-Za-z]{4,}", b["name"] if b["type"] in ("label", "autodoc") else b["text"])
            words = words[1:] if b["type"] == "admonition" else words  # its lead word (`Note:`) is rendered
            assert all(w in span for w in words), f"{path.name}:{b['start_line']}-{b['end_line']} {b}"
            assert source[b["end_line"] - 1].strip(), f"{path.name}: a block ends on a blank line: {b}"
            checked += 1
    return checked


def test_document_units_hold_typed_blocks_with_exact_spans():
    """Markdown, MyST, mkdocs, reST/Sphinx and HTML units keep their blocks as parsed, each on its own lines."""
    readers = {".md": docs.markdown_sections, ".rst": docs.rst_sections}
    checked = 0
    for path in [*FIXTURES.iterdir(), *DOCS.iterdir()]:
        if path.suffix in readers:
            checked += _blocks_on_their_lines(path, readers[path.suffix](path.read_text(), path.name, 1, []))
        elif path.suffix in (".html", ".txt"):
            reader = docs.html_sections if path.suffix == ".html" else docs.text_sections
            checked += _blocks_on_their_lines(path, reader(path.read_text(), path.name))
    assert checked > 60

    units = docs.rst_sections((FIXTURES / "sphinx.rst").read_text(), "sphinx.rst", 1, [])
    blocks = [b for u in units for b in u["blocks"]]
    got = {(b["type"], b["name"] or b["lang"] or b["text"][:12]) for b in blocks}
    assert {("autodoc", "Ledger"), ("label", "post"), ("code", "python"), ("table", "Key | Defaul")} <= got
    table = next(b for b in blocks if b["type"] == "table")
    assert table["text"].startswith("Key | Default | Meaning\n--- | --- | ---")
    code = next(b for b in blocks if b["type"] == "code" and b["lang"] == "python")
    assert code["text"] == 'ledger = Ledger(tz="UTC")\nledger.post(entry)', "a code block holds its code, no fence"
    autodoc = next(u for u in units if any(b["type"] == "autodoc" for b in u["blocks"]))
    assert "`Ledger`: API reference generated from its docstrings (autodoc)." in autodoc["text"]

    md = docs.markdown_sections((FIXTURES / "myst.md").read_text(), "myst.md", 1, [])
    first = md[0]["blocks"]
    assert first[0]["type"] == "front_matter" and first[0]["name"] == "title"
    assert [b["type"] for b in first[1:3]] == ["heading", "paragraph"] and first[1]["level"] == 1
    items = [b for u in md for b in u["blocks"] if b["type"] == "list_item"]
    assert any("```bash" in b["text"] and "./install.sh" in b["text"] for b in items), "items keep their code"


def test_a_unit_text_is_its_blocks_rendered():
    """Later stages read `text`; it is the blocks, rendered once (code in a fence naming its language)."""
    from corpus_ft.ingest.docs import render_block

    for u in docs.markdown_sections((FIXTURES / "mkdocs.md").read_text(), "mkdocs.md", 1, []):
        rendered = [render_block(b) for b in u["blocks"] if b["type"] not in ("heading", "front_matter")]
        body = re.sub(r"\n{2,}", "\n", u["text"]).strip()
        for piece in rendered:
            assert re.sub(r"\n{2,}", "\n", piece).strip() in body


def test_default_role_links_leave_no_residue():
    """`name <target>` under Sphinx's default role is its name, never the reST link syntax."""
    text = "Hooks\n=====\n\nUse `post_dump <ledger.decorators.post_dump>` or `~ledger.Ledger` or `Entry`.\n"
    (unit,) = docs.rst_sections(text, "hooks.rst", 1, [])
    assert "Use post_dump or `Ledger` or `Entry`." in unit["text"] and "<" not in unit["text"]


def test_sphinx_roles_and_directives_are_known_only_while_parsing():
    """docutils is process-wide: after a parse its directive and role lookup are docutils' own again."""
    from docutils.parsers.rst import directives, roles

    before = directives.directive, roles.role
    docs.rst_sections((FIXTURES / "sphinx.rst").read_text(), "sphinx.rst", 1, [])
    assert (directives.directive, roles.role) == before
    from docutils.core import publish_doctree
    from docutils.nodes import system_message

    plain = publish_doctree(".. autoclass:: Ledger\n", settings_overrides={"report_level": 5})
    assert any("Unknown directive" in m.astext() for m in plain.findall(system_message)), "unknown outside a parse"


def test_templates_of_any_engine_and_build_metadata_are_never_documents(tmp_path):
    """An EJS or Handlebars page saved as .html and a `git archive` metadata file are not docs."""
    import pyarrow.parquet as pq

    repo = tmp_path / "repo"
    (repo / "views").mkdir(parents=True)
    (repo / "views" / "users.html").write_text(
        "<h1>Users</h1>\n<ul>\n<% users.forEach(function(u){ %>\n<li><%= u.name %></li>\n<% }) %>\n</ul>\n"
    )
    (repo / "views" / "user.html").write_text("<p>{{user.name}}</p>\n")
    (repo / ".git_archival.txt").write_text(
        "node: c1dc5dcb\nnode-date: 2026-08-07T07:35:45+02:00\ndescribe-name: 26.1.0-70\n"
    )
    (repo / "guide.html").write_text("<h1>Guide</h1>\n<p>Users are listed by name on the users page.</p>\n")
    ingest_repo(repo, tmp_path / "run", workers=1)
    rows = pq.read_table(tmp_path / "run" / "units.parquet", columns=["path", "category"]).to_pylist()
    category = {r["path"]: r["category"] for r in rows}
    assert category == {
        "views/users.html": "template",
        "views/user.html": "template",
        ".git_archival.txt": "build",
        "guide.html": "docs",
    }


def test_a_markdown_file_is_parsed_once_nested_containers_included():
    """Nested MyST and pymdownx containers are parsed in the file's own run, never parsed again."""
    from corpus_ft.ingest import markdown

    text = (
        "# Guide\n\n//// tab | Linux\n\n/// tip | Fast\n\nUse the **cache**.\n\n:::{note}\nInner note.\n:::\n\n///\n\n"
        "////\n\n:::{warning}\nKeep the key.\n:::\n"
    )
    md = markdown.parser()
    calls = []
    original = md.parse
    md.parse = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        (unit,) = docs.markdown_sections(text, "guide.md", 1, [])
    finally:
        del md.parse
    assert len(calls) == 1
    assert "Tip: Fast" in unit["text"] and "Use the cache." in unit["text"] and "Note: Inner note." in unit["text"]
    assert [b["type"] for b in unit["blocks"]] == ["heading", "admonition", "paragraph", "admonition", "admonition"]


def test_a_document_the_parser_rejects_is_plain_text_blocks_never_lost(tmp_path):
    """docutils gives up on nesting this deep: the file is reported and kept as plain-text paragraphs."""
    import pyarrow.parquet as pq

    repo = tmp_path / "repo"
    repo.mkdir()
    deep = "".join("  " * i + "- level\n\n" for i in range(400))
    (repo / "deep.rst").write_text(f"Deep\n====\n\nThe nesting below is too deep for docutils.\n\n{deep}")
    report = ingest_repo(repo, tmp_path / "run", workers=1)
    assert [w["kind"] for w in report["warnings"]] == ["parse_degraded"]
    (unit,) = pq.read_table(tmp_path / "run" / "units.parquet").to_pylist()
    assert unit["blocks"][:2] == [
        {"type": "paragraph", "text": "Deep", "start_line": 1, "end_line": 1, "lang": "", "name": "", "level": 0},
        {
            "type": "paragraph",
            "text": "The nesting below is too deep for docutils.",
            "start_line": 4,
            "end_line": 4,
            "lang": "",
            "name": "",
            "level": 0,
        },
    ]
    assert len(unit["blocks"]) == 402 and unit["blocks"][-1]["start_line"] == 6 + 2 * 399


def test_blocks_are_redacted_like_the_text_chunks_are_packed_from():
    """Chunks are packed from a unit's blocks, so a secret redacted in `text` is redacted in its blocks too."""
    from collections import Counter

    from corpus_ft.redact import redact_unit

    text = '# Keys\n\nWrite to ops@acme-ledger.io first.\n\n```python\naws_key = "AKIAIOSFODNN7EXAMPLE"\n```\n'
    (unit,) = docs.markdown_sections(text, "keys.md", 1, [])
    unit.update(path="keys.md", language="markdown")
    shown = "\n".join(b["text"] for b in redact_unit(unit, Counter())["blocks"])
    assert "AKIAIOSFODNN7EXAMPLE" not in shown and "ops@acme-ledger.io" not in shown
    assert "[REDACTED_AWS_ACCESS_KEY]" in shown and "[REDACTED_EMAIL]" in shown
