"""ratings.csv: one row per query for human reviewers, and reading their filled-in copy back.

Reviewers fill the empty columns (rater, base_score, tuned_score, preferred, comment) in any
spreadsheet; several raters may add rows for the same id. `corpus-ft evaluate RUN --ratings
FILE` folds them into the report without generating anything again.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from corpus_ft.util import CorpusFtError

INFO = ("id", "kind", "tags", "source", "query", "reference", "base_answer", "tuned_answer")
HUMAN = ("rater", "base_score", "tuned_score", "preferred", "comment")
PREFERRED = ("base", "tuned", "tie")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+1`, `@SUM`) is shown as text
    (OWASP's advice: a leading apostrophe)."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def _unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in _FORMULA and cell[1:2] else cell


def to_csv(rows: list[dict], human: dict[str, list[dict]] | None = None) -> str:
    """The ratings sheet; rows already rated (folded back) keep their ratings."""
    from corpus_ft.evaluate.queries import span

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*INFO, *HUMAN], lineterminator="\r\n")  # RFC 4180: a CR in a cell is quoted
    w.writeheader()
    for r in rows:
        info = {
            "id": r["id"],
            "kind": r["kind"],
            "tags": ",".join(r["tags"]),
            "source": span(r["source"]),
            "query": r["prompt"] or "(perplexity only: paragraph text)",
            "reference": r["reference"] or "",
            "base_answer": r["base"].get("answer") or "",
            "tuned_answer": r["tuned"].get("answer") or "",
        }
        for h in (human or {}).get(r["id"]) or [{}]:
            row = {**info, **{k: h.get(k, "") for k in HUMAN}}
            w.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    return buf.getvalue()


def _score(value: str, where: str, col: str) -> float | None:
    if not value.strip():
        return None
    try:
        v = float(value)
    except ValueError:
        v = 0.0
    if not 1 <= v <= 5:
        raise CorpusFtError(f"{where}: {col} must be a number from 1 to 5 or empty, got {value!r}")
    return v


def read(path: str | Path, known_ids: set[str]) -> dict[str, list[dict]]:
    """Filled-in ratings per query id; a bad cell is a CorpusFtError naming file:line and column."""
    path = Path(path)
    if not path.is_file():
        raise CorpusFtError(f"{path}: ratings file not found")
    out: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("id", *HUMAN) if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusFtError(
                f"{path}:1: missing column(s) {', '.join(missing)}; start from the ratings.csv that evaluate wrote"
            )
        start = 2
        for row in reader:
            where, start = f"{path}:{start}", reader.line_num + 1
            rid = (row.get("id") or "").strip()
            if rid not in known_ids:
                raise CorpusFtError(f"{where}: id {rid!r} is not in this evaluation's results.jsonl")
            pref = (row.get("preferred") or "").strip().lower()
            if pref and pref not in PREFERRED:
                raise CorpusFtError(f"{where}: preferred must be one of {', '.join(PREFERRED)} or empty, got {pref!r}")
            rating = {
                "rater": _unneutralise((row.get("rater") or "").strip()),
                "preferred": pref,
                "base_score": _score(row.get("base_score") or "", where, "base_score"),
                "tuned_score": _score(row.get("tuned_score") or "", where, "tuned_score"),
                "comment": _unneutralise((row.get("comment") or "").strip()),
            }
            if any(rating[k] not in ("", None) for k in HUMAN):
                out.setdefault(rid, []).append(rating)
    return out


def summarise(human: dict[str, list[dict]]) -> dict:
    """Rated rows, raters, mean scores and preferences, for the report's human-ratings table."""
    ratings = [h for hs in human.values() for h in hs]

    def mean(key):
        vals = [h[key] for h in ratings if h[key] is not None]
        return sum(vals) / len(vals) if vals else None

    return {
        "rated_queries": len(human),
        "ratings": len(ratings),
        "raters": sorted({h["rater"] for h in ratings if h["rater"]}),
        "base_score": mean("base_score"),
        "tuned_score": mean("tuned_score"),
        "preferred": {p: sum(h["preferred"] == p for h in ratings) for p in PREFERRED},
    }
