"""`datasets.augment:` more training records from the train split alone, for small datasets.

    augment: {offline: [question_templates, sentence_window], variants: 2, paraphrase: 0}

Runs after the file-grouped split, on the TRAIN split only: validation and test stay byte-identical,
and no augmented record can carry a held-out file's text (each is made from one train record).
Two sources: offline rewrites that need no download and no model (a small deterministic template
set for questions, sentence-window crops of paragraphs), and question paraphrases written by the
configured model generator (hf/openai, prompt `generate/prompts/qa_paraphrase.txt`). Every
augmented record carries `meta.augmented = {"from": SOURCE_ID, "op": OP}` and passes the builder's
own filters (`quality.filter_records`): the per-record checks and exact/near-duplicate removal
among augmentations, and exact-duplicate removal against every original record of every split.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus_ft.settings import DEFAULT_KINDS, Kind

OfflineOp = Literal["question_templates", "sentence_window"]
OFFLINE_OPS: tuple[str, ...] = ("question_templates", "sentence_window")
PARAPHRASE_OP = "paraphrase"
INSTRUCTION_KINDS = ("qa", "keywords", "code_summary")  # a user turn to rewrite


class AugmentConfig(BaseModel):
    """Extra train records made from train records (the `datasets.augment:` block); off when absent."""

    model_config = ConfigDict(extra="forbid")

    offline: list[OfflineOp] = Field(
        default_factory=lambda: list(OFFLINE_OPS),
        description=(
            "offline ops, no model or download: question_templates rewrites the question of qa/keywords/code_summary "
            "records from a fixed template set ('How do I X?' -> 'Explain how to X.'); sentence_window crops a "
            "paragraphs record to a window of its sentences. [] for none"
        ),
    )
    variants: int = Field(
        1,
        ge=1,
        le=8,
        description=(
            "records each offline op writes per source record (at most; fewer when fewer templates/windows fit). "
            "More: a bigger train split and more repeated answers (overfits them sooner)"
        ),
    )
    paraphrase: int = Field(
        0,
        ge=0,
        le=8,
        description=(
            "question paraphrases per qa/keywords record written by the configured generator (hf/openai only); "
            "one model request per record, cached like the generator's other replies"
        ),
    )
    kinds: list[Kind] = Field(
        default_factory=lambda: list(DEFAULT_KINDS), description="which datasets get augmented records"
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="which templates and windows each record gets")

    @field_validator("offline", "kinds", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v


# --- question templates -------------------------------------------------------------------------
# (pattern on the whole question, rewrites using its groups). Plain and few on purpose: each rewrite
# keeps every content word of the original, so the answer still answers it.
_TEMPLATES: list[tuple[re.Pattern, tuple[str, ...]]] = [
    (re.compile(p, re.I | re.S), r)
    for p, r in [
        (
            r"^How (?:do|can) I (.+?)\?$",
            ("What is the way to {0}?", "Explain how to {0}.", "What are the steps to {0}?"),
        ),
        (r"^How does (.+?) work\?$", ("Explain how {0} works.", "What is the mechanism behind {0}?")),
        (
            r"^What does (.+?) documentation say about (.+?)\?$",
            (
                "Summarise what {0} documentation says about {1}.",
                "Explain {1}, as {0} documentation describes it.",
                "What is documented in {0} documentation about {1}?",
            ),
        ),
        (r"^What does (.+?) do\?$", ("Explain what {0} does.", "Describe the purpose of {0}.")),
        (r"^What (is|are) (.+?)\?$", ("Explain {1}.", "Describe {1}.", "Tell me what {1} {0}.")),
        (r"^Tell me about (.+?)\.$", ("Explain {0}.", "Give me an overview of {0}.", "What should I know about {0}?")),
        (r"^Explain what (`[^`]+`.*?) does\.(.*)$", ("What does {0} do?{1}", "Describe the behaviour of {0}.{1}")),
        (r"^Explain (.+?)\.$", ("Tell me about {0}.", "Give me an overview of {0}.")),
        (r"^Give me an overview of (.+?)\.$", ("Tell me about {0}.", "Explain {0}.")),
        (r"^Write (`[^`]+`.*)$", ("Implement {0}", "Show the code of {0}")),
    ]
]
_FALLBACK = ("I'd like to know: {0}", "Question about our documentation: {0}")


def question_rewrites(question: str) -> list[str]:
    """Every template rewrite of a question (its first line; later lines are kept as they are)."""
    first, sep, rest = question.partition("\n")
    first = first.strip()
    for pattern, rewrites in _TEMPLATES:
        m = pattern.match(first)
        if m:
            out = [r.format(*m.groups()) for r in rewrites]
            break
    else:
        out = [f.format(first) for f in _FALLBACK] if first else []
    return [o + sep + rest for o in out if o != first]


def _with_user(record: dict, text: str) -> dict:
    msgs = [{**m, "content": text} if m["role"] == "user" else dict(m) for m in record["messages"]]
    return {**record, "messages": msgs}


def _user(record: dict) -> str:
    return next((m["content"] for m in record.get("messages") or [] if m["role"] == "user"), "")


# --- sentence windows ---------------------------------------------------------------------------
_BOUNDARY = re.compile(r"(?<=[.!?])[ \t]+(?=[A-Z`\"'(\[])|\n(?=[ \t]*(?:[-*+]|\d+[.)])[ \t])|\n{2,}")


def sentence_windows(text: str, n: int, rng: random.Random) -> list[str]:
    """Up to n crops of the body to a window of ~60% of its sentences; a first line that is a
    heading path or a markdown heading stays on every crop, so the crop still says what it is about."""
    head, sep, body = text.partition("\n\n")
    if not sep or len(head.splitlines()) > 1 or (" > " not in head and not head.lstrip().startswith("#")):
        head, body = "", text
    cuts = [0] + [m.end() for m in _BOUNDARY.finditer(body)] + [len(body)]
    pieces = [(a, b) for a, b in zip(cuts, cuts[1:]) if body[a:b].strip()]
    if len(pieces) < 3:
        return []
    size = max(2, round(0.6 * len(pieces)))
    starts = list(range(len(pieces) - size + 1))
    rng.shuffle(starts)
    out = []
    for s in starts[:n]:
        crop = body[pieces[s][0] : pieces[s + size - 1][1]].strip()
        out.append(f"{head}\n\n{crop}" if head else crop)
    return out


# --- records ------------------------------------------------------------------------------------
def _mark(source: dict, op: str, n: int, record: dict) -> dict:
    """An augmented record: its own id (stable for source, op and text), its source in meta.augmented."""
    body = record.get("text") or _user(record)
    digest = hashlib.sha256(f"{source['id']}\0{op}\0{body}".encode()).hexdigest()[:12]
    return {
        **record,
        "id": f"{source['id']}-aug-{digest}",
        "meta": {**source.get("meta", {}), "augmented": {"from": source["id"], "op": op, "n": n}},
    }


def offline_candidates(kind: str, records: list[dict], cfg: AugmentConfig) -> list[dict]:
    """The offline ops' records for one kind's train records, deterministic for cfg.seed."""
    out = []
    for rec in records:
        rng = random.Random(f"{cfg.seed}\0{rec['id']}")
        if "question_templates" in cfg.offline and kind in INSTRUCTION_KINDS:
            rewrites = question_rewrites(_user(rec))
            rng.shuffle(rewrites)
            out += [
                _mark(rec, "question_templates", i, _with_user(rec, q)) for i, q in enumerate(rewrites[: cfg.variants])
            ]
        if "sentence_window" in cfg.offline and kind == "paragraphs":
            out += [
                _mark(rec, "sentence_window", i, {**rec, "text": t})
                for i, t in enumerate(sentence_windows(rec["text"], cfg.variants, rng))
            ]
    return out


def paraphrase_candidates(kind: str, records: list[dict], cfg: AugmentConfig, generator) -> list[dict]:
    """Question paraphrases written by a model generator (one request per record), redacted like units."""
    if not cfg.paraphrase or kind not in ("qa", "keywords"):
        return []
    from corpus_ft.redact import redact

    questions = [_user(r) for r in records]
    out = []
    for rec, alternatives in zip(records, generator.paraphrases(questions, cfg.paraphrase)):
        where = {"filename": rec["source"]["path"], "language": "text"}
        out += [
            _mark(rec, PARAPHRASE_OP, i, _with_user(rec, redact(q, **where)))
            for i, q in enumerate(alternatives[: cfg.paraphrase])
        ]
    return out


def augment_train(
    kind: str, splits: dict[str, list[dict]], build_cfg, generator=None
) -> tuple[list[dict], list[dict], dict]:
    """(train records with their augmentations after them, removed augmentations, stats) for one kind.

    Only splits["train"] is read for sources; the other splits are read only to drop an augmentation
    that would exactly repeat one of their records."""
    from corpus_ft.datasets.quality import filter_records

    cfg: AugmentConfig = build_cfg.augment
    train = splits["train"]
    if cfg is None or kind not in cfg.kinds or not train:
        return train, [], augment_stats(train, [], [])
    candidates = offline_candidates(kind, train, cfg)
    if generator is not None:
        candidates += paraphrase_candidates(kind, train, cfg, generator)
    kept, removed = filter_records(candidates, build_cfg)  # the builder's own checks, among augmentations
    originals = [r for rows in splits.values() for r in rows]
    _, against = filter_records(originals + kept, build_cfg)
    exact = {
        e["record"]["id"] for e in against if e["reason"] == "exact_duplicate" and "augmented" in e["record"]["meta"]
    }
    removed += [{"reason": "exact_duplicate", "record": r} for r in kept if r["id"] in exact]
    kept = [r for r in kept if r["id"] not in exact]
    by_source: dict[str, list[dict]] = {}
    for r in kept:
        by_source.setdefault(r["meta"]["augmented"]["from"], []).append(r)
    merged = [x for r in train for x in (r, *by_source.get(r["id"], ()))]
    return merged, removed, augment_stats(merged, kept, removed)


def augment_stats(train: list[dict], kept: list[dict], removed: list[dict]) -> dict:
    """stats.json `augment`: how many of the train records are augmented, by op, and what was removed."""
    return {
        "train_records": len(train),
        "augmented": len(kept),
        "by_op": dict(sorted(Counter(r["meta"]["augmented"]["op"] for r in kept).items())),
        "removed": dict(sorted(Counter(e["reason"] for e in removed).items())),
    }


def augment_built(src: Path, dst: Path, kind: str, cfg: AugmentConfig) -> dict:
    """A copy of a built kind (SRC = RUN_DIR/datasets/KIND) at DST with augmentation applied to its train
    split only, through the same filters it was built with; SRC is only read. Returns its `augment` stats."""
    import json

    from corpus_ft.datasets.config import BuildConfig
    from corpus_ft.datasets.export import write_splits
    from corpus_ft.datasets.split import SPLITS
    from corpus_ft.util import CorpusFtError, atomic_dir, read_jsonl, write_manifest

    try:
        built = json.loads((src / "manifest.json").read_text())["config"]
    except (OSError, ValueError, KeyError) as e:
        raise CorpusFtError(
            f"{src}/manifest.json: cannot read the settings it was built with ({e}); "
            f"rebuild it with `corpus-ft build {kind}`"
        ) from None
    build_cfg = BuildConfig.model_validate(
        {k: v for k, v in built.items() if k not in ("kind", "apply_review", "augment")} | {"augment": cfg.model_dump()}
    )
    splits = {s: read_jsonl(src / f"{s}.jsonl") for s in SPLITS}
    splits["train"], removed, stats = augment_train(kind, splits, build_cfg)
    with atomic_dir(dst) as tmp:
        write_splits(tmp, splits, build_cfg.formats)
        (tmp / "stats.json").write_text(
            json.dumps({"kind": kind, "splits": {s: len(r) for s, r in splits.items()}, "augment": stats}, indent=2)
            + "\n",
            encoding="utf-8",
        )
        write_manifest(tmp, "augment", {"train": src / "train.jsonl"}, build_cfg.model_dump(mode="json"))
    return stats
