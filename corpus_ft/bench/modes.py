"""`corpus-ft bench modes RUN_DIR`: which dataset format teaches the model its domain best.

The study corpus-ft follows compares paragraph, Q&A and keyword formats. This trains the same model
with the same settings and the same token budget (steps x micro_batch x seq_len packed tokens) on
each built kind alone and on their mix, evaluates each against the same base on the domain queries
and the held-out test split, and writes one table (report.md), one plot (modes.png) and
results.json under OUT (default RUN_DIR/bench-modes/). RUN_DIR's own model/ and eval/ are not touched:
each mode trains in OUT/<mode>/, whose datasets/ links to RUN_DIR's.

Two more axes answer "LoRA or prefix tuning, with or without augmentation": `methods` (PEFT methods,
TrainConfig.method) and `augment` ("off", "on"). Rows: each kind alone with the first method and no
augmentation, then the mix for every (method, augment) pair. An augment=on mode trains on
OUT/<mode>/datasets/, a copy of RUN_DIR's with `datasets.augment` applied to the train split only
(validation and test are the run's own, byte for byte).

Methods differ in the step size they need (a prefix holds a few thousand numbers, a full fine-tune
moves all of them): `learning_rate` is one rate for every row or METHOD=RATE pairs, and a method not
named trains at its own default (settings.METHOD_LEARNING_RATES); each row records its rate. The
general-text perplexity column is evaluate's forgetting probe: a rise says the model lost ground
outside the domain.

`retrieval_k` adds the retrieval axis: every mode is also evaluated with the top-k passages of the run's
train split before each question (evaluate.retrieval), and the base row gains base + retrieval. A built
qa_context kind (questions with retrieved passages) is a mode like the others.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from corpus_ft.settings import KINDS
from corpus_ft.util import CorpusFtError, atomic_write_json, atomic_write_text

COLUMNS = [
    ("queries", "keyword_recall", "queries kw recall"),
    ("queries", "rougeL", "queries ROUGE-L"),
    ("queries", "ppl", "queries ppl"),
    ("test", "rougeL", "test ROUGE-L"),
    ("test", "keyword_recall", "test kw recall"),
    ("test", "ppl", "test ppl"),
    ("general", "ppl", "general-text ppl"),
]  # evaluate's forgetting probe: up = the model lost general text


RAG_COLUMNS = [("queries", "keyword_recall", "queries kw recall"), ("queries", "rougeL", "queries ROUGE-L")]


def _rag_scores(summary: dict, system: str) -> dict:
    """A system's query figures with retrieval (`+rag.queries.keyword_recall` …), empty without retrieval."""
    systems = ((summary.get("retrieval") or {}).get("systems") or {}).get("queries", {})
    return {f"+rag.{g}.{m}": systems.get(system, {}).get(m) for g, m, _ in RAG_COLUMNS} if systems else {}


def _mode_run(run_dir: Path, out: Path, mode: str, augment=None, kinds: list[str] = ()) -> Path:
    """OUT/<mode>/ with datasets/ linked to the run's (training and evaluation read it, never write it),
    or, with an AugmentConfig, OUT/<mode>/datasets/<kind>/ built from the run's with augmented train splits."""
    from corpus_ft.datasets.augment import augment_built

    mode_dir = out / mode
    mode_dir.mkdir(parents=True, exist_ok=True)
    for name in ("units.parquet",) + (() if augment else ("datasets",)):  # units: the report quotes source spans
        link, target = mode_dir / name, run_dir / name
        if target.exists() and not link.exists():
            os.symlink(target.resolve(), link, target_is_directory=target.is_dir())
    for kind in kinds if augment else ():
        augment_built(run_dir / "datasets" / kind, mode_dir / "datasets" / kind, kind, augment)
    return mode_dir


def plan(built: list[str], methods: list[str], augment: list[str]) -> list[tuple[str, dict, str, str]]:
    """(mode, mix, method, augment) per row: each kind alone with the first method, no augmentation,
    then the mix (the one kind, when only one is built) for every (method, augment) pair not already a row."""
    rows = [(k, {k: 1.0}, methods[0], "off") for k in built]
    mode, mix = ("mix", {k: 1.0 for k in built}) if len(built) > 1 else (built[0], {built[0]: 1.0})
    for method in methods:
        for aug in augment:
            if (mode, method, aug) not in {(r[0], r[2], r[3]) for r in rows}:
                rows.append((mode, mix, method, aug))
    return rows


def _dir_name(mode: str, method: str, aug: str, first_method: str) -> str:
    """OUT/<name>: today's names for the first method without augmentation, else mode-method[-augmented]."""
    if method == first_method and aug == "off":
        return mode
    return f"{mode}-{method}" + ("-augmented" if aug == "on" else "")


BENCH_RATES = {"lora": 1e-3, "qlora": 1e-3}  # LoRA steps higher than its default on a budget of ~20 steps


def parse_rates(text: str) -> float | dict[str, float]:
    """`--lr`: one rate ("1e-3") or METHOD=RATE pairs ("lora=1e-3,prefix=1e-2")."""
    try:
        if "=" not in text:
            return float(text)
        return {m.strip(): float(r) for m, r in (p.split("=") for p in text.split(",") if p.strip())}
    except ValueError:
        raise CorpusFtError(
            f"--lr expects a number (1e-3) or METHOD=RATE pairs (lora=1e-3,prefix=1e-2), got {text!r}"
        ) from None


def method_rates(rates: float | dict[str, float], methods: list[str]) -> dict[str, float]:
    """The learning rate each method trains at: one for all, or per method with the method's default for the rest."""
    from corpus_ft.settings import METHOD_LEARNING_RATES, METHODS

    if not isinstance(rates, dict):
        return {m: float(rates) for m in methods}
    problems = [f"unknown method {m!r}" for m in rates if m not in METHODS]
    problems += [f"{m}={r:g} is outside (0, 1]" for m, r in rates.items() if not 0 < r <= 1]
    if problems:
        raise CorpusFtError(f"--lr: {'; '.join(problems)} (methods: {', '.join(METHODS)})")
    return {m: rates.get(m, METHOD_LEARNING_RATES[m]) for m in methods}


def _scores(summary: dict, side: str) -> dict:
    """One side's figures from evaluate's summary: the aggregates, plus the general-text perplexity."""
    forgetting = summary.get("forgetting") or {}
    agg = {**summary["aggregate"], "general": {side: {"ppl": forgetting.get(f"{side}_ppl")}}}
    return {f"{g}.{m}": agg.get(g, {}).get(side, {}).get(m) for g, m, _ in COLUMNS}


def bench_modes(
    run_dir: str | os.PathLike,
    *,
    model: str = "smollm2-135m-instruct",
    steps: int = 20,
    seq_len: int = 256,
    micro_batch: int = 4,
    learning_rate: float | dict[str, float] = BENCH_RATES,
    lora_r: int = 32,
    kinds: list[str] | None = None,
    queries: str | os.PathLike | None = None,
    test_sample: int = 8,
    max_new_tokens: int = 48,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    methods: list[str] | None = None,
    augment: list[str] | None = None,
    augment_config: dict | None = None,
    retrieval_k: int | None = None,
) -> dict:
    """Train and evaluate one adapter per kind and one on the mix per (method, augment), each on the same token budget."""
    from corpus_ft.datasets.augment import AugmentConfig
    from corpus_ft.evaluate import EvalConfig, evaluate
    from corpus_ft.settings import METHODS
    from corpus_ft.train.config import TrainConfig
    from corpus_ft.train.trainer import train

    methods, augment = list(methods or ["lora"]), list(augment or ["off"])
    bad = [m for m in methods if m not in METHODS] + [a for a in augment if a not in ("off", "on")]
    if bad or not methods or not augment:
        raise CorpusFtError(
            f"bench modes: unknown value(s) {', '.join(bad)}; --methods takes {', '.join(METHODS)} "
            "and --augment takes off, on (comma lists)"
        )
    aug_cfg = AugmentConfig.model_validate(augment_config or {})
    rates = method_rates(learning_rate, methods)

    run_dir = Path(run_dir)
    built = [k for k in (kinds or KINDS) if (run_dir / "datasets" / k / "train.jsonl").is_file()]
    missing = sorted(set(kinds or ()) - set(built))
    if missing:
        raise CorpusFtError(
            f"{run_dir}/datasets: {', '.join(missing)} not built; build them or leave them out of --kinds"
        )
    if not built:
        raise CorpusFtError(
            f"{run_dir}/datasets: no built kind to compare; run `corpus-ft build all --run {run_dir}` first"
        )
    out = Path(out) if out else run_dir / "bench-modes"
    budget = steps * micro_batch * seq_len
    rows, base = [], None
    for mode, mix, method, aug in plan(built, methods, augment):
        mode_dir = _mode_run(
            run_dir, out, _dir_name(mode, method, aug, methods[0]), aug_cfg if aug == "on" else None, list(mix)
        )
        cfg = TrainConfig(
            model=model,
            method=method,
            lora_r=lora_r,
            lora_alpha=2 * lora_r,
            lora_dropout=0.0,
            mix=mix,
            seq_len=seq_len,
            micro_batch=micro_batch,
            grad_accum=1,
            learning_rate=rates[method],
            warmup_ratio=0.05,
            max_steps=steps,
            eval_steps=steps,
            save_steps=steps,
            logging_steps=max(1, steps // 4),
            early_stopping_patience=0,
            seed=0,
        )
        t0 = time.perf_counter()
        trained = train(mode_dir, cfg, progress=progress)
        train_s = time.perf_counter() - t0
        summary = evaluate(
            mode_dir,
            EvalConfig(
                queries=Path(queries) if queries else None,
                test_sample=test_sample,
                kinds=built,
                max_new_tokens=max_new_tokens,
                seed=0,
                retrieval={"k": retrieval_k} if retrieval_k else None,
            ),
        )
        base = base or {**_scores(summary, "base"), **_rag_scores(summary, "base+retrieval")}
        rows.append(
            {
                "mode": mode,
                "method": method,
                "augment": aug,
                "mix": mix,
                "dir": mode_dir.name,
                "learning_rate": rates[method],
                "train_records": _train_records(mode_dir, mix),
                "steps": trained["steps"],
                "train_loss": trained["train_loss"],
                "train_s": round(train_s, 1),
                "eval_s": summary["timing"]["seconds"],
                **_scores(summary, "tuned"),
                **_rag_scores(summary, "tuned+retrieval"),
            }
        )
    result = {
        "run_dir": str(run_dir),
        "model": model,
        "token_budget": budget,
        "steps": steps,
        "seq_len": seq_len,
        "micro_batch": micro_batch,
        "learning_rates": rates,
        "lora_r": lora_r,
        "queries": str(queries) if queries else None,
        "test_sample": test_sample,
        "max_new_tokens": max_new_tokens,
        "methods": methods,
        "augment": augment,
        "augment_config": aug_cfg.model_dump() if "on" in augment else None,
        "retrieval_k": retrieval_k,
        "base": base,
        "modes": rows,
        "out": str(out),
    }
    atomic_write_json(out / "results.json", result)
    atomic_write_text(out / "report.md", markdown(result))
    plot(result, out / "modes.png")
    return result


def _train_records(mode_dir: Path, mix: dict) -> int:
    """Train records the mode's datasets hold for its kinds (augmented ones included)."""
    return sum(sum(1 for line in (mode_dir / "datasets" / k / "train.jsonl").open() if line.strip()) for k in mix)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"


def markdown(result: dict) -> str:
    """One table: the base, then each mode's tuned figures, same budget and decoding."""
    rag = (
        [(f"+rag.{g}.{m}", f"{label} + retrieval") for g, m, label in RAG_COLUMNS] if result.get("retrieval_k") else []
    )
    head = [label for _, _, label in COLUMNS] + [label for _, label in rag]
    lines = [
        f"# Dataset formats compared: {result['model']}",
        "",
        f"Each mode: {result['steps']} steps x {result['micro_batch']} rows x {result['seq_len']} tokens "
        f"(budget {result['token_budget']:,} tokens; LoRA rows packed, prefix/prompt rows padded, one record a row), "
        f"LoRA r{result['lora_r']}; "
        f"greedy answers of {result['max_new_tokens']} new tokens; {result['test_sample']} held-out test records per kind.",
    ]
    if result.get("retrieval_k"):
        lines.append(
            f"+ retrieval: the top {result['retrieval_k']} BM25 passages of the train split before each query "
            "(the base row: base + retrieval)."
        )
    if result.get("augment_config"):
        a = result["augment_config"]
        lines.append(
            f"augment on: train split only, offline ops {', '.join(a['offline']) or 'none'}, "
            f"{a['variants']} variant(s) per op and record (validation/test unchanged)."
        )
    lines += [
        "",
        "| mode | method | lr | augment | train records | " + " | ".join(head) + " | train loss | train s |",
        "| --- | --- | ---: | --- | ---: | " + " | ".join("---:" for _ in head) + " | ---: | ---: |",
        "| base (untuned) | – | – | – | – | "
        + " | ".join(_fmt(result["base"].get(key)) for key in [f"{g}.{m}" for g, m, _ in COLUMNS] + [k for k, _ in rag])
        + " | – | – |",
    ]
    for r in result["modes"]:
        lr = r.get("learning_rate", result.get("learning_rate"))
        lines.append(
            f"| {r['mode']} | {r.get('method', 'lora')} | {lr:g} | {r.get('augment', 'off')} | "
            f"{r.get('train_records', '–')} | "
            + " | ".join(_fmt(r.get(key)) for key in [f"{g}.{m}" for g, m, _ in COLUMNS] + [k for k, _ in rag])
            + f" | {_fmt(r['train_loss'])} | {r['train_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> Path:
    """Bars per mode for the queries' keyword recall and ROUGE-L, the base as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes_used = len(result.get("methods", [])) > 1 or len(result.get("augment", [])) > 1
    names = [
        f"{r['mode']}\n{r['method']} {r['learning_rate']:g}" + (", augmented" if r["augment"] == "on" else "")
        if axes_used
        else r["mode"]
        for r in result["modes"]
    ]
    for ax, key, label in zip(axes, ("queries.keyword_recall", "queries.rougeL"), ("keyword recall", "ROUGE-L")):
        ax.bar(names, [r[key] or 0 for r in result["modes"]], color="#4a7ab5")
        if result["base"][key] is not None:
            ax.axhline(result["base"][key], color="#b54a4a", linestyle="--", label="base")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(f"domain queries: {label}", fontsize=10)
        ax.tick_params(axis="x", labelsize=8, rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
