"""Inline SVG charts for the review page: drawn by hand because a stacked histogram is a few
rectangles, and matplotlib's drawing dominated the page's render time, paid again on every
served re-render."""

from __future__ import annotations

from html import escape

COLORS = {"train": "#4c72b0", "validation": "#dd8452", "test": "#55a868"}
W, H, LEFT, BOTTOM, TOP, RIGHT = 560, 220, 44, 34, 24, 12


def _ticks(lo: float, hi: float, n: int = 6) -> list[int]:
    """Round tick values covering [lo, hi]."""
    span = max(hi - lo, 1)
    raw = span / n
    step = next(m * 10**e for e in range(0, 12) for m in (1, 2, 5) if m * 10**e >= raw)
    first = int(lo // step * step)
    return [t for t in range(first, int(hi) + step, step) if lo <= t <= hi]


def histogram_svg(values_by_series: dict[str, list[int]], *, title: str, xlabel: str, bins: int = 30) -> str | None:
    """A stacked histogram (one series per split) as an SVG string; None without data."""
    data = {k: v for k, v in values_by_series.items() if v}
    if not data:
        return None
    lo, hi = min(map(min, data.values())), max(map(max, data.values()))
    nbins = min(bins, hi - lo + 1)  # one bar per length when the range is small
    width = (hi - lo + 1) / nbins
    counts = {k: [0] * nbins for k in data}
    for k, vals in data.items():
        for v in vals:
            counts[k][min(int((v - lo) / width), nbins - 1)] += 1
    ymax = max(sum(c[i] for c in counts.values()) for i in range(nbins))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    x = lambda v: LEFT + (v - lo) / (hi - lo + 1) * pw  # noqa: E731
    y = lambda c: TOP + ph - c / ymax * ph  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="11">',
        f'<text x="{LEFT + pw / 2}" y="14" text-anchor="middle" font-size="13">{escape(title)}</text>',
    ]
    for i in range(nbins):
        base = 0
        for k, c in counts.items():
            if c[i]:
                x0, x1 = x(lo + i * width), x(lo + (i + 1) * width)
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y(base + c[i]):.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                    f'height="{y(base) - y(base + c[i]):.1f}" fill="{COLORS.get(k, "#888")}">'
                    f"<title>{escape(k)}: {c[i]} record(s) of {lo + i * width:.0f}–{lo + (i + 1) * width:.0f}</title></rect>"
                )
                base += c[i]
    axis_y = TOP + ph
    parts.append(
        f'<line x1="{LEFT}" y1="{axis_y}" x2="{LEFT + pw}" y2="{axis_y}" stroke="#333"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{axis_y}" stroke="#333"/>'
    )
    for t in _ticks(lo, hi + 1):
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{axis_y}" x2="{x(t):.1f}" y2="{axis_y + 4}" stroke="#333"/>'
            f'<text x="{x(t):.1f}" y="{axis_y + 15}" text-anchor="middle">{t}</text>'
        )
    for t in _ticks(0, ymax, 4):
        parts.append(
            f'<text x="{LEFT - 5}" y="{y(t) + 4:.1f}" text-anchor="end">{t}</text>'
            f'<line x1="{LEFT}" y1="{y(t):.1f}" x2="{LEFT + pw}" y2="{y(t):.1f}" stroke="#000" stroke-opacity=".07"/>'
        )
    parts.append(f'<text x="{LEFT + pw / 2}" y="{H - 4}" text-anchor="middle">{escape(xlabel)}</text>')
    parts.append(f'<text transform="translate(11 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">records</text>')
    for i, k in enumerate(data):
        lx = LEFT + pw - 90
        parts.append(
            f'<rect x="{lx}" y="{TOP + 4 + i * 15}" width="10" height="10" fill="{COLORS.get(k, "#888")}"/>'
            f'<text x="{lx + 15}" y="{TOP + 13 + i * 15}">{escape(k)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
