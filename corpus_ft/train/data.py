"""Training data: read the run's datasets, honour review decisions, mix kinds by weight, tokenize.

Kinds are tokenized here, not by TRL, because one run mixes two record shapes: `paragraphs`
carry `text` (language-modeling loss on every token) and the instruction kinds carry chat
`messages` (loss on the assistant turns only, through the template's `{% generation %}` mask).
Each record becomes `input_ids` + `labels` (-100 where no loss), which `SFTTrainer` takes as a
processed dataset and packs (best-fit decreasing, padding-free) without re-tokenizing.
"""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path

from corpus_ft.train.config import KINDS, TrainConfig
from corpus_ft.util import CorpusFtError, read_jsonl

log = logging.getLogger(__name__)


def kind_weights(run_dir: Path, config: TrainConfig) -> dict[str, float]:
    """The kinds to train and their weights: `config.mix`, or every built kind at weight 1."""
    if config.mix:
        return {k: w for k, w in config.mix.items() if w > 0}
    built = {k: 1.0 for k in KINDS if (run_dir / "datasets" / k).is_dir()}
    if not built:
        raise CorpusFtError(
            f"{run_dir / 'datasets'}: no dataset built; run `corpus-ft build` for at least one of "
            f"{', '.join(KINDS)} first"
        )
    return built


def load_split(run_dir: Path, kind: str, split: str) -> list[dict]:
    """Records of one split of one kind: the JSONL a person can read, else the DatasetDict on disk."""
    d = run_dir / "datasets" / kind
    if not d.is_dir():
        raise CorpusFtError(f"{d}: not found; build it (`corpus-ft build`) or remove '{kind}' from train.mix")
    path = d / f"{split}.jsonl"
    if path.is_file():
        records = read_jsonl(path)
    elif (d / "dataset_dict.json").is_file():
        from datasets import load_from_disk

        dd = load_from_disk(str(d))
        records = dd[split].to_list() if split in dd else []
    else:
        raise CorpusFtError(f"{d}: has neither {split}.jsonl nor a DatasetDict; rebuild it with `corpus-ft build`")
    for i, rec in enumerate(records, 1):
        problem = _record_problem(rec)
        if problem:
            raise CorpusFtError(
                f"{path}: record {i} (id={rec.get('id') if isinstance(rec, dict) else None}): "
                f"{problem}; rebuild the dataset or fix that line"
            )
    return records


def _record_problem(rec) -> str | None:
    if not isinstance(rec, dict):
        return "not a JSON object"
    if "messages" in rec and rec["messages"] is not None:
        msgs = rec["messages"]
        if not isinstance(msgs, list) or not all(isinstance(m, dict) and "role" in m and "content" in m for m in msgs):
            return "'messages' must be a list of {role, content}"
        if not any(m["role"] == "assistant" and str(m["content"]).strip() for m in msgs):
            return "no non-empty assistant turn to train on"
        return None
    if isinstance(rec.get("text"), str) and rec["text"].strip():
        return None
    return "needs non-empty 'text' (paragraphs) or 'messages' (instruction kinds)"


def reviewed(run_dir: Path, records: list[dict]) -> tuple[list[dict], dict]:
    """Review decisions through the one function that applies them (edits redacted), for datasets built without."""
    from corpus_ft.decisions import apply_decisions, load_decisions

    decisions = load_decisions(run_dir)
    if not decisions:
        return records, {"rejected": 0, "edited": 0}
    return apply_decisions(records, decisions)


def mix(by_kind: dict[str, list[dict]], weights: dict[str, float], seed: int) -> list[dict]:
    """Weight w: each record floor(w) times plus a seeded sample of frac(w) of them, then shuffled."""
    rng = random.Random(seed)
    out: list[dict] = []
    for kind in sorted(by_kind):
        records, w = by_kind[kind], weights[kind]
        whole, frac = int(math.floor(w)), w - math.floor(w)
        out.extend(records * whole)
        if frac > 0:
            out.extend(rng.sample(records, round(frac * len(records))))
    rng.shuffle(out)
    return out


def tokenize(record: dict, tokenizer, assistant_only_loss: bool) -> dict[str, list[int]]:
    """input_ids and labels for one record: chat through the template's mask, text as plain LM."""
    if record.get("messages"):
        enc = tokenizer.apply_chat_template(
            record["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=assistant_only_loss
        )
        ids = list(enc["input_ids"])
        if assistant_only_loss:
            labels = [t if m else -100 for t, m in zip(ids, enc["assistant_masks"], strict=True)]
        else:
            labels = list(ids)
    else:
        ids = list(tokenizer(record["text"] + tokenizer.eos_token)["input_ids"])
        labels = list(ids)
    return {"input_ids": ids, "labels": labels}


def to_dataset(records: list[dict], tokenizer, config: TrainConfig, counts: dict | None = None):
    """A `datasets.Dataset` of input_ids/labels; over-long rows are cut to seq_len, rows with no loss dropped.

    `counts`, when given, receives how many rows there were, how many were cut and how many were
    dropped because nothing to learn from was left before the cut (an answer past seq_len).
    """
    from datasets import Dataset

    rows = {"input_ids": [], "labels": []}
    cut = dropped = 0
    for rec in records:
        r = tokenize(rec, tokenizer, config.assistant_only_loss)
        cut += len(r["input_ids"]) > config.seq_len
        ids, labels = r["input_ids"][: config.seq_len], r["labels"][: config.seq_len]
        if any(x != -100 for x in labels[1:]):
            rows["input_ids"].append(ids)
            rows["labels"].append(labels)
        else:
            dropped += 1
    if counts is not None:
        counts.update(rows=len(records), cut=cut, dropped=dropped)
    return Dataset.from_dict(rows)


def _warn_truncation(split: str, counts: dict, seq_len: int) -> None:
    """Say when seq_len cuts rows (long answers or retrieved passages lose their end, or the whole row)."""
    if counts["cut"]:
        log.warning(
            "%d of %d %s rows are longer than seq_len=%d: cut at %d tokens, %d of them dropped (nothing to learn "
            "from before the cut); raise train.seq_len to keep them whole",
            counts["cut"],
            counts["rows"],
            split,
            seq_len,
            seq_len,
            counts["dropped"],
        )


def load_datasets(run_dir: Path, config: TrainConfig, tokenizer):
    """Train and validation datasets for the mix, and what went into them (for train_config.json)."""
    weights = kind_weights(run_dir, config)
    train_by_kind: dict[str, list[dict]] = {}
    val: list[dict] = []
    summary: dict[str, dict] = {}
    for kind in weights:
        records, counts = reviewed(run_dir, load_split(run_dir, kind, "train"))
        if not records:
            raise CorpusFtError(
                f"{run_dir / 'datasets' / kind / 'train.jsonl'}: no training records "
                f"(after review); rebuild '{kind}' or remove it from train.mix"
            )
        val_records, _ = reviewed(run_dir, load_split(run_dir, kind, "validation"))
        train_by_kind[kind] = records
        val.extend(val_records)
        summary[kind] = {
            "weight": weights[kind],
            "train": len(records),
            "validation": len(val_records),
            "review": {k: counts.get(k, 0) for k in ("rejected", "edited")},
        }
    truncation: dict[str, dict] = {"train": {}, "validation": {}}
    train_ds = to_dataset(mix(train_by_kind, weights, config.seed), tokenizer, config, truncation["train"])
    _warn_truncation("train", truncation["train"], config.seq_len)
    if len(train_ds) == 0:
        raise CorpusFtError(
            f"no training record has a token to learn from after truncation to seq_len={config.seq_len}; raise seq_len"
        )
    eval_ds = to_dataset(val, tokenizer, config, truncation["validation"]) if val else None
    if val:
        _warn_truncation("validation", truncation["validation"], config.seq_len)
    if eval_ds is not None and len(eval_ds) == 0:
        eval_ds = None
    if eval_ds is None and not config.allow_no_eval:
        raise CorpusFtError(
            f"no validation records in {', '.join(str(run_dir / 'datasets' / k / 'validation.jsonl') for k in weights)}"
            " (after review and truncation), so training would run without eval loss or early stopping; "
            "rebuild with more source files, or set train.allow_no_eval=true (--allow-no-eval) to train blind on purpose"
        )
    summary["truncation"] = truncation
    return train_ds, eval_ds, summary
