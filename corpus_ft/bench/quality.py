"""`corpus-ft bench quality REPO...`: ingest and build every repository with the default settings
in a temporary run directory, and print what each dataset would teach a model that it should not:
markup left in the text, questions asked twice, summaries that restate the name, records from
tests/changelogs/licences, code corrupted by redaction (issue 12's table)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from corpus_ft.datasets import GOALS

SIGNALS = (
    ("markup_residue", "records whose text (outside code) still carries markup", "share"),
    ("link_residue", "records with link or role residue outside code", "share"),
    ("duplicate_question", "qa records whose question also appears with a different answer", "share"),
    ("one_sentence_answer", "qa answers of one sentence (definitions aside)", "share"),
    ("vague_question", "qa questions from a vague heading or a clause fragment", "share"),
    ("dangling_answer", "qa answers that point at text they do not hold", "share"),
    ("module_product", "qa questions naming a build module as the product", "share"),
    ("name_only_summary", "code summaries that restate the name", "share"),
    ("call_list_summary", "code summaries that only list calls", "share"),
    ("thin_summary", "code summaries that only restate the name or say when it is called", "share"),
    ("weak_keyword", "keyword prompts with a generic or fragment term", "share"),
    ("keyword_chunk", "keyword records from link lists, empty bullets or pointer pages", "share"),
    ("cut_introduction", "paragraphs that end on a sentence introducing a block they lack", "share"),
    ("install_stub", "paragraphs that are only an install command", "share"),
    ("mid_thought", "passages that open mid-thought (a reply, a connective, the example above)", "share"),
    ("excluded_share", "records drawn from tests, changelogs and licences", "share"),
    ("from_tests", "records from tests (file or directory name, any directory)", "share"),
    ("boilerplate", "records from community/marketing/licence/changelog pages or people lists", "share"),
    ("translated", "records in another language than the corpus's own", "share"),
    ("corrupted_code", "records whose code was corrupted by redaction", "count"),
)
KIND_SIGNALS = tuple(k for k, _l, _h in SIGNALS) + ("qa_coverage",)


def repo_quality(repo: Path, run_dir: Path, generator: str = "heuristic") -> dict:
    """Ingest `repo` into `run_dir`, build every kind, and sum the kinds' quality blocks."""
    from corpus_ft.datasets import build_all
    from corpus_ft.ingest import ingest_repo

    started = time.perf_counter()
    ingest_repo(repo, run_dir)
    stats = build_all(run_dir, generator=generator, force=True)
    kinds = {k: s.get("quality") or {} for k, s in stats.items()}
    records = sum(q.get("records", 0) for q in kinds.values())

    def count(key: str, kinds_with: Sequence[str] | None = None) -> tuple[int, int]:
        picked = [q for k, q in kinds.items() if key in q and (kinds_with is None or k in kinds_with)]
        if key in ("name_only_summary", "call_list_summary", "thin_summary"):
            explained = sum(
                (q.get("summary_sources") or {}).get("docstring", 0)
                + (q.get("summary_sources") or {}).get("generated", 0)
                for q in picked
            )
            if key == "name_only_summary":
                return sum(q["name_only_summaries"] for q in picked), explained
            return sum(round(q[key] * explained) for q in picked), explained
        if key == "corrupted_code":
            return sum(q[key] for q in picked), records
        return sum(round(q[key] * q["records"]) for q in picked), sum(q["records"] for q in picked)

    signals = {}
    for key, _label, how in SIGNALS:
        n, of = count(key)
        signals[key] = {"count": n, "of": of, "value": n if how == "count" else (round(n / of, 4) if of else 0.0)}
    return {
        "repo": str(repo),
        "name": repo.name,
        "records": records,
        "kinds": {
            k: {
                "records": q.get("records", 0),
                "verdict": q.get("verdict", ""),
                "signals": {key: q[key] for key in KIND_SIGNALS if key in q},
                "sections_without_qa": q.get("sections_without_qa", []),
            }
            for k, q in kinds.items()
        },
        "signals": signals,
        "seconds": round(time.perf_counter() - started, 1),
    }


def bench_quality(
    repos: Sequence[str | os.PathLike], *, generator: str = "heuristic", keep: str | os.PathLike | None = None
) -> dict:
    """Every repository's signals and whether each meets its goal; runs are kept under `keep` if given."""
    results = []
    with tempfile.TemporaryDirectory(prefix="corpus-ft-quality-") as tmp:
        base = Path(keep) if keep else Path(tmp)
        for repo in repos:
            repo = Path(repo)
            results.append(repo_quality(repo, base / repo.resolve().name, generator))
    meets = {key: all(_meets(key, r["signals"][key]["value"]) for r in results) for key, _l, _h in SIGNALS}
    return {
        "generator": generator,
        "goals": GOALS,
        "repos": results,
        "meets_goals": meets,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def _meets(key: str, value: float) -> bool:
    return value >= GOALS[key] if key == "qa_coverage" else value <= GOALS[key]


def format_table(result: dict) -> str:
    """The signals as a Markdown table (one column per repository, then the goal)."""
    names = [r["name"] for r in result["repos"]]
    lines = ["| signal | " + " | ".join(names) + " | goal |", "|---|" + "---:|" * len(names) + "---|"]
    for key, label, how in SIGNALS:
        cells = []
        for r in result["repos"]:
            s = r["signals"][key]
            cell = str(s["count"]) if how == "count" else f"{s['value']:.1%} ({s['count']}/{s['of']})"
            cells.append(cell if _meets(key, s["value"]) else f"**{cell}**")
        goal = f"{GOALS[key]}" if how == "count" else f"<= {GOALS[key]:.0%}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    lines.append("| records (all four kinds) | " + " | ".join(str(r["records"]) for r in result["repos"]) + " | |")
    lines.append("")
    for r in result["repos"]:
        lines += ["", f"### {r['name']}: every signal per kind", ""]
        kinds = list(r["kinds"])
        lines += ["| signal | " + " | ".join(kinds) + " | goal |", "|---|" + "---:|" * len(kinds) + "---|"]
        for key in KIND_SIGNALS:
            cells = []
            for k in kinds:
                v = r["kinds"][k].get("signals", {}).get(key)
                if v is None:
                    cells.append("")
                    continue
                cell = str(v) if key == "corrupted_code" else f"{v:.1%}"
                cells.append(cell if _meets(key, v) else f"**{cell}**")
            goal = GOALS[key]
            goal_text = (
                "0" if key == "corrupted_code" else (f">= {goal:.0%}" if key == "qa_coverage" else f"<= {goal:.0%}")
            )
            lines.append(f"| {key} | " + " | ".join(cells) + f" | {goal_text} |")
        lines.append("")
        for k, v in r["kinds"].items():
            lines.append(f"- {k} ({v['records']} records): {v['verdict']}")
        if r["kinds"].get("qa", {}).get("sections_without_qa"):
            lines.append(
                "- largest sections that feed no qa record: " + "; ".join(r["kinds"]["qa"]["sections_without_qa"])
            )
    return "\n".join(lines)
