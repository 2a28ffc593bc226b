"""The `openai` generator and its client: any OpenAI-compatible endpoint (vLLM, Ollama, TGI,
llama.cpp server, OpenAI, `corpus-ft serve`).

`OpenAIClient` is also what the evaluator's LLM judge uses. It sends chat completions over
httpx from a thread pool (`concurrency` in flight), retries 429/5xx/connection errors and
timeouts with exponential backoff and jitter (honouring Retry-After), and keeps every
response in a persistent cache (`cache.py`) so that a re-run never pays twice.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.cache import ResponseCache, request_key
from corpus_ft.generate.llm import Advance, Messages, PromptGenerator
from corpus_ft.util import CorpusFtError

RETRY_STATUS = {408, 409, 425, 429}  # and every 5xx


class EndpointError(CorpusFtError):
    """The endpoint refused a request (4xx) or never answered it after every retry."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message, exit_code=1)
        self.status = status


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (Retry-After: seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message", err) if isinstance(err, dict) else err
        return str(msg)[:300]
    except ValueError:
        return response.text[:300]


class OpenAIClient:
    """Chat completions against one OpenAI-compatible endpoint, cached, retried, concurrent.

    >>> client = OpenAIClient("http://127.0.0.1:8000/v1", "tiny", cache_dir="runs/demo/cache/generate")
    >>> client.chat([{"role": "user", "content": "Hi"}], max_tokens=16, temperature=0)
    >>> client.chat_many([[{"role": "user", "content": q}] for q in questions], max_tokens=16)

    `stats` counts requests (asked for), cache_hits, http_requests (sent, retries included),
    retries and failures.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        concurrency: int = 8,
        cache_dir: str | Path | None = None,
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise CorpusFtError(f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.concurrency = max(1, concurrency)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )
        self.stats = {"requests": 0, "cache_hits": 0, "http_requests": 0, "retries": 0, "failures": 0}
        self._lock = threading.Lock()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _post(self, path: str, body: dict) -> dict:
        """POST with retries: 429/5xx/408, connection errors and timeouts back off and try again."""
        url = f"{self.base_url}{path}"
        status = None
        for attempt in range(self.max_retries + 1):
            wait = None
            self._count("http_requests")
            try:
                response = self._http.post(url, json=body)
            except httpx.TransportError as e:  # connection refused/reset, read/connect timeout
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise EndpointError(
                            f"{url}: the response is not JSON: {response.text[:200]!r}", response.status_code
                        ) from None
                status, problem = response.status_code, f"HTTP {response.status_code}: {_error_text(response)}"
                if response.status_code not in RETRY_STATUS and response.status_code < 500:
                    self._count("failures")
                    hint = {
                        401: "; check the API key",
                        403: "; check the API key",
                        404: "; check base_url (it usually ends in /v1) and the model name",
                    }
                    raise EndpointError(f"{url}: {problem}{hint.get(response.status_code, '')}", response.status_code)
                wait = _retry_after(response)
            if attempt == self.max_retries:
                break
            if wait is None:
                wait = min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            self._count("retries")
            time.sleep(min(wait, self.max_backoff_s))
        self._count("failures")
        raise EndpointError(
            f"{url}: {problem} (gave up after {self.max_retries + 1} attempts; "
            "is the server up and the timeout long enough?)",
            status,
        )

    def chat(self, messages: Messages, **params: Any) -> str:
        """The assistant's reply to `messages`; params are sampling fields (max_tokens, temperature, …)."""
        self._count("requests")
        key = request_key(self.model, messages, params)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self._count("cache_hits")
            return hit
        body = {"model": self.model, "messages": messages, **params}
        data = self._post("/chat/completions", body)
        try:
            content = data["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise EndpointError(
                f"{self.base_url}/chat/completions: no choices[0].message in {str(data)[:200]}"
            ) from None
        if self.cache is not None:
            self.cache.put(key, content, body)
        return content

    def chat_many(
        self,
        batch: Sequence[Messages],
        *,
        return_exceptions: bool = False,
        on_done: Callable[[int], None] | None = None,
        **params: Any,
    ) -> list[str | Exception]:
        """`chat` for every conversation, `concurrency` at a time, in input order.

        Identical conversations are sent once. With return_exceptions, a failed request yields
        its EndpointError in place and the others still complete (and are cached).
        `on_done(n)` is called as replies arrive (from worker threads), e.g. for a progress bar.
        """
        unique: dict[str, Messages] = {}
        keys = []
        for messages in batch:
            key = request_key(self.model, messages, params)
            unique.setdefault(key, messages)
            keys.append(key)

        def one(messages: Messages) -> str | Exception:
            try:
                return self.chat(messages, **params)
            except EndpointError as e:
                if return_exceptions:
                    return e
                raise
            finally:
                if on_done is not None:
                    on_done(1)

        workers = min(self.concurrency, max(1, len(unique)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai") as pool:
            results = dict(zip(unique, pool.map(one, unique.values())))
        self._count("requests", len(batch) - len(unique))  # duplicates were answered without a request
        self._count("cache_hits", len(batch) - len(unique))
        if on_done is not None and len(batch) > len(unique):
            on_done(len(batch) - len(unique))
        return [results[k] for k in keys]

    def models(self) -> list[str]:
        """Model ids the endpoint serves (GET /models): a cheap check that base_url is right."""
        try:
            response = self._http.get(f"{self.base_url}/models")
            response.raise_for_status()
            return [m["id"] for m in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            raise EndpointError(f"{self.base_url}/models: {e}") from None

    def close(self) -> None:
        self._http.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> OpenAIClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OpenAIGenerator(PromptGenerator):
    """Questions and summaries from an OpenAI-compatible endpoint, `concurrency` requests at a time."""

    name = "openai"
    version = "1"

    def __init__(self, cfg: GeneratorConfig, cache_dir: str | Path | None = None):
        if not cfg.base_url:
            raise CorpusFtError(
                "datasets.generator.base_url is required for type: openai, e.g. "
                "http://127.0.0.1:8000/v1 (`corpus-ft serve MODEL_DIR` serves a local model there)"
            )
        if not cfg.model:
            raise CorpusFtError(
                "datasets.generator.model is required for type: openai: the model name the "
                f"endpoint serves (GET {cfg.base_url.rstrip('/')}/models lists them)"
            )
        super().__init__(cfg)
        self.model = cfg.model
        self.client = OpenAIClient(
            cfg.base_url,
            cfg.model,
            api_key=os.environ.get(cfg.api_key_env) or None,
            timeout_s=cfg.timeout_s,
            max_retries=cfg.max_retries,
            concurrency=cfg.concurrency,
            cache_dir=cache_dir if cfg.cache else None,
        )
        self.stats.update(http_requests=0, retries=0)

    def complete(self, batch: list[Messages], advance: Advance = lambda n: None) -> list[str | None]:
        replies = self.client.chat_many(
            batch,
            return_exceptions=True,
            on_done=advance,
            max_tokens=self.cfg.max_new_tokens,
            temperature=self.cfg.temperature,
        )
        for key in ("cache_hits", "http_requests", "retries"):
            self.stats[key] = self.client.stats[key]
        out: list[str | None] = []
        for reply in replies:
            if isinstance(reply, EndpointError):
                if reply.status not in (400, 413, 422):  # not this prompt's fault: stop (the rest is cached)
                    if reply.status in (401, 403):
                        raise EndpointError(f"{reply} (the key is read from ${self.cfg.api_key_env})", reply.status)
                    raise reply
                self.stats["failed"] += 1  # e.g. a prompt longer than the model's context
                out.append(None)
            else:
                out.append(reply)
        return out
