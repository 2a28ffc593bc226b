"""Splits by source file, never by record: a file's records all land in one split, so test
measures what the model did not see. Deterministic for a seed."""

from __future__ import annotations

import hashlib

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


def split_records(records: list[dict], ratios: tuple[float, float, float], seed: int) -> dict[str, list[dict]]:
    """Records grouped into train/validation/test by their source file."""
    where = assign_files([r["source"]["path"] for r in records], ratios, seed)
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r in records:
        out[where[r["source"]["path"]]].append(r)
    return out
