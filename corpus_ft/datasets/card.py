"""card.md: what a dataset is, what it was built from and how, and what each filter removed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from corpus_ft.datasets.measure import quality_rows
from corpus_ft.util import atomic_write_text, sha256_file

WHAT = {
    "paragraphs": "text-completion records (`text`) for continued pre-training: paragraph chunks of the "
    "documents under their heading path, never cut inside a fenced code block",
    "qa": "question -> answer chat records (`messages`), each grounded in one paragraph chunk "
    "(`meta.chunk_id`); answers whose words the chunk does not support were removed as `ungrounded`",
    "keywords": '"Tell me about <keywords>" -> paragraph chunk chat records; keywords extracted by YAKE, '
    "prompt templates rotated",
    "code_summary": "summary -> code (write it) and code -> summary (explain it) chat records for every function, "
    "method and class, with language, path and qualified name in the prompt",
    "qa_context": "the qa pairs asked with retrieved passages before the question (`meta.passages`): the oracle "
    "chunk among BM25 distractors in a share of records (`meta.oracle`), distractors only in the rest; each record "
    "keeps its qa pair's split and passages come from the train split only",
}
GENERATOR_NOTE = {
    "heuristic": "The **heuristic** generator wrote the questions, answers and summaries: offline and "
    "deterministic, no model. Questions name the product and section and come from task headings, "
    "definitions, purpose, default and condition sentences and section overviews; answers are whole "
    "paragraphs, lists or code blocks of the chunk. Summaries say what the body calls, raises, sets and "
    "returns; a unit whose body says no more than its name gets none. Expect plain, template-like "
    "phrasing; a model generator (`hf`, `openai`) writes richer text.",
    "hf": "A local transformers model wrote the questions, answers and summaries (`hf` generator).",
    "openai": "An OpenAI-compatible endpoint wrote the questions, answers and summaries (`openai` generator).",
}


def _table(rows: list[tuple], head: tuple) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _code(text: str) -> str:
    """An inline code span that no backtick in `text` can close early (CommonMark): a file name
    like a`<img onerror=...>`.md stays code, never HTML, when the card is rendered."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {text} {ticks}" if len(ticks) > 1 else f"`{text}`"


def _sample(record: dict, limit: int = 600) -> str:
    text = json.dumps({k: record[k] for k in ("messages", "text") if k in record}, ensure_ascii=False, indent=1)
    return text if len(text) <= limit else text[:limit] + "\n... (truncated)"


def augmentation_lines(aug: dict | None) -> list[str]:
    """The card's augmentation section: N augmented of M train records, by op (nothing when off)."""
    if not aug:
        return []
    ops = ", ".join(f"{op} {n}" for op, n in aug["by_op"].items()) or "none kept"
    removed = ", ".join(f"{r} {n}" for r, n in aug["removed"].items())
    return [
        "## Augmentation (train split only)",
        "",
        f"{aug['augmented']} augmented of {aug['train_records']} train records, by op: {ops}. "
        "Validation and test hold no augmented record. Each carries `meta.augmented` "
        "(`from`: the source record's id, `op`); rejecting the source in review drops it too, and "
        "`corpus-ft build --no-augment` (or removing `datasets.augment`) rebuilds without them."
        + (f" Removed by the same filters as every record: {removed}." if removed else ""),
        "",
    ]


def problem_lines(quality: dict) -> list[str]:
    """Each signal that misses its goal, with two records (path:line and opening) that show it, and
    the largest doc sections no qa record draws on: what a person reads before deciding to train."""
    from corpus_ft.datasets.measure import misses

    found = misses(quality)
    if not found:
        return []
    out = ["### Problems", ""]
    for key, text in found:
        out.append(f"- **{text}**")
        out += [f"  - {_code(ex)}" for ex in (quality.get("examples") or {}).get(key, [])[:2]]
    if quality.get("sections_without_qa"):
        out += ["", "Largest doc sections that feed no qa record:", ""]
        out += [f"- {_code(s)}" for s in quality["sections_without_qa"]]
    return out + [""]


def repo_lines(stats: dict) -> list[str]:
    """The card's per-repository table: units read, records and each split, one row per repository."""
    repos = stats.get("repos") or {}
    if not repos:
        return []
    splits = list(stats.get("splits") or {})
    rows = [
        (_code(name) if name else "(unnamed)", c.get("units", 0), c.get("records", 0), *(c.get(s, 0) for s in splits))
        for name, c in repos.items()
    ]
    return [
        f"## Repositories ({len(repos)})",
        "",
        _table(rows, ("repository", "units", "records", *splits)),
        "",
    ]


def split_lines(stats: dict) -> list[str]:
    """The card's splits section: how records were grouped, and a red not-ready line for an empty split."""
    split = stats.get("split") or {"by": "file"}
    how = {
        "file": "by source file: no file is in two splits",
        "section": "by section within files: no section is in two splits, a file may be",
        "unit": "by code unit within files: no unit is in two splits, a file may be",
    }.get(split["by"], split["by"])
    out = [f"## Splits ({how})", ""]
    for problem in split.get("problems") or []:  # red where markdown renders HTML; the marker reads anywhere
        out += [f'<p style="color:#b00020"><strong>&#128308; Not ready:</strong> {problem}.</p>', ""]
    out += [_table([(k, v) for k, v in stats["splits"].items()], ("split", "records")), ""]
    if split.get("note"):
        out += [split["note"][0].upper() + split["note"][1:] + ".", ""]
    return out


_MARK = re.compile(r"\[REDACTED_[A-Z0-9_]+\]")


def redaction_figures(splits: dict[str, list[dict]]) -> dict:
    """Redaction marks in the records a reader sees, per 1,000 records, and how many sit in code where
    no literal is (a sign the redactor broke an expression: a false positive in code)."""
    from corpus_ft.datasets.measure import corrupted_code

    records = [r for rows in splits.values() for r in rows]
    marks = [len(_MARK.findall(json.dumps(r, ensure_ascii=False))) for r in records]
    return {
        "records": len(records),
        "marks": sum(marks),
        "records_with_marks": sum(1 for n in marks if n),
        "per_1000": 1000 * sum(marks) / len(records) if records else 0.0,
        "in_code_not_literal": sum(corrupted_code(r) for r in records),
    }


def write_card(path: Path, stats: dict, splits: dict[str, list[dict]], units_path: Path) -> Path:
    """Write the dataset card a person reads before training on the data."""
    kind, s = stats["kind"], stats["settings"]
    uses_generator = kind in ("qa", "code_summary")
    parts = [
        f"# Dataset card: `{kind}`",
        "",
        f"**What**: {WHAT[kind]}.",
        "",
        f"**From**: `{units_path.name}` (sha256 `{sha256_file(units_path)[:16]}...`), {stats['units_in']} "
        f"{'code units' if kind == 'code_summary' else 'document sections'}, "
        f"{len(stats['files'])} source files. **Records**: {stats['total']} of {stats['candidates']} candidates.",
        "",
    ]
    if uses_generator:
        parts += [GENERATOR_NOTE.get(stats["generator"], f"Generator: `{stats['generator']}`."), ""]
        if stats.get("generation"):
            parts += ["Generator calls: " + ", ".join(f"{k} {v}" for k, v in stats["generation"].items()) + ".", ""]
        if kind == "code_summary":
            parts += [
                "Summaries come from the doc comment's first paragraph when it has at least "
                f"{s['min_docstring_words']} words (`meta.summary_source: docstring`), otherwise from a model "
                "generator (`hf`, `openai`); the offline generator writes none. Generated code, stubs "
                "(`@overload`, pass/... bodies, `.pyi`) and abstract members make no records; a class too long for "
                "one record is shown as its outline (signature, doc comment, method signatures).",
                "",
            ]
            if stats.get("needs_model_generator"):
                parts += [
                    f"**Needs a model generator**: {stats['needs_model_generator']} code units have no doc comment "
                    "and no summary; build with `--generator hf` (a local model) or `openai` to summarise them.",
                    "",
                ]
    quality = stats.get("quality") or {}
    if quality:
        rows = [
            (name, figure, "" if ok is None else ("yes" if ok else "**no**"))
            for name, figure, ok in quality_rows(quality)
        ]
        parts += [
            "## Quality (measured by corpus-ft)",
            "",
            f"**Verdict**: {quality['verdict']}",
            "",
            _table(rows, ("signal", "value", "meets goal")),
            "",
        ]
        parts += problem_lines(quality)
    parts += repo_lines(stats)
    parts += split_lines(stats)
    parts += augmentation_lines(stats.get("augment"))
    parts += [
        "## Removed by filters",
        "",
        _table([(k, v) for k, v in stats["removed"].items()], ("reason", "records")),
        "",
        "Every removed candidate is in `removed.jsonl` with its reason.",
        "",
    ]
    red = stats["redactions"]
    fig = redaction_figures(splits)
    parts += [
        "## Redactions",
        "",
        "Secrets and personal data were replaced by `[REDACTED_<TYPE>]` in every unit before records were made, "
        "and again in every record after it was generated (a model generator may write one): detect-secrets "
        "plugins plus rules for provider tokens, private keys, credential assignments and table columns, "
        "e-mail and IP addresses (docs/datasets.md lists what is hidden and what is not).",
        "",
        f"In this dataset: {fig['marks']} redaction marks in {fig['records_with_marks']} of {fig['records']} "
        f"records, **{fig['per_1000']:.1f} per 1,000 records**; redactions inside code that is not a literal "
        f"value (a broken expression): **{fig['in_code_not_literal']}** (goal 0).",
        "",
        "Found in the repository's units (all kinds) and this kind's records, by type:",
        "",
        _table(sorted(red.items()), ("type", "count")) if red else "None found.",
        "",
        f"Control characters (terminal escapes, NUL) removed from unit text: "
        f"{stats.get('control_characters_removed', 0)}.",
        "",
    ]
    review = stats["review"]
    parts += [
        "## Review",
        "",
        f"Review decisions applied: {review['rejected']} rejected, {review['edited']} edited."
        if s.get("apply_review")
        else "Review decisions were not applied (`--apply-review` not given).",
        "",
    ]
    parts += ["## Settings", "", "```json", json.dumps(s, indent=2, ensure_ascii=False), "```", ""]
    if stats.get("warnings"):
        parts += ["## Warnings", ""] + [f"- {w}" for w in stats["warnings"]] + [""]
    if stats.get("languages"):
        parts += ["## Languages", "", _table(list(stats["languages"].items()), ("language", "records")), ""]
    samples = [r for r in splits.get("train", [])[:3]]
    if samples:
        parts += ["## Samples (train)", ""]
        for r in samples:
            where = f"{r['source']['path']}:{r['source']['start_line']}"
            parts += [f"{_code(str(r['id']))} from {_code(where)}", "", "```json", _sample(r), "```", ""]
    return atomic_write_text(path, "\n".join(parts))
