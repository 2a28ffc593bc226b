"""`corpus-ft build`: units.parquet -> the four fine-tuning datasets, filtered, redacted, split by file.

    build_dataset("qa", "runs/demo", generator="heuristic")   # -> stats dict

writes `runs/demo/datasets/qa/` (layout in docs/architecture.md). Secrets and personal data
are redacted from every unit before any record exists, so no output file can hold them.
No torch/transformers import here: `datasets` and a tokenizer load only inside the build.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from corpus_ft.datasets.config import KINDS, BuildConfig
from corpus_ft.datasets.measure import GOALS, quality_rows
from corpus_ft.settings import config_error
from corpus_ft.util import (
    CorpusFtError,
    atomic_dir,
    is_up_to_date,
    sha256_file,
    with_run_lock,
    write_jsonl,
    write_manifest,
)

__all__ = [
    "GOALS",
    "KINDS",
    "BuildConfig",
    "build_all",
    "build_dataset",
    "load_units",
    "quality_rows",
    "resolve_config",
]

DOC_KINDS = ("section",)
CODE_KINDS = ("function", "method", "class")
_REQUIRED = ("id", "path", "language", "kind", "text")


def resolve_config(config: BuildConfig | dict | None, overrides: dict[str, Any]) -> BuildConfig:
    """The config with CLI/keyword overrides applied and validated; bad keys name the fix."""
    base = config.model_dump() if isinstance(config, BuildConfig) else dict(config or {})
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return BuildConfig.model_validate({**base, **given})
    except ValidationError as e:
        raise config_error(e, BuildConfig, "build settings", prefix=("datasets",)) from None


def units_file(run_dir: Path) -> Path:
    """RUN_DIR/units.parquet, or an error that says which command writes it."""
    path = Path(run_dir) / "units.parquet"
    if not path.is_file():
        raise CorpusFtError(
            f"{path}: not found; run `corpus-ft ingest REPO_DIR --out {run_dir}` first "
            "to write units.parquet, then build"
        )
    return path


def load_units(run_dir: Path) -> list[dict]:
    """Rows of RUN_DIR/units.parquet; a missing file or column is an error that says what to run."""
    path = units_file(run_dir)
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - any reader failure means the file is unusable
        raise CorpusFtError(
            f"{path}: cannot be read as Parquet ({e}); re-run `corpus-ft ingest` to rewrite it"
        ) from None
    missing = [c for c in _REQUIRED if c not in table.column_names]
    if missing:
        raise CorpusFtError(
            f"{path}: missing column(s) {', '.join(missing)}; it was not written by this "
            "corpus-ft ingest - re-run `corpus-ft ingest` to rewrite it"
        )
    return table.to_pylist()


@lru_cache(maxsize=2)
def _redacted_units(
    path: str, sha256: str, domains: frozenset[str] = frozenset()
) -> tuple[tuple[dict, ...], tuple[tuple[str, int], ...]]:
    """Redacted rows of one units.parquet (by content hash), and the counts: `build all` redacts once.
    `domains`: the project's own public web domains, whose team contacts (security@, support@) stay."""
    from corpus_ft.redact import public_domains, redact_unit

    counts: Counter = Counter()
    with public_domains(domains):
        units = tuple(redact_unit(u, counts) for u in load_units(Path(path).parent))
    return units, tuple(counts.items())


def by_policy(
    units: list[dict], include: list[str], kinds: tuple[str, ...], keep_languages: list[str] = ()
) -> tuple[list[dict], dict[str, int]]:
    """The units of `kinds` whose category is used (by default, or named in `datasets.include`),
    and how many of each category were left out. Documents in another language than the corpus's
    own are `translation` unless their language is in `keep_languages`."""
    from corpus_ft.ingest import EXCLUDED_BY_DEFAULT, default_category, translations

    translated = translations(units) if "section" in kinds else {}
    kept, left_out = [], Counter()
    for u in units:
        if u["kind"] not in kinds:
            continue
        category = u.get("category") or default_category(u["kind"])
        if category == "docs" and translated.get(u["path"]) and translated[u["path"]] not in keep_languages:
            category = u["category"] = "translation"
        if category in EXCLUDED_BY_DEFAULT and category not in include:
            left_out[category] += 1
        else:
            kept.append(u)
    return kept, dict(sorted(left_out.items()))


def _manifest_config(kind: str, cfg: BuildConfig, apply_review: bool) -> dict:
    return {"kind": kind, "apply_review": apply_review, **cfg.model_dump(mode="json", exclude={"kinds"})}


def _cap(records: list[dict], limit: int | None, seed: int) -> tuple[list[dict], list[dict]]:
    """A seeded sample of at most `limit` records, in their original order."""
    if limit is None or len(records) <= limit:
        return records, []
    rank = sorted(records, key=lambda r: hashlib.sha256(f"{seed}\0{r['id']}".encode()).hexdigest())
    keep = {r["id"] for r in rank[:limit]}
    return [r for r in records if r["id"] in keep], [
        {"reason": "max_records", "record": r} for r in records if r["id"] not in keep
    ]


def _candidates(
    kind: str, units: list[dict], cfg: BuildConfig, run_dir: Path, generation: dict
) -> tuple[list[dict], list[dict], int]:
    """(candidates, removed by the kind itself, units read) for one kind; `generation` gets the
    generator's own counts (prompts, cache hits, unparseable replies) when it keeps them."""
    from corpus_ft.datasets import kinds
    from corpus_ft.datasets.chunk import chunk_units, install_stub, make_splitter, opens_mid_thought, stub

    if kind == "qa_context":
        from corpus_ft.datasets.qa_context import candidates

        records, counts = candidates(run_dir, cfg.qa_context)
        generation.update(counts)
        return records, [], len(records) + counts["no_oracle"]
    if kind == "code_summary":
        code = [u for u in units if u["kind"] in CODE_KINDS]
        if not code:
            return [], [], 0
        gen = _generator(cfg, run_dir)
        kept, removed = kinds.code_summary(code, gen, cfg)
        generation.update(getattr(gen, "stats", {}) or {})
        return kept, removed, len(code)
    docs = [u for u in units if u["kind"] in DOC_KINDS]
    size, overlap = cfg.resolved_chunking()
    dropped: list = []  # chunks with too little prose and no neighbour to join
    # a qa chunk may be all code: a section that is an example answers a how-to question
    min_prose = 0 if kind == "qa" else cfg.min_prose_words
    splitter = make_splitter(size, overlap, cfg.tokenizer)
    chunks = chunk_units(docs, splitter, min_prose, dropped) if docs else []
    if kind == "paragraphs":
        stubs = [c for c in chunks if install_stub(c)]
        cut = [c for c in chunks if not install_stub(c) and opens_mid_thought(c)]
        thin = [  # min_prose_words 0 keeps short passages too
            c
            for c in chunks
            if cfg.min_prose_words and not install_stub(c) and not opens_mid_thought(c) and stub(c, splitter)
        ]
        skip = {id(c) for c in stubs + cut + thin}
        return (
            kinds.paragraphs([c for c in chunks if id(c) not in skip]),
            [{"reason": "min_content", "record": r} for r in kinds.paragraphs(dropped + thin)]
            + [{"reason": "install_stub", "record": r} for r in kinds.paragraphs(stubs)]
            + [{"reason": "mid_thought", "record": r} for r in kinds.paragraphs(cut)],
            len(docs),
        )
    if kind == "keywords":
        return kinds.keywords(chunks, cfg, product=cfg.product or _product(run_dir, units)), [], len(docs)
    if not chunks:
        return [], [], len(docs)
    gen = _generator(cfg, run_dir)
    products = {} if cfg.product else _repo_products(run_dir)
    if len(set(products.values())) > 1:  # several repositories, several products: each question names its own
        kept, removed = [], []
        for name, product in products.items():
            mine = [c for c in chunks if c.get("repo") == name]
            if mine:
                k, r = kinds.qa(mine, gen, cfg, product=product, units=[u for u in docs if u.get("repo") == name])
                kept += k
                removed += r
    else:
        kept, removed = kinds.qa(chunks, gen, cfg, product=cfg.product or _product(run_dir, units), units=docs)
    generation.update(getattr(gen, "stats", {}) or {})
    return kept, removed, len(docs)


def _repo(run_dir: Path) -> str | None:
    """The ingested repository's path, from ingest_report.json."""
    try:
        return json.loads((run_dir / "ingest_report.json").read_text()).get("repo")
    except (OSError, ValueError):
        return None


def _repo_products(run_dir: Path) -> dict[str, str]:
    """name -> product of each repository of a several-repository run (ingest_report.json `repos`); {} for one."""
    try:
        report = json.loads((run_dir / "ingest_report.json").read_text())
    except (OSError, ValueError):
        return {}
    return {
        r["name"]: r.get("product") or r["name"]
        for r in report.get("repos") or []
        if isinstance(r, dict) and isinstance(r.get("name"), str)
    }


def _product(run_dir: Path, units: list[dict]) -> str:
    """The product questions name: what ingest read from package metadata and the README's title
    (ingest_report.json `product`); for a run ingested before that, the repository directory's name
    as the docs spell it."""
    from corpus_ft.datasets import kinds

    try:
        report = json.loads((run_dir / "ingest_report.json").read_text())
    except (OSError, ValueError):
        report = {}
    if isinstance(report.get("product"), str):
        return report["product"]
    return kinds.product_name(units, _repo(run_dir))


def _generator(cfg: BuildConfig, run_dir: Path):
    from corpus_ft.generate import get_generator

    return get_generator(cfg.generator, cache_dir=run_dir / "cache" / "generate")


def _redacted_records(candidates: list[dict], removed: list[dict], counts: Counter) -> tuple[list[dict], list[dict]]:
    """Every record redacted once it exists, before any filter or file sees it: a generator (a model
    endpoint above all) may write a secret the units never held. Units were redacted before generation
    too, so that no secret is sent to an endpoint."""
    from corpus_ft.redact import redact_record

    gone: Counter = Counter()  # removed candidates are shown (previews) but are not the dataset's counts
    return [redact_record(r, counts) for r in candidates], [
        {**e, "record": redact_record(e["record"], gone)} if isinstance(e.get("record"), dict) else e for e in removed
    ]


def _apply_review(records: list[dict], run_dir: Path, counts: Counter) -> tuple[list[dict], dict]:
    """Reviewer decisions applied (edits redacted there: a reviewer may paste anything)."""
    from corpus_ft.decisions import apply_decisions, load_decisions

    kept, review = apply_decisions(records, load_decisions(run_dir), counts)
    return kept, {"rejected": review.get("rejected", 0), "edited": review.get("edited", 0)}


def _review_splits(
    splits: dict[str, list[dict]], run_dir: Path, counts: Counter
) -> tuple[dict[str, list[dict]], dict, list[dict]]:
    """Decisions applied split by split; the records a reviewer rejected, each with its split."""
    out: dict[str, list[dict]] = {}
    review = {"rejected": 0, "edited": 0}
    rejected: list[dict] = []
    for split, records in splits.items():
        out[split], got = _apply_review(records, run_dir, counts)
        review = {k: review[k] + got[k] for k in review}
        left = {r["id"] for r in out[split]}
        rejected += [{"split": split, "record": r} for r in records if r["id"] not in left]
    return out, review, rejected


def _augment(
    kind: str, splits: dict[str, list[dict]], cfg: BuildConfig, run_dir: Path, apply_review: bool, generation: dict
) -> dict:
    """datasets.augment on the train split (in place); review decisions reach augmented records too."""
    from corpus_ft.datasets.augment import augment_stats, augment_train

    if cfg.augment is None:
        return {"removed": [], "stats": None}
    gen = _generator(cfg, run_dir) if cfg.augment.paraphrase else None
    train, removed, stats = augment_train(kind, splits, cfg, gen)
    if gen is not None:
        generation.update(getattr(gen, "stats", {}) or {})
    if apply_review:  # a reviewer may reject an augmented record itself, or its source (decisions.py)
        train, _ = _apply_review(train, run_dir, Counter())
        stats = augment_stats(train, [r for r in train if "augmented" in r["meta"]], removed)
    splits["train"] = train
    return {"removed": removed, "stats": stats}


PREVIEW_CHARS = 200


def _removed_row(entry: dict) -> dict:
    """removed.jsonl: the id, reason and source of a removed candidate and a short preview, never the
    whole record (a 500-deep nested file once made a 418 MB removed.jsonl)."""
    rec = entry.get("record") or {}
    text = (
        rec.get("text")
        if isinstance(rec.get("text"), str)
        else "\n".join(
            m.get("content", "") for m in rec.get("messages") or [] if m.get("role") in ("user", "assistant")
        )
    )
    return {
        "id": rec.get("id"),
        "reason": entry.get("reason"),
        "source": rec.get("source"),
        **{k: v for k, v in entry.items() if k not in ("record", "reason")},
        "preview": (text or "")[:PREVIEW_CHARS],
    }


def _stats(
    kind: str,
    cfg: BuildConfig,
    units_in: int,
    candidates: list[dict],
    kept: list[dict],
    removed: list[dict],
    splits: dict[str, list[dict]],
    redactions: Counter,
    review: dict,
    generation: dict,
) -> dict:
    """stats.json: the counts the card, the review page and `corpus-ft build --json` show."""
    from corpus_ft.datasets.quality import REASONS

    size, overlap = cfg.resolved_chunking()
    settings = {
        **cfg.model_dump(mode="json", exclude={"kinds", "generator", "chunk_size", "chunk_overlap"}),
        "chunk_size": size,
        "chunk_overlap": overlap,
        "chunk_unit": "tokens" if cfg.tokenizer else "characters",
        "generator": cfg.generator.model_dump(
            mode="json", include={"type", "model", "base_url", "questions_per_chunk", "temperature"}
        ),
    }
    from corpus_ft.redact import redact_settings  # stats and the card show the settings: no URL credential

    settings = redact_settings(settings)
    reasons = Counter(r["reason"] for r in removed)
    files = dict(sorted(Counter(r["source"]["path"] for r in kept).items()))
    warnings = []
    if not units_in:
        what = "code definitions" if kind == "code_summary" else "document sections"
        warnings.append(f"units.parquet has no {what}, so the {kind} dataset is empty")
    elif not candidates and kind in ("qa", "code_summary"):
        warnings.append(
            f"the {cfg.generator.type} generator wrote nothing usable for {units_in} units; "
            "check its model and prompts (a tiny random-init model writes none)"
        )
    return {
        "kind": kind,
        "generator": cfg.generator.type,
        "units_in": units_in,
        "candidates": len(candidates)
        + reasons["ungrounded"]
        + reasons["no_summary"]
        + reasons["needs_model_generator"],
        "total": len(kept),
        "splits": {name: len(rows) for name, rows in splits.items()},
        "removed": {reason: reasons.get(reason, 0) for reason in REASONS},
        "redactions": dict(sorted(redactions.items())),
        "review": review,
        "languages": dict(Counter(r["meta"]["language"] for r in kept).most_common()),
        "files": files,
        "settings": settings,
        "generation": generation,
        "warnings": warnings,
        # code units without a doc comment the offline generator left for `hf`/`openai` to summarise
        **(
            {
                "needs_model_generator": len(
                    {r["record"]["source"]["unit_id"] for r in removed if r["reason"] == "needs_model_generator"}
                )
            }
            if kind == "code_summary"
            else {}
        ),
    }


def repo_counts(units: list[dict], splits: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    """Per repository (units.parquet `repo`): the kind's units read, its records and each split's share."""
    out: dict[str, dict[str, int]] = {}
    for name, n in sorted(Counter(u.get("repo") or "" for u in units).items()):
        out[name] = {"units": n, "records": 0, **{s: 0 for s in splits}}
    for split, rows in splits.items():
        for r in rows:
            row = out.setdefault(r["source"].get("repo") or "", {"units": 0, "records": 0, **{s: 0 for s in splits}})
            row["records"] += 1
            row[split] += 1
    return out


def split_warnings(results: dict[str, dict]) -> list[str]:
    """What the CLI prints after a build: each kind split within files, and each kind not ready for it."""
    lines = []
    for kind, stats in results.items():
        split = stats.get("split") or {}
        if split.get("note"):
            lines.append(f"note: {kind}: {split['note']}")
        for problem in split.get("problems") or []:
            lines.append(
                f"NOT READY: {kind}: {problem}; add documents or code to the repository, or train without "
                "evaluation data on purpose with train.allow_no_eval=true"
            )
    return lines


@with_run_lock("build", "run_dir")
def build_dataset(
    kind: str,
    run_dir: str | Path,
    config: BuildConfig | None = None,
    *,
    apply_review: bool = False,
    force: bool = False,
    **overrides: Any,
) -> dict:
    """Build RUN_DIR/datasets/KIND from RUN_DIR/units.parquet and return its stats.

    Skips the work (returning the stored stats with "skipped": true) when the manifest shows
    the same units.parquet, review decisions and config, unless `force`.
    """
    from corpus_ft.datasets.card import write_card
    from corpus_ft.datasets.export import write_splits
    from corpus_ft.datasets.measure import dataset_quality
    from corpus_ft.datasets.quality import filter_records
    from corpus_ft.datasets.split import SPLITS, plan_split, split_problems
    from corpus_ft.decisions import load_decisions

    if kind not in KINDS:
        raise CorpusFtError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)} or `all`")
    run_dir = Path(run_dir)
    cfg = resolve_config(config, overrides)
    units_path = units_file(run_dir)
    out_dir = run_dir / "datasets" / kind
    inputs: dict[str, Path] = {"units": units_path}
    decisions = run_dir / "review" / "decisions.jsonl"
    inputs["decisions"] = decisions  # records change only with apply_review, the verdict (a person's read) always
    if kind == "qa_context":  # made from the built datasets, not from the units alone
        inputs.update({k: run_dir / "datasets" / k / "train.jsonl" for k in ("qa", "paragraphs", "code_summary")})
    manifest_config = _manifest_config(kind, cfg, apply_review)
    if not force and is_up_to_date(out_dir, inputs, manifest_config) and (out_dir / "stats.json").is_file():
        return {**json.loads((out_dir / "stats.json").read_text()), "skipped": True}

    from corpus_ft.redact import project_domains, public_domains

    domains = project_domains(_repo(run_dir))
    cached, counts = _redacted_units(str(units_path.resolve()), sha256_file(units_path), domains)
    units, left_out = by_policy(
        [dict(u) for u in cached], cfg.include, CODE_KINDS if kind == "code_summary" else DOC_KINDS, cfg.keep_languages
    )
    redactions: Counter = Counter(dict(counts))
    generation: dict = {}
    candidates, removed, units_in = _candidates(kind, units, cfg, run_dir, generation)
    with public_domains(domains):
        candidates, removed = _redacted_records(candidates, removed, redactions)
    control_chars = redactions.pop("control_characters", 0)  # stripped with redaction; reported on its own
    # qa_context records repeat qa records that passed these filters; their passages would read as duplicates
    kept, filtered = filter_records(candidates, cfg) if kind != "qa_context" else (candidates, [])
    removed += filtered
    kept, capped = _cap(kept, cfg.max_records, cfg.seed)
    removed += capped
    # Split before review: a rejection never moves another record between splits, and a rejected
    # record keeps its split in rejected.jsonl, where the review app finds it to undo.
    if kind == "qa_context":  # the qa pair's split: no passage of a held-out file in a train record
        from corpus_ft.datasets.qa_context import keep_splits
        from corpus_ft.datasets.split import SplitPlan

        plan = SplitPlan(keep_splits(kept), "its qa pair's split")
    else:
        plan = plan_split(kept, cfg.split_ratios, cfg.seed, code=kind == "code_summary")
    splits = plan.splits
    review = {"rejected": 0, "edited": 0}
    rejected: list[dict] = []
    if apply_review:
        splits, review, rejected = _review_splits(splits, run_dir, redactions)
        kept = [r for s in SPLITS for r in splits[s]]
    augmented = _augment(kind, splits, cfg, run_dir, apply_review, generation)
    removed += augmented["removed"]
    plan.problems = split_problems(splits, cfg.split_ratios)

    stats = _stats(kind, cfg, units_in, candidates, kept, removed, splits, redactions, review, generation)
    stats["split"] = plan.summary()
    stats["repos"] = repo_counts(units, splits)
    stats["warnings"] += [w for w in (plan.note, *plan.problems) if w]
    stats["settings"]["apply_review"] = apply_review
    stats["control_characters_removed"] = control_chars
    stats["left_out"] = left_out  # units of categories the content policy leaves out, by category
    stats["augment"] = augmented["stats"]
    with atomic_dir(out_dir) as tmp:
        stats["exports"] = write_splits(tmp, splits, cfg.formats)
        stats["quality"] = dataset_quality(
            kind,
            kept,
            removed,
            units,
            include=getattr(cfg, "include", None) or (),
            generation=generation,
            decisions=load_decisions(run_dir) if decisions.is_file() else {},
            read_records=[e["record"] for e in rejected],
        )
        if plan.problems and kept:  # empty evaluation splits: not ready, whatever the other signals say
            stats["quality"]["verdict"] = "not ready: " + "; ".join(plan.problems)
        write_jsonl(tmp / "removed.jsonl", (_removed_row(r) for r in removed))
        if rejected:
            write_jsonl(tmp / "rejected.jsonl", rejected)
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        write_card(tmp / "card.md", stats, splits, units_path)
        write_manifest(tmp, "build", inputs, manifest_config)
    return stats


@with_run_lock("build", "run_dir")
def build_all(
    run_dir: str | Path,
    config: BuildConfig | None = None,
    *,
    kinds: list[str] | None = None,
    apply_review: bool = False,
    force: bool = False,
    **overrides: Any,
) -> dict[str, dict]:
    """Every kind the config lists (or `kinds`), one stats dict per kind."""
    cfg = resolve_config(config, overrides)
    return {k: build_dataset(k, run_dir, cfg, apply_review=apply_review, force=force) for k in (kinds or cfg.kinds)}
