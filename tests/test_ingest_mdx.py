"""MDX pages (Markdown with JSX: Docusaurus, Nextra, Starlight) read as Markdown, and the admonition
syntaxes docs sites write (`:::tip Title`, GitHub's `> [!NOTE]`) read as plain prose in any Markdown."""

from __future__ import annotations

import pytest

from corpus_ft.datasets.measure import link_residue


def blocks(units: list[dict]) -> list[tuple]:
    return [(b["type"], b["text"], b["start_line"], b["end_line"]) for u in units for b in u["blocks"]]


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
