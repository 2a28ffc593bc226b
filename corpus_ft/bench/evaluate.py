"""`corpus-ft bench eval`: wall time of a full evaluation of N queries on the tiny model.

It builds the embedded tiny Llama and a LoRA adapter with random (non-zero) B matrices in a
temporary directory, so the figure measures evaluation itself (two generations and two
perplexity passes per query, the probe check and the reports), not training.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from corpus_ft.evaluate.config import EvalConfig

_TOPICS = ["billing", "search", "auth", "gateway", "ledger", "mailer", "scheduler", "indexer", "cache", "reports"]
_ASKS = [
    "How do I restart the {t} service?",
    "Which team owns the {t} service?",
    "Where is the configuration of the {t} service kept?",
    "What does the {t} service log on startup?",
]


def write_queries(path: Path, n: int) -> Path:
    """n distinct domain-style queries with references and keywords (JSONL)."""
    rows = []
    for i in range(n):
        t = _TOPICS[i % len(_TOPICS)]
        ask = _ASKS[(i // len(_TOPICS)) % len(_ASKS)].format(t=t)
        rows.append(
            {
                "id": f"bench-{i}",
                "query": f"{ask} (case {i})",
                "tags": [t],
                "reference": f"Run make restart-{t} on the {t} host and check /healthz of {t}.",
                "keywords": [f"restart-{t}", "healthz"],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _random_adapter(model_dir: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


def bench_eval(n_queries: int = 200, *, max_new_tokens: int = 32, batch_size: int = 8) -> dict:
    """Evaluate n_queries on the tiny model on this machine; returns timings."""
    from corpus_ft.evaluate import evaluate
    from corpus_ft.model.tiny import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-eval-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        model = build_tiny_model(tmp / "tiny")
        run = tmp / "run"
        _random_adapter(model, run / "model" / "adapter", seed=0)
        queries = write_queries(tmp / "queries.jsonl", n_queries)
        setup_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        summary = evaluate(
            run, EvalConfig(queries=queries, test_sample=0, max_new_tokens=max_new_tokens, batch_size=batch_size)
        )
        wall = time.perf_counter() - t1
    return {
        "queries": n_queries,
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "device": summary["device"],
        "setup_s": round(setup_s, 2),
        "wall_s": round(wall, 2),
        "queries_per_s": round(n_queries / wall, 2),
        "scoring_s": summary["timing"]["seconds"],
    }
