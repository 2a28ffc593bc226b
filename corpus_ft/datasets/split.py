"""Splits by source file where the repository has enough files: a file's records all land in one
split, so test measures what the model did not see. A small repository (a one-page site, a
single module) has too few files for that; it is split by section (documents) or by unit (code)
within files instead, every record of one section or unit in one split, and the stats say so.
A split that stays empty is reported as a problem: the dataset is not ready. Deterministic for a seed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

SPLITS = ("train", "validation", "test")


def _position(seed: int, path: str) -> float:
    """Where a file falls in [0, 1) for this seed: the same file, the same place, every run."""
    return int(hashlib.sha256(f"{seed}\0{path}".encode()).hexdigest()[:15], 16) / 16**15


def assign_files(paths: list[str], ratios: tuple[float, float, float], seed: int) -> dict[str, str]:
    """path -> split. With 3 or more files neither validation nor test is left empty
    (when its ratio is above zero); with fewer, the first files go to train, then test."""
    ordered = sorted(set(paths), key=lambda p: (_position(seed, p), p))
    if len(ordered) < 3:
        return {p: ("train", "test")[i] if ratios[2] > 0 else "train" for i, p in enumerate(ordered)}
    cut_train, cut_val = ratios[0], ratios[0] + ratios[1]
    out = {
        p: "train" if _position(seed, p) < cut_train else "validation" if _position(seed, p) < cut_val else "test"
        for p in ordered
    }
    # Small corpora: take the files at the end of the order for an empty split, from whichever
    # split has the most files, so every split with a share has at least one file.
    for split, ratio in (("test", ratios[2]), ("validation", ratios[1])):
        if ratio > 0 and split not in out.values():
            counts = {s: sum(1 for v in out.values() if v == s) for s in SPLITS}
            donor = max(("train", "validation", "test"), key=lambda s: counts[s])
            victim = next(p for p in reversed(ordered) if out[p] == donor)
            out[victim] = split
    return out


@dataclass
class SplitPlan:
    """The records of each split, what they were grouped by, and why (for stats.json and the card)."""

    splits: dict[str, list[dict]]
    by: str  # "file", "section" (documents) or "unit" (code)
    note: str = ""
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"by": self.by, "note": self.note, "problems": list(self.problems)}


def _group(record: dict, by: str) -> str:
    """The key that keeps records together: the file, or the section/unit within its file."""
    src = record["source"]
    if by == "file":
        return src["path"]
    return f"{src['path']}\0{src.get('unit_id') or src.get('start_line')}"


def _by(records: list[dict], ratios: tuple[float, float, float], seed: int, by: str) -> dict[str, list[dict]]:
    where = assign_files([_group(r, by) for r in records], ratios, seed)
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r in records:
        out[where[_group(r, by)]].append(r)
    return out


def _empty(splits: dict[str, list[dict]], ratios: tuple[float, float, float]) -> list[str]:
    """Splits that were given a share but hold no record."""
    return [s for s, ratio in zip(SPLITS, ratios) if ratio > 0 and not splits[s]]


def plan_split(records: list[dict], ratios: tuple[float, float, float], seed: int, *, code: bool = False) -> SplitPlan:
    """Group by file; when files are too few for every split to get one, group by section (or unit)."""
    splits = _by(records, ratios, seed, "file")
    if not records or not _empty(splits, ratios):
        return SplitPlan(splits, "file")
    files = len({r["source"]["path"] for r in records})
    by = "unit" if code else "section"
    finer = _by(records, ratios, seed, by)
    groups = len({_group(r, by) for r in records})
    if len(_empty(finer, ratios)) < len(_empty(splits, ratios)):
        note = (
            f"{files} source file(s) are too few for a file-grouped split, so records were split by {by} "
            f"within files ({groups} {by}s): every record of one {by} is in one split, but a file's other "
            f"{by}s may be in train, so test measures unseen {by}s, not unseen files"
        )
        return SplitPlan(finer, by, note)
    return SplitPlan(splits, "file", f"{files} source file(s) and {groups} {by}(s): too few to fill every split")


def split_problems(splits: dict[str, list[dict]], ratios: tuple[float, float, float]) -> list[str]:
    """Why the final splits cannot support training with evaluation: each empty split, named."""
    return [
        f"the {s} split is empty ({'no validation loss or early stopping' if s == 'validation' else 'nothing held out to evaluate on'})"
        for s in _empty(splits, ratios)
    ]


def split_records(records: list[dict], ratios: tuple[float, float, float], seed: int) -> dict[str, list[dict]]:
    """Records grouped into train/validation/test by their source file (by section when files are too few)."""
    return plan_split(records, ratios, seed).splits
