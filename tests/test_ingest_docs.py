"""Document sections along the heading hierarchy: Markdown, reStructuredText, HTML, text, DOCX and PDF."""

from __future__ import annotations

from pathlib import Path

from corpus_ft.ingest import docs, ingest_repo

DOCS = Path(__file__).parent / "fixtures" / "ingest" / "repo" / "docs"


def by_name(units: list[dict]) -> dict[str, dict]:
    return {u["name"]: u for u in units}


def test_markdown_atx_setext_fences_and_front_matter():
    units = docs.markdown_sections((DOCS / "guide.md").read_text(), "guide.md")
    got = [(u["name"], u["heading_path"], u["start_line"], u["end_line"]) for u in units]
    assert got == [
        ("guide.md", [], 1, 6),                                             # front matter + intro
        ("Operator guide", ["Operator guide"], 8, 10),
        ("Install", ["Operator guide", "Install"], 12, 23),                 # '#' lines in fences stay inside
        ("Configuration", ["Operator guide", "Configuration"], 25, 28),     # setext level 2
        ("Ports", ["Operator guide", "Configuration", "Ports"], 30, 32),    # closing #s stripped
        ("Troubleshooting", ["Troubleshooting"], 34, 39),                   # setext level 1
        ("Last words", ["Troubleshooting", "Last words"], 42, 44),          # empty section dropped
    ]
    install = by_name(units)["Install"]["text"]
    assert "# this is a shell comment, not a heading" in install and "## not a heading either" in install
    assert "an indented code line" in by_name(units)["Troubleshooting"]["text"]


def test_rst_titles_take_their_level_from_adornment_order():
    units = docs.rst_sections((DOCS / "runbook.rst").read_text(), "runbook.rst")
    got = [(u["name"], u["heading_path"]) for u in units]
    assert got == [("Runbook", ["Runbook"]), ("Restarting", ["Runbook", "Restarting"]),
                   ("Graceful restart", ["Runbook", "Restarting", "Graceful restart"]),
                   ("Hard restart", ["Runbook", "Restarting", "Hard restart"]),
                   ("Escalation", ["Runbook", "Escalation"])]
    assert "# not a title" in by_name(units)["Graceful restart"]["text"]


def test_html_readable_text_without_tags_script_or_style():
    units = docs.html_sections((DOCS / "api.html").read_text(), "api.html")
    got = [(u["name"], u["heading_path"], u["start_line"]) for u in units]
    assert got == [("Widget API", ["Widget API"], 9), ("Authentication", ["Widget API", "Authentication"], 11),
                   ("Scopes", ["Widget API", "Authentication", "Scopes"], 14), ("Errors", ["Widget API", "Errors"], 19)]
    text = "\n".join(u["text"] for u in units)
    assert "lets you create and list widgets" in text
    assert "<" not in text and "secret" not in text and "console.log" not in text and "color: red" not in text
    assert "widgets:read" in by_name(units)["Scopes"]["text"] and "404 not found" in by_name(units)["Errors"]["text"]


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
    assert [(r["start_line"], r["text"]) for r in pages] == [(1, "Quarterly close checklist"),
                                                              (2, "Reconcile suspense accounts")]
    assert report["files_by_language"] == {"docx": 1, "pdf": 1}
