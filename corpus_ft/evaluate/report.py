"""report.html (self-contained, every value escaped) and report.md, from summary and results."""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape as html_escape
from pathlib import Path

from corpus_ft.evaluate.metrics import BETTER, METRICS
from corpus_ft.evaluate.queries import span

TEMPLATES = Path(__file__).parent / "templates"


def num(v) -> str:
    """Numbers for people: 3 significant digits (whole numbers from 100), '–' where a metric does not apply."""
    import jinja2

    if v is None or v == "" or isinstance(v, jinja2.Undefined):
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def cmp(metric: str, base, tuned) -> str:
    """CSS class for the tuned figure: better, worse or neither."""
    if base is None or tuned is None or BETTER[metric] == 0 or base == tuned:
        return ""
    return "better" if (tuned - base) * BETTER[metric] > 0 else "worse"


def ci(interval, pct: bool = False) -> str:
    """A bootstrap interval for people: [low–high], '' where there is none (fewer than 2 values)."""
    if not interval:
        return ""
    lo, hi = interval
    return f"[{lo * 100:.0f}–{hi * 100:.0f}%]" if pct else f"[{num(float(lo))}–{num(float(hi))}]"


STYLE_GAP = 0.2  # list-shaped share (tuned minus base) above which the report calls the style learnt


def style_warnings(agg: dict) -> list[str]:
    """What the style table should make a reader look at: list-shaped answers or a length drift the tune brought."""
    base, tuned = (agg.get("base") or {}).get("style"), (agg.get("tuned") or {}).get("style")
    if not base or not tuned:
        return []
    out = []
    if tuned["list_share"] - base["list_share"] >= STYLE_GAP:
        out.append(
            f"{tuned['list_shaped']} of {tuned['n']} tuned answers open as a list (base: {base['list_shaped']}): "
            "a style learnt from step-by-step records, used whatever the question; check the qa dataset's answers"
        )
    ratio = lambda y: y.get("length_vs_reference")  # noqa: E731
    if ratio(tuned) and ratio(base) and (ratio(tuned) > 1.5 * ratio(base) or ratio(tuned) < ratio(base) / 1.5):
        out.append(
            f"tuned answers are ×{num(ratio(tuned))} the reference's length (base ×{num(ratio(base))}): "
            "the tune changed how much the model says"
        )
    return out


class _Markdown(str):
    """Text already made safe for report.md (escaped, or inside a code fence)."""


def _md_escape(value) -> str:
    """Every value report.md shows outside a code fence: HTML is text, never markup that runs."""
    if isinstance(value, _Markdown):
        return value
    import jinja2

    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    return html_escape(str(value), quote=False)


def _cell(text) -> str:
    return _Markdown(_md_escape(" ".join(str(text).split())).replace("|", "\\|"))


def _fence(text: str) -> str:
    return _Markdown("~~~~text\n" + str(text).replace("~~~~", "~ ~ ~ ~") + "\n~~~~")


@lru_cache(maxsize=2)
def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
        finalize=None if autoescape else _md_escape,
    )
    env.filters.update(num=num, cell=_cell, fence=_fence)
    env.globals.update(cmp=cmp, span=span, ci=ci)
    return env


def _context(summary: dict, rows: list[dict]) -> dict:
    agg = summary["aggregate"]
    table = [("all", agg["all"])]
    table += [
        (f"{g}: {'queries file' if g == 'queries' else 'held-out test split'}", agg[g])
        for g in ("queries", "test")
        if g in agg
    ]
    table += [(f"kind: {k}", a) for k, a in agg["kinds"].items()]
    table += [(f"tag: {t}", a) for t, a in agg["tags"].items()]
    table += [(f"repository: {n}", a) for n, a in (agg.get("repos") or {}).items()]
    by_id = {r["id"]: r for r in rows}
    return {
        "s": summary,
        "rows": rows,
        "table": table,
        "metrics": METRICS,
        "anchors": {r["id"]: f"q-{i + 1}" for i, r in enumerate(rows)},
        "style_warnings": style_warnings(agg["all"]),
        "better": [by_id[i] for i in summary["highlights"]["better"] if i in by_id],
        "worse": [by_id[i] for i in summary["highlights"]["worse"] if i in by_id],
    }


def html(summary: dict, rows: list[dict]) -> str:
    """One file, no external assets: inline CSS, no scripts; opens from disk or a mail attachment."""
    return _env(True).get_template("report.html.jinja").render(**_context(summary, rows))


def markdown(summary: dict, rows: list[dict]) -> str:
    text = _env(False).get_template("report.md.jinja").render(**_context(summary, rows))
    return re.sub(r"\n{3,}", "\n\n", text)  # template control lines leave blank runs
