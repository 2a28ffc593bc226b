"""MDX pages (Markdown with JSX: Docusaurus, Nextra, Starlight) read as Markdown, and the admonition
syntaxes docs sites write (`:::tip Title`, GitHub's `> [!NOTE]`) read as plain prose in any Markdown."""

from __future__ import annotations

import pytest

from corpus_ft.datasets.measure import link_residue
from corpus_ft.ingest import docs


def blocks(units: list[dict]) -> list[tuple]:
    return [(b["type"], b["text"], b["start_line"], b["end_line"]) for u in units for b in u["blocks"]]


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
        ("A `Map<Key>` or Map<Key> is a type.", False),
        ("Wrap it in `<Provider>`.", False),
        ("```jsx\n<Tabs>\n```", False),
    ],
)
def test_leftover_jsx_counts_as_residue(text, residue):
    assert link_residue(text) is residue
