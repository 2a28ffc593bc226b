"""The review page: one self-contained HTML file per run (inline CSS/JS/SVG),
so it opens from disk with no network and can be attached to a ticket."""

from __future__ import annotations

import os
import random
import re
import statistics
from collections import Counter
from pathlib import Path

from corpus_ft.datasets import quality_rows
from corpus_ft.decisions import augmented_from, decisions_path, flag, latest, read_decisions
from corpus_ft.review.data import (
    CONTENT_ROLES,
    SPLITS,
    KindData,
    Run,
    ingested_paths,
    load_run,
    record_text,
    source_span,
)
from corpus_ft.review.plots import histogram_svg
from corpus_ft.util import CorpusFtError, atomic_write_text, with_run_lock

HERE = Path(__file__).parent
STOP_WORDS = frozenset(
    """a about above after again all also an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only
or other our out over own same she should so some such than that the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you your
yours self none true false return def class import from none null var let const function public private static
void int str string new use used using get set value returns section does what which one every two see also
may must need needs way ways like per via etc""".split()
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{2,}")


class Tokens:
    """Counts tokens with the target model's tokenizer when one is given, else by whitespace."""

    def __init__(self, model_dir: str | os.PathLike | None = None):
        self._tok = None
        if model_dir is None:
            self.label = "whitespace tokens (pass --model DIR for the target tokenizer's tokens)"
            return
        path = Path(model_dir) / "tokenizer.json"
        if not path.is_file():
            raise CorpusFtError(f"{model_dir}: no tokenizer.json; pass a model directory saved with save_pretrained")
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path))
        self.label = f"tokens of {Path(model_dir).name}'s tokenizer (message contents, no chat template)"

    def count(self, texts: list[str]) -> list[int]:
        if self._tok is None:
            return [len(t.split()) for t in texts]
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]


def _summary(values: list[int]) -> dict:
    if not values:
        return {}
    s = sorted(values)
    return {
        "min": s[0],
        "median": int(statistics.median(s)),
        "p95": s[min(len(s) - 1, int(0.95 * len(s)))],
        "max": s[-1],
        "total": sum(s),
    }


def top_keywords(kd: KindData, n: int = 20) -> list[tuple[str, int]]:
    """The corpus's own vocabulary: keywords the records name, else frequent non-stop words."""
    counts: Counter[str] = Counter()
    for _, rec in kd.records:
        kws = (rec.get("meta") or {}).get("keywords")
        if kws:
            counts.update(str(k).lower() for k in kws)
        else:
            counts.update(
                w.lower() for w in WORD.findall(record_text(rec, CONTENT_ROLES)) if w.lower() not in STOP_WORDS
            )
    return counts.most_common(n)


def split_problems(stats: dict, counts: Counter, total: int) -> list[str]:
    """Empty evaluation splits: from stats.json, or (for a dataset built before it said so) from the counts."""
    if (stats.get("split") or {}).get("problems") is not None:
        return list(stats["split"]["problems"])
    ratios = (stats.get("settings") or {}).get("split_ratios") or [0.8, 0.1, 0.1]
    return [
        f"the {s} split is empty"
        for s, ratio in zip(SPLITS, ratios)
        if total and s != "train" and ratio > 0 and not counts.get(s)
    ]


def kind_section(run: Run, kd: KindData, tokens: Tokens, decisions: dict, samples: int, seen: dict[str, str]) -> dict:
    """Everything the page shows for one dataset kind."""
    lengths = {s: tokens.count([record_text(r) for sp, r in kd.records if sp == s]) for s in SPLITS}
    split_counts = Counter(sp for sp, _ in kd.records)
    langs = kd.stats.get("languages") or Counter((r.get("meta") or {}).get("language", "?") for _, r in kd.records)
    files = Counter((r.get("source") or {}).get("path", "?") for _, r in kd.records)
    removed_examples: dict[str, list[str]] = {}
    for row in kd.removed:
        ex = removed_examples.setdefault(str(row.get("reason", "?")), [])
        if len(ex) < 3:
            ex.append(
                row["preview"]
                if isinstance(row.get("preview"), str)
                else record_text(row.get("record") or {}, CONTENT_ROLES)[:300]
            )
    removed = dict(kd.stats.get("removed") or Counter(str(r.get("reason", "?")) for r in kd.removed))
    flags = Counter(flag(decisions.get(r["id"])) for _, r in kd.records + kd.rejected)
    problems = split_problems(kd.stats, split_counts, len(kd.records))
    verdict = (kd.stats.get("quality") or {}).get("verdict")
    if problems and verdict and not verdict.startswith("not ready"):
        verdict = "not ready: " + "; ".join(problems)
    picked = random.Random(0).sample(kd.records, min(samples, len(kd.records)))
    repos: dict[str, Counter] = {str(name): Counter() for name in kd.stats.get("repos") or {}}
    for sp, r in kd.records:
        repos.setdefault(str((r.get("source") or {}).get("repo") or ""), Counter())[sp] += 1
    return {
        "kind": kd.kind,
        "stats": kd.stats,
        "generator": kd.stats.get("generator", "?"),
        "splits": {s: split_counts.get(s, 0) for s in SPLITS},
        "total": len(kd.records),
        "removed": removed,
        "removed_examples": removed_examples,
        "redactions": kd.stats.get("redactions") or {},
        "histogram": histogram_svg(lengths, title=f"{kd.kind}: record length", xlabel=tokens.label.split(" (")[0]),
        "length_summary": _summary([v for vs in lengths.values() for v in vs]),
        "keywords": top_keywords(kd),
        "languages": dict(Counter(langs).most_common()),
        # records per split of each repository (shown when the run holds several)
        "repos": {name: {sp: c.get(sp, 0) for sp in SPLITS} for name, c in sorted(repos.items())},
        "files": files.most_common(),
        "silent_files": sorted(p for p in seen if p not in files),
        "flags": {f: flags.get(f, 0) for f in ("accepted", "rejected", "edited", "undecided")},
        "quality": quality_rows(kd.stats.get("quality") or {}),
        "verdict": verdict,
        "split": {**(kd.stats.get("split") or {"by": "file", "note": ""}), "problems": problems},
        "applied_rejections": len(kd.rejected),
        "samples": [
            {
                "split": sp,
                "record": r,
                "flag": flag(decisions.get(r["id"])),
                "augmented": augmented_from(r),
                "source": source_span(run, r.get("source") or {}),
            }
            for sp, r in picked
        ],
    }


def render(
    run: Run,
    *,
    model_dir: str | os.PathLike | None = None,
    samples: int = 5,
    interactive: bool = False,
    warnings: list[str] | None = None,
) -> str:
    """The page as a string; `interactive` adds the record browser the web app feeds.

    Skipped decision lines are shown on the page and appended to `warnings`.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    entries, problems = read_decisions(decisions_path(run.run_dir))
    decisions = latest(entries)
    if warnings is not None:
        warnings.extend(problems)
    tokens = Tokens(model_dir)
    seen = ingested_paths(run)
    sections = [kind_section(run, kd, tokens, decisions, samples, seen) for kd in run.kinds.values()]
    producing = {p for s in sections for p, _ in s["files"]}
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    return env.get_template("index.html.jinja").render(
        run_dir=str(run.run_dir),
        sections=sections,
        report=run.ingest_report,
        repos=[r for r in run.ingest_report.get("repos") or [] if isinstance(r, dict)],
        token_label=tokens.label,
        ingested=len(seen),
        silent=sorted((p, why) for p, why in seen.items() if p not in producing),
        warnings=problems,
        css=(HERE / "static" / "review.css").read_text(),
        js=(HERE / "static" / "review.js").read_text(),
        interactive=interactive,
        n_decisions=len(decisions),
    )


@with_run_lock("review", "run_dir")
def write_report(
    run_dir: str | os.PathLike,
    *,
    model_dir: str | os.PathLike | None = None,
    samples: int = 5,
    warnings: list[str] | None = None,
) -> Path:
    """Write RUN_DIR/review/index.html and return its path; skipped decision lines go to `warnings`."""
    run = load_run(run_dir)
    return atomic_write_text(
        Path(run_dir) / "review" / "index.html", render(run, model_dir=model_dir, samples=samples, warnings=warnings)
    )
