"""What the last run learned per file, under RUN_DIR/.cache/ingest/files.json, so a re-run re-reads nothing unchanged.

For each path it keeps the file's size, mtime and inode (to tell "unchanged" without reading
it, as git's index does), its sha256 and the outcome of reading it (status, skip reason,
warnings). The units of unchanged files are taken from the previous units.parquet in one read;
the index is valid only for the same reader fingerprint and that exact units.parquet.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus_ft.ingest.walk import Candidate
from corpus_ft.util import atomic_write_text


class FileIndex:
    """Per-file outcomes of the previous run, keyed by path and checked by stat and content hash."""

    def __init__(self, out_dir: Path, fingerprint: str):
        self.path = out_dir / ".cache" / "ingest" / "files.json"
        self.units_path = out_dir / "units.parquet"
        self.fingerprint = fingerprint
        self.files: dict[str, list] = {}
        self.skipped: list[list[str]] | None = None
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if data.get("fingerprint") == fingerprint and data.get("units_stat") == _stat(self.units_path):
            self.files = data.get("files", {})
            self.skipped = data.get("skipped")

    def lookup(self, c: Candidate) -> dict | None:
        """The previous record for this path if its size, mtime and inode are unchanged."""
        rec = self.files.get(c.rel)
        if rec and rec[0] == c.size and rec[1] == c.mtime_ns and rec[2] == c.ino:
            return rec[3]
        return None

    def save(self, candidates: dict[str, Candidate], records: dict[str, dict], skipped: list) -> None:
        files = {
            rel: [candidates[rel].size, candidates[rel].mtime_ns, candidates[rel].ino, rec]
            for rel, rec in records.items()
            if rec.get("sha")
        }
        data = {
            "fingerprint": self.fingerprint,
            "units_stat": _stat(self.units_path),
            "skipped": [list(s) for s in skipped],
            "files": files,
        }
        atomic_write_text(self.path, json.dumps(data, separators=(",", ":"), ensure_ascii=False))


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]
