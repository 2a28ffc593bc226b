"""`corpus-ft bench quantize RUN_DIR`: the tuned model at several precisions, latency beside quality, in one run.

The run's model is merged once (train/export.py) into RUN_DIR/bench/quantize/merged, then loaded as
each form: fp32, bf16, bitsandbytes int8 (LLM.int8), 4-bit NF4 and the GGUF files `export --quantize gguf-…`
writes (F16, Q8_0). For each: load time, time to
first token, generation tokens/s, memory, held-out perplexity and the domain-query scores, scored
by evaluate's own functions (evaluate/scoring.py, evaluate/metrics.py) on evaluate's own rows
(the queries file and the test split). Results: results.json, report.md and plot.svg beside it.
The same code runs on a GPU (device 'auto'); on the CPU memory is the process's resident growth.
A GGUF row is the file written, read back through the project's GGUF import (model/gguf.py) and
scored like the rest: its size and quality are the file's. Its latency needs a GGUF runtime
(llama.cpp); none is installed here, so the row says so instead of timing transformers.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import time
from pathlib import Path

from corpus_ft.util import CorpusFtError, atomic_dir, atomic_file, atomic_write_json, atomic_write_text, offline_env

FORMS = ("fp32", "bf16", "int8", "nf4", "gguf-f16", "gguf-q8_0")
NO_RUNTIME = "no GGUF runtime installed"


def _rss_mib() -> float:
    """Resident memory of this process now (Linux /proc), MiB."""
    import resource

    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def merged_dir(run_dir: Path) -> Path:
    """RUN_DIR/bench/quantize/merged: the run's tuned model merged in fp32, written once per adapter."""
    from corpus_ft.train.export import load_merged

    out = run_dir / "bench" / "quantize" / "merged"
    model, tok, source, _ = load_merged(run_dir, "fp32")
    stamp = {"source": str(source), "mtime": max(p.stat().st_mtime for p in Path(source).iterdir())}
    done = out / "bench_source.json"
    if done.is_file() and json.loads(done.read_text()) == stamp:
        return out
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "bench_source.json").write_text(json.dumps(stamp))
    return out


def gguf_form(path: Path, form: str) -> tuple[Path, Path]:
    """(GGUF file, its import directory) for a gguf-* form of the merged model, each written once per merge."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from corpus_ft.model.gguf import import_gguf
    from corpus_ft.model.gguf_write import write_gguf
    from corpus_ft.train.export import GGUF

    file, imported = path.parent / f"{form}.gguf", path.parent / f"{form}-import"
    stamp = (path / "bench_source.json").stat().st_mtime
    if not file.is_file() or file.stat().st_mtime < stamp:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        write_gguf(model, AutoTokenizer.from_pretrained(path), file, qtype=GGUF[form], name=f"merged-{GGUF[form]}")
        del model
    if not (imported / "config.json").is_file() or (imported / "config.json").stat().st_mtime < file.stat().st_mtime:
        import_gguf(file, imported)
    return file, imported


def gguf_runtime() -> str | None:
    """The installed GGUF runtime's name (llama-cpp-python), or None."""
    import importlib.util

    return "llama-cpp-python" if importlib.util.find_spec("llama_cpp") else None


def load_form(path: Path, form: str, device: str):
    """The merged model as `form`: fp32/bf16 weights, or bitsandbytes int8 / NF4 (compute in fp32 on the CPU)."""
    import torch
    from transformers import AutoModelForCausalLM

    from corpus_ft.train.export import bnb_config, torch_dtype

    if form not in FORMS:
        raise CorpusFtError(f"--forms: unknown form {form!r}; choose from {', '.join(FORMS)}")
    if form.startswith("gguf-"):  # the GGUF file read back (dequantised to fp32) through the project's import
        model = AutoModelForCausalLM.from_pretrained(gguf_form(path, form)[1], dtype=torch.float32).to(device)
    elif form in ("fp32", "bf16"):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(form)).to(device)
    else:
        compute = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=compute, quantization_config=bnb_config(form, compute), device_map={"": device}
        )
    return model.eval()


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


def _measure(
    path: Path,
    form: str,
    device: str,
    tok,
    rows: list[dict],
    targets,
    max_new_tokens: int,
    batch_size: int,
    max_length: int,
) -> dict:
    """One form's load time, latency, memory and scores."""
    import torch

    from corpus_ft.evaluate import scoring
    from corpus_ft.evaluate.metrics import answer_metrics, perplexity

    cuda = device.startswith("cuda")
    # LLM.int8 on the CPU logs its fp32 -> fp16 input cast once per matmul call: thousands of identical lines
    logging.getLogger("bitsandbytes.autograd._functions").setLevel(logging.ERROR)
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    rss0, t0 = _rss_mib(), time.perf_counter()
    model = load_form(path, form, device)
    model.generation_config.pad_token_id = tok.pad_token_id
    load_s = time.perf_counter() - t0
    gen_rows = [r for r in rows if r["messages"] is not None]
    first = [r["messages"] for r in gen_rows[: min(4, len(gen_rows))]]
    t0 = time.perf_counter()  # time to first token: prompt processing + one new token, one prompt at a time
    for m in first:
        scoring.generate(
            model, tok, [m], max_new_tokens=1, temperature=0.0, top_p=1.0, seed=0, batch_size=1, max_length=max_length
        )
    ttft = (time.perf_counter() - t0) / max(1, len(first))
    t0 = time.perf_counter()
    answers = scoring.generate(
        model,
        tok,
        [r["messages"] for r in gen_rows],
        max_new_tokens=max_new_tokens,
        temperature=0.0,
        top_p=1.0,
        seed=0,
        batch_size=batch_size,
        max_length=max_length,
    )
    gen_s = time.perf_counter() - t0
    new_tokens = sum(a["new_tokens"] for a in answers)
    nlls = scoring.nll(model, targets, batch_size=batch_size, pad_id=tok.pad_token_id, progress=None)
    memory = (torch.cuda.max_memory_allocated() / 2**20) if cuda else _rss_mib() - rss0
    footprint = model.get_memory_footprint() / 2**20
    del model
    gc.collect()
    scores = [answer_metrics(a["answer"], r["reference"], r["keywords"]) for r, a in zip(gen_rows, answers)]

    def mean(key: str) -> float | None:
        vals = [s[key] for s in scores if s.get(key) is not None]
        return sum(vals) / len(vals) if vals else None

    nll_sum, toks = sum(n for n, _ in nlls), sum(t for _, t in nlls)
    if form.startswith("gguf-"):  # transformers' timings of dequantised weights say nothing about a GGUF runtime
        file = gguf_form(path, form)[0]
        load_s = ttft = new_tokens_s = memory = None
        footprint = file.stat().st_size / 2**20
        note = NO_RUNTIME if gguf_runtime() is None else f"{gguf_runtime()} installed; timing it is not implemented"
    else:
        new_tokens_s = round(new_tokens / gen_s, 2) if gen_s > 0 else None
        note = None
    return {
        "form": form,
        "load_s": _round(load_s, 2),
        "ttft_s": _round(ttft, 3),
        "tokens_per_s": new_tokens_s,
        "new_tokens": new_tokens,
        "latency_note": note,
        "memory_mib": _round(memory, 1),
        "memory_kind": "peak allocated (CUDA)" if cuda else "resident growth (CPU)",
        "weights_mib": round(footprint, 1),
        "ppl": perplexity(nll_sum, toks),
        "ppl_tokens": toks,
        "keyword_recall": mean("keyword_recall"),
        "rougeL": mean("rougeL"),
        "f1": mean("f1"),
        "answers": [a["answer"] for a in answers[:3]],
    }


def bench_quantize(
    run_dir: str | Path,
    forms: tuple[str, ...] = FORMS,
    *,
    queries: Path | None = None,
    test_sample: int = 10,
    max_new_tokens: int = 32,
    batch_size: int = 4,
    max_length: int = 512,
    device: str = "auto",
    progress=None,
) -> dict:
    """Every form of the run's tuned model, measured on the same rows; writes RUN_DIR/bench/quantize/."""
    offline_env()
    from corpus_ft.evaluate import _collect, scoring
    from corpus_ft.evaluate.config import EvalConfig

    run_dir = Path(run_dir)
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        raise CorpusFtError(f"--forms: unknown form(s) {unknown}; choose from {', '.join(FORMS)}")
    device = scoring.pick_device(device)
    rows, _ = _collect(run_dir, EvalConfig(queries=queries, test_sample=test_sample))
    path = merged_dir(run_dir)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    targets = [scoring.encode_target(tok, r["messages"], r["reference"], max_length) for r in rows if r["reference"]]
    results = []
    for form in forms:
        if progress:
            progress(form)
        results.append(_measure(path, form, device, tok, rows, targets, max_new_tokens, batch_size, max_length))
    out = {
        "run_dir": str(run_dir),
        "model": str(path),
        "device": device,
        "rows": len(rows),
        "queries": sum(r["group"] == "queries" for r in rows),
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "results": results,
    }
    write_report(run_dir / "bench" / "quantize", out)
    return out


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


COLUMNS = (
    ("form", "form", "s"),
    ("load_s", "load s", ".2f"),
    ("ttft_s", "first token s", ".3f"),
    ("tokens_per_s", "tokens/s", ".1f"),
    ("memory_mib", "memory MiB", ".0f"),
    ("weights_mib", "weights MiB", ".0f"),
    ("ppl", "held-out ppl", ".2f"),
    ("keyword_recall", "keyword recall", ".3f"),
    ("f1", "token F1", ".3f"),
)


WEIGHTS_NOTE = "weights MiB: bytes in memory as loaded (get_memory_footprint); for a GGUF row, the file's size."


def _cell(r: dict, key: str, spec: str) -> str:
    if spec == "s":
        return str(r[key])
    if r[key] is None and r.get("latency_note") and key in ("ttft_s", "tokens_per_s"):
        return r["latency_note"]
    return _fmt(r[key], spec)


def table_rows(result: dict) -> list[list[str]]:
    """The results as strings, one list per form, in COLUMNS order."""
    return [[_cell(r, k, spec) for k, _, spec in COLUMNS] for r in result["results"]]


def write_report(out: Path, result: dict) -> None:
    """results.json, plot.svg (tokens/s against perplexity, one point per form) and report.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", result)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for r in result["results"]:
        if r["tokens_per_s"] is not None and r["ppl"] is not None:
            ax.scatter(r["tokens_per_s"], r["ppl"])
            ax.annotate(r["form"], (r["tokens_per_s"], r["ppl"]), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel(f"generation tokens/s ({result['device']})")
    ax.set_ylabel("held-out perplexity (lower is better)")
    ax.set_title("latency vs quality per precision")
    fig.tight_layout()
    with atomic_file(out / "plot.svg") as tmp:
        fig.savefig(tmp, format="svg")
    plt.close(fig)
    head = "| " + " | ".join(h for _, h, _ in COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join("| " + " | ".join(row) + " |\n" for row in table_rows(result))
    r0 = result["results"][0]
    atomic_write_text(
        out / "report.md",
        (
            f"# Quantized inference: {result['run_dir']}\n\n"
            f"Device {result['device']}; {result['rows']} rows ({result['queries']} domain queries, the rest from the "
            f"test split); greedy, {result['max_new_tokens']} new tokens, batch {result['batch_size']}. "
            f"Memory: {r0['memory_kind']}. {WEIGHTS_NOTE} GGUF rows: the file read back through the project's GGUF "
            f"import and scored by transformers; their latency needs a GGUF runtime.\n\n{head}{body}\n"
            "![latency vs quality](plot.svg)\n"
        ),
    )


def print_table(result: dict) -> None:
    """The side-by-side table on stderr."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench quantize: {result['run_dir']} on {result['device']} ({result['rows']} rows)")
    for _, head, spec in COLUMNS:
        table.add_column(head, justify="left" if spec == "s" else "right")
    for row in table_rows(result):
        table.add_row(*row)
    Console(stderr=True).print(table)
