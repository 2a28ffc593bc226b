"""A persistent response cache, so that a re-run or a resumed run never pays twice for a prompt.

One sqlite3 file (`responses.sqlite` under the cache directory), shared by the `hf` and
`openai` generators and by the LLM judge. The key is the sha256 of the request that decides
the answer (model, messages, sampling parameters), never of the endpoint URL: the same model
served by vLLM on one host and by llama.cpp on another answers from the same entries.
Every response is committed as soon as it arrives, so a killed run keeps what it paid for.
Safe to share between threads (one lock) and processes (WAL journal, busy timeout).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from corpus_ft.util import CorpusFtError, sha256_text

CACHE_FILE = "responses.sqlite"


def request_key(model: str, messages: list[dict], params: dict[str, Any]) -> str:
    """sha256 of what decides a response: model, messages and sampling parameters (not the URL)."""
    payload = {"model": model, "messages": messages, "params": params}
    return sha256_text(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


class ResponseCache:
    """Key -> response text in sqlite; `get` and `put` may be called from many threads."""

    def __init__(self, cache_dir: str | Path):
        self.path = Path(cache_dir) / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                "key TEXT PRIMARY KEY, request TEXT NOT NULL, response TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as e:
            raise CorpusFtError(
                f"{self.path}: cannot open the response cache ({e}); delete the file or set generator.cache: false",
                exit_code=1,
            ) from None
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, response: str, request: dict | None = None) -> None:
        """Store and commit at once (autocommit), so the entry survives a crash right after."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, request, response, created) VALUES (?, ?, ?, ?)",
                (key, json.dumps(request or {}, ensure_ascii=False), response, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
