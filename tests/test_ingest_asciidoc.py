"""AsciiDoc pages (`.adoc`): rewritten line for line as Markdown, then read by the Markdown reader."""

from __future__ import annotations

import pytest

from corpus_ft.ingest import asciidoc, docs, ingest_repo
from corpus_ft.ingest.walk import language_for

README = """\
= Acme JWT
:toc: left
:project-version: 2.4.1
:doctype: book

// a comment a reader never sees
Acme JWT signs and verifies JSON Web Tokens on the JVM. Version {project-version} needs Java 8.

[[install]]
== Installation

Add the dependency to your build, as the link:https://acme.example/docs[user guide] shows:

[source,xml]
----
<dependency>
  <artifactId>acme-jwt</artifactId>
</dependency>
----

NOTE: The API module is all you compile against; the implementation is a runtime dependency.

=== Signing a token

. Create a key with `Keys.secretKeyFor`.
. Call `Jwts.builder()` and set the claims.
* Compact it with `compact()`, see <<install,Installation>>.

.Supported algorithms
|===
|Name |Key size
|HS256 |256 bits
|===

////
A comment block
that spans lines.
////
Tokens are compared in constant time (+equals+ is never used).
"""


def test_asciidoc_keeps_every_line_where_it_was():
    markdown = asciidoc.to_markdown(README)
    assert len(markdown.split("\n")) == len(README.split("\n"))
    lines = markdown.split("\n")
    assert lines[0] == "# Acme JWT" and lines[9] == "## Installation"
    assert lines[1:4] == ["", "", ""]  # document attributes carry no text
    assert lines[6] == "Acme JWT signs and verifies JSON Web Tokens on the JVM. Version 2.4.1 needs Java 8."


def test_an_asciidoc_readme_reads_as_headings_prose_code_and_lists():
    warnings: list = []
    units = docs.asciidoc_sections(README, "README.adoc", 1, warnings)
    assert warnings == []
    found = [(b["type"], b["text"]) for u in units for b in u["blocks"]]
    assert ("heading", "Installation") in found and ("heading", "Signing a token") in found
    code = [b for u in units for b in u["blocks"] if b["type"] == "code"]
    assert [b["lang"] for b in code] == ["xml"] and "<artifactId>acme-jwt</artifactId>" in code[0]["text"]
    assert code[0]["start_line"] == 15  # the fence is where the ---- was
    text = "\n".join(u["text"] for u in units)
    assert "Note: The API module is all you compile against" in text
    assert "user guide" in text and "Installation" in text and "HS256 256 bits" in text
    assert "`equals`" in text  # +literal+ is inline code
    for residue in (":toc:", "[[install]]", "[source", "----", "|===", "////", "<<", "link:", "a comment"):
        assert residue not in text, residue


@pytest.mark.parametrize(
    ("source", "markdown"),
    [
        (
            "See https://acme.example[the site] and xref:setup.adoc[Setup].",
            "See [the site](https://acme.example) and Setup.",
        ),
        ("** nested item", "  - nested item"),
        ("....\nliteral *text*\n....", "```\nliteral *text*\n```"),
        ("++++\n<div>raw</div>\n++++\nAfter.", "\n\n\nAfter."),
        ("[source,java]\n----\nint a;", "\n```java\nint a;"),  # an unclosed listing runs to the end
        ("TIP: Keep keys out of code.", "Tip: Keep keys out of code."),
    ],
)
def test_asciidoc_rewrites_its_markup_as_markdown(source, markdown):
    assert asciidoc.to_markdown(source) == markdown


def test_adoc_files_are_ingested_as_markdown_documents(tmp_path):
    from corpus_ft.datasets import load_units

    assert language_for("README.adoc") == language_for("docs/guide.asciidoc") == "asciidoc"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.adoc").write_text(README)
    report = ingest_repo(repo, tmp_path / "run", workers=1)
    assert report["files_ingested"] == 1 and report["skipped_by_reason"] == {}
    units = load_units(tmp_path / "run")
    assert {u["language"] for u in units} == {"markdown"}
    assert "Installation" in [u["name"] for u in units]
