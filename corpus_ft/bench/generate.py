"""`corpus-ft bench generate`: the speed figures docs/generators.md quotes.

Times the `hf` path (batched `generate`) per batch size, and the `openai` path over
`corpus-ft serve` on loopback, cold and then again from the response cache.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from corpus_ft.generate.openai import OpenAIClient
from corpus_ft.generate.server import serve_in_background
from corpus_ft.model.chat import render_chat
from corpus_ft.model.generate import generate, load_model


def _prompts(n: int) -> list[list[dict]]:
    topics = ["restart the billing service", "rotate the API keys", "add a new tenant", "read the audit log"]
    return [
        [{"role": "user", "content": f"Question {i}: how do I {topics[i % 4]}?" + " Explain briefly." * (i % 5)}]
        for i in range(n)
    ]


def bench_generate(
    model: str | Path | None = None,
    n_prompts: int = 32,
    max_new_tokens: int = 32,
    batch_sizes: tuple[int, ...] = (1, 8),
    concurrency: int = 4,
) -> dict:
    """Tokens/s of hf generation per batch size; requests/s of the openai client, cold and cached."""
    import torch

    label = str(model) if model is not None else "tiny (built-in text)"
    with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-") as tmp:
        if model is None:
            from corpus_ft.model.tiny import build_tiny_model

            model = build_tiny_model(Path(tmp) / "tiny")
        convs = _prompts(n_prompts)
        lm, tok = load_model(model)
        texts = [render_chat(tok, c) for c in convs]
        generate(lm, tok, texts[:2], max_new_tokens=4)  # warm-up
        hf = []
        for bs in batch_sizes:
            start = time.perf_counter()
            done = generate(lm, tok, texts, max_new_tokens=max_new_tokens, batch_size=bs)
            wall = time.perf_counter() - start
            tokens = sum(c.completion_tokens for c in done)
            hf.append(
                {
                    "batch_size": bs,
                    "wall_s": round(wall, 2),
                    "new_tokens": tokens,
                    "tokens_per_s": round(tokens / wall, 1),
                    "prompts_per_s": round(len(texts) / wall, 2),
                }
            )
        del lm
        served = {}
        with serve_in_background(model, model_name="bench") as url:
            client = OpenAIClient(url, "bench", concurrency=concurrency, cache_dir=Path(tmp) / "cache")
            for run in ("cold", "cached"):
                before = client.stats["http_requests"]
                start = time.perf_counter()
                client.chat_many(convs, max_tokens=max_new_tokens, temperature=0)
                wall = time.perf_counter() - start
                served[run] = {
                    "wall_s": round(wall, 3),
                    "http_requests": client.stats["http_requests"] - before,
                    "requests_per_s": round(len(convs) / wall, 1),
                }
            client.close()
    return {
        "model": label,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "prompts": n_prompts,
        "max_new_tokens": max_new_tokens,
        "hf": hf,
        "openai_over_serve": {"concurrency": concurrency, **served},
    }
