"""MDX pages (Markdown with JSX: Docusaurus, Nextra, Starlight) read as Markdown, and the admonition
syntaxes docs sites write (`:::tip Title`, GitHub's `> [!NOTE]`) read as plain prose in any Markdown."""

from __future__ import annotations

import pytest

from corpus_ft.datasets.measure import link_residue
from corpus_ft.ingest import docs, ingest_repo, mdx
from corpus_ft.ingest.walk import language_for

DOCUSAURUS = """\
---
title: Installation
description: How to install Acme in a project.
sidebar_label: Install
---

import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import {
  Example,
  Stackblitz,
} from '../components';
export const meta = {
  owner: 'docs',
};

{/* A note for the authors only */}

# Installation {#install}

Acme installs with any package manager.{' '}It needs Node 18.

<Tabs groupId="pm">
  <TabItem value="npm" label="npm" default>

    ```bash
    npm install acme
    ```

  </TabItem>
  <TabItem value="yarn" label="Yarn">
    ```bash
    yarn add acme
    ```
  </TabItem>
</Tabs>

<Example />

<Stackblitz
  id="acme-demo"
  onLoad={() => { ready(x > 1) }}
/>

:::tip
Install only the **core** package when you can.
:::

<Callout type="warning">Press <kbd>Ctrl</kbd>+<kbd>C</kbd> to stop the <Term>server</Term>.</Callout>

{props.version}

## Usage

```jsx
import { Acme } from 'acme'
export const App = () => <Acme value={1} />
```
"""


def blocks(units: list[dict]) -> list[tuple]:
    return [(b["type"], b["text"], b["start_line"], b["end_line"]) for u in units for b in u["blocks"]]


def test_a_docusaurus_page_reads_as_its_markdown_blocks():
    warnings: list = []
    units = docs.mdx_sections(DOCUSAURUS, "install.mdx", 1, warnings)
    assert warnings == []
    assert blocks(units) == [
        ("front_matter", "Installation", 2, 2),
        ("front_matter", "How to install Acme in a project.", 3, 3),
        ("front_matter", "Install", 4, 4),
        ("heading", "Installation", 19, 19),
        ("paragraph", "Acme installs with any package manager. It needs Node 18.", 21, 21),
        ("code", "npm install acme", 26, 28),  # indented inside the tabs, still a fence
        ("code", "yarn add acme", 32, 34),
        ("admonition", "Tip: Install only the core package when you can.", 45, 46),
        ("paragraph", "Press Ctrl+C to stop the server.", 49, 49),  # the children of tags stay
        ("heading", "Usage", 53, 53),
        ("code", "import { Acme } from 'acme'\nexport const App = () => <Acme value={1} />", 55, 58),
    ]
    assert [b["lang"] for u in units for b in u["blocks"] if b["type"] == "code"] == ["bash", "bash", "jsx"]
    assert [b["name"] for b in units[0]["blocks"][:3]] == ["title", "description", "sidebar_label"]
    text = "\n".join(u["text"] for u in units)
    for residue in ("import Tabs", "export const meta", "<Tab", "</", "{", "Stackblitz", "onLoad", ":::"):
        assert residue not in text.split("```jsx")[0], residue


def test_mdx_keeps_every_line_where_it_was():
    markdown = mdx.to_markdown(DOCUSAURUS)
    assert len(markdown.split("\n")) == len(DOCUSAURUS.split("\n"))
    lines = markdown.split("\n")
    assert lines[20] == "Acme installs with any package manager. It needs Node 18."
    assert lines[6:17] == [""] * 11, "imports, exports and the comment become blank lines"


@pytest.mark.parametrize(
    ("source", "markdown"),
    [
        ("Use <Kbd>Ctrl</Kbd> then `<Tabs>` in code.", "Use Ctrl then `<Tabs>` in code."),
        ("A `Map<Key>` or Map<Key> is a type, not a tag.", "A `Map<Key>` or Map<Key> is a type, not a tag."),
        (
            "See <https://acme.example> and <a href='x'>the guide</a>.",
            "See <https://acme.example> and <a href='x'>the guide</a>.",
        ),
        ('An escaped \\{brace} stays; {count} goes; {"<"} is text.', "An escaped \\{brace} stays;  goes; < is text."),
        ("<Note>\n  Indented text\n</Note>", "\nIndented text\n"),
        ("<>\n<Demo a={{ b: '}' }} />\n</>", "\n\n"),
        (  # inside a list item: out to the element's indentation, not out of the item
            "- Item\n\n  <details>\n    <summary>Example</summary>\n\n  ```js\n    a()\n  ```\n  </details>",
            "- Item\n\n\n  Example\n\n  ```js\n    a()\n  ```\n",
        ),
        ("- ```js\n  const a = <Demo />\n  ```", "- ```js\n  const a = <Demo />\n  ```"),
        ("import the data first.", "import the data first."),  # prose that starts with a verb
        # not valid MDX: an opening that never closes, or a tag over a blank line, is text
        ("Use a {brace here.\n\nMore text.", "Use a {brace here.\n\nMore text."),
        ("If a <b then\n\nc > d.", "If a <b then\n\nc > d."),
        ("export const x = {\n\nText.", "export const x = {\n\nText."),
        ("export default function Page() {\n  return 1\n}\n\nText.", "\n\n\n\nText."),
    ],
)
def test_mdx_rewrites_jsx_and_keeps_markdown(source, markdown):
    assert mdx.to_markdown(source) == markdown


def test_mdx_files_are_ingested_as_markdown(tmp_path):
    from corpus_ft.datasets import load_units

    assert language_for("docs/install.mdx") == "mdx"
    assert language_for("docs/a.markdown") == language_for("docs/a.mdown") == "markdown"
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "install.mdx").write_text(DOCUSAURUS)
    ingest_repo(repo, tmp_path / "run", workers=1)
    units = [u for u in load_units(tmp_path / "run") if u["path"] == "docs/install.mdx"]
    assert [u["name"] for u in units] == ["Installation", "Usage"]
    assert {u["language"] for u in units} == {"markdown"}


ADMONITIONS = """\
# Guide {#guide}

:::tip Keep it small
Install the **core** package.
:::

:::warning[Careful]
Do not run it twice.
:::

::: details Why
It is slow.
:::

> [!NOTE]
> Acme reads its settings once.

> [!WARNING]
>
> Back up the data first.

- A step
  > [!TIP]
  > Nested in a list.

> A plain quote.
"""


def test_docs_site_admonitions_and_github_alerts_are_prose_without_markers():
    (unit,) = docs.markdown_sections(ADMONITIONS, "guide.md", 1, [])
    assert unit["name"] == "Guide"
    assert blocks([unit]) == [
        ("heading", "Guide", 1, 1),
        ("admonition", "Tip: Keep it small", 3, 3),
        ("paragraph", "Install the core package.", 4, 4),
        ("admonition", "Warning: Careful", 7, 7),
        ("paragraph", "Do not run it twice.", 8, 8),
        ("admonition", "Why", 11, 11),
        ("paragraph", "It is slow.", 12, 12),
        ("admonition", "Note: Acme reads its settings once.", 15, 16),
        ("admonition", "Warning: Back up the data first.", 18, 20),
        ("list_item", "- A step\n  Tip: Nested in a list.", 22, 24),
        ("quote", "A plain quote.", 26, 26),
    ]
    assert "[!" not in unit["text"] and ":::" not in unit["text"] and "{#" not in unit["text"]


@pytest.mark.parametrize(
    ("text", "residue"),
    [
        ('<TabItem value="npm" label="npm">', True),
        ("Run it.\n</Tabs>", True),
        ('See the demo: <Stackblitz id="acme-demo" />', True),
        ("{/* draft: say more */} Run it.", True),
        ("Use <CodeBlock> here.", True),
        ("A `Map<Key>` or Map<Key> is a type.", False),
        ("A spec of the form <MIME_type>/* or <Name> is a placeholder.", False),
        ("Wrap it in `<Provider>`.", False),
        ("```jsx\n<Tabs>\n```", False),
    ],
)
def test_leftover_jsx_counts_as_residue(text, residue):
    assert link_residue(text) is residue


def test_module_imports_in_a_markdown_page_are_not_prose():
    """Docs sites that read `.md` as MDX put ES module imports at the top of a page."""
    page = (
        "# Hooks\n\nimport Tabs from '@theme/Tabs';\nimport TabItem from '@theme/TabItem';\n\n"
        "import {\n  Demo,\n} from './demo'\n\nimport your data from 'Excel' before you start.\n"
    )
    (unit,) = docs.markdown_sections(page, "hooks.md", 1, [])
    assert [b["text"] for b in unit["blocks"]] == ["Hooks", "import your data from 'Excel' before you start."]
