"""Evaluate a fine-tune: base vs tuned answers on domain queries and the held-out test split.

`evaluate(run_dir, EvalConfig(...))` answers every query twice, base then tuned, under the
same recorded decoding settings (a LoRA run: one model, adapter disabled = base, enabled = tuned;
a full fine-tune: base and the full model loaded one after the other), scores answers and references, checks general-text perplexity for
forgetting, optionally asks an LLM judge, and writes RUN_DIR/eval/ atomically:
report.html, report.md, results.jsonl, ratings.csv, summary.json, manifest.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from corpus_ft.evaluate.config import EvalConfig
from corpus_ft.settings import KINDS
from corpus_ft.util import (
    CorpusFtError,
    atomic_dir,
    atomic_write_text,
    read_jsonl,
    with_run_lock,
    write_jsonl,
    write_manifest,
)

__all__ = ["EvalConfig", "evaluate", "load_probes"]

PROBES = Path(__file__).parent / "probes" / "general.txt"


def load_probes(path: str | Path | None = None) -> list[str]:
    """General-text paragraphs (.txt split on blank lines, '#' lines ignored; or .jsonl `text`)."""
    path = Path(path) if path else PROBES
    if not path.is_file():
        raise CorpusFtError(f"{path}: probe file not found (pass --probes FILE: .txt paragraphs or .jsonl with `text`)")
    if path.suffix in (".jsonl", ".json"):
        texts = []
        for i, row in enumerate(read_jsonl(path), 1):
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise CorpusFtError(f'{path}: record {i} has no `text` string; one {{"text": …}} per line')
            texts.append(row["text"])
    else:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
        texts = [p.strip() for p in "\n".join(lines).split("\n\n")]
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise CorpusFtError(f"{path}: no probe text in the file")
    return texts


def _collect(run_dir: Path, config: EvalConfig) -> tuple[list[dict], dict]:
    from corpus_ft.evaluate.queries import (
        attach_source_text,
        check_queries_repo,
        ingested_repos,
        load_queries,
        sample_test_split,
    )

    unknown = sorted(set(config.kinds) - set(KINDS))
    if unknown:
        raise CorpusFtError(f"evaluate.kinds: unknown kind(s) {', '.join(unknown)}; use {', '.join(KINDS)}")
    if config.queries:
        check_queries_repo(config.queries, ingested_repos(run_dir), run_dir)
    queries = load_queries(config.queries, config.system_prompt) if config.queries else []
    test, missing = sample_test_split(run_dir, config.kinds, config.test_sample, config.seed)
    rows = queries + test
    if not rows:
        why = "; ".join(missing.values()) or "--test-sample is 0"
        raise CorpusFtError(f"nothing to evaluate: no --queries file and no test records ({why})")
    attach_source_text(run_dir, rows)
    for r in rows:
        r["group"] = "queries" if r["kind"] == "query" else "test"
    return rows, missing


def _score(rows: list[dict], probes: list[str], models, config: EvalConfig, progress: bool) -> dict:
    """Generate and score base, then tuned; fills rows[i]['base'|'tuned']; returns model facts."""
    from corpus_ft.evaluate import scoring
    from corpus_ft.evaluate.metrics import answer_metrics, perplexity
    from corpus_ft.redact import redact

    tok = models.tokenizer
    gen_rows = [r for r in rows if r["messages"] is not None]
    ref_rows = [r for r in rows if r["reference"]]
    targets = [scoring.encode_target(tok, r["messages"], r["reference"], config.max_length) for r in ref_rows]
    rag_rows = [r for r in gen_rows if r.get("messages_rag")]  # evaluate.retrieval: the same rows, passages first
    rag_refs = [r for r in rag_rows if r["reference"]]
    rag_targets = [scoring.encode_target(tok, r["messages_rag"], r["reference"], config.max_length) for r in rag_refs]
    probe_items = [scoring.encode_target(tok, None, t, config.max_length) for t in probes]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    total = 2 * (len(gen_rows) + len(targets) + len(probe_items) + len(rag_rows) + len(rag_targets))
    facts: dict = {"probe_nll": {}}
    logits = {}
    with _progress(progress, total) as step:
        for side in ("base", "tuned"):  # a full fine-tune loads each side in turn: one model in memory at a time
            with models.side(side) as model:
                logits[side] = scoring.probe_logits(model, tok, probes[0])
                if side == "tuned":  # before any tuned work: a no-op tuned model is an error, not a tie
                    facts["max_logit_diff"] = scoring.check_tuned_differs(
                        logits["base"], logits["tuned"], models.kind, models.path
                    )
                answers = _answers(model, tok, [r["messages"] for r in gen_rows], config, step)
                nlls = scoring.nll(model, targets, batch_size=config.batch_size, pad_id=pad, progress=step)
                rag_answers = _answers(model, tok, [r["messages_rag"] for r in rag_rows], config, step)
                rag_nlls = scoring.nll(model, rag_targets, batch_size=config.batch_size, pad_id=pad, progress=step)
                facts["probe_nll"][side] = scoring.nll(
                    model, probe_items, batch_size=config.batch_size, pad_id=pad, progress=step
                )
                del model  # a full fine-tune's base must be freed before its tuned model loads
            for r in rows:
                r[side] = {}
            for r, a in zip(gen_rows, answers):  # a model may write a secret: reports show answers redacted
                r[side].update(_redacted_answer(a, redact))
            for r, (s, n) in zip(ref_rows, nlls):
                r[side].update(nll=s, ref_tokens=n, ppl=perplexity(s, n))
            for r in rows:
                r[side].update(answer_metrics(r[side].get("answer"), r["reference"], r["keywords"]))
            for r, a in zip(rag_rows, rag_answers):
                r[f"{side}_rag"] = _redacted_answer(a, redact)
            for r, (s, n) in zip(rag_refs, rag_nlls):
                r[f"{side}_rag"].update(nll=s, ref_tokens=n, ppl=perplexity(s, n))
            for r in rag_rows:
                r[f"{side}_rag"].update(answer_metrics(r[f"{side}_rag"].get("answer"), r["reference"], r["keywords"]))
    return facts


def _redacted_answer(a: dict, redact) -> dict:
    """A generated answer as outputs show it: redacted after it was written."""
    return {**a, "answer": redact(a["answer"])} if isinstance(a.get("answer"), str) else dict(a)


def _answers(model, tok, conversations: list, config: EvalConfig, step) -> list[dict]:
    """One side's answers to `conversations` under the run's recorded decoding settings."""
    from corpus_ft.evaluate import scoring

    return scoring.generate(
        model,
        tok,
        conversations,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        seed=config.seed,
        batch_size=config.batch_size,
        max_length=config.max_length,
        progress=step,
    )


class _progress:
    """A rich progress bar on stderr when asked, else a no-op callback."""

    def __init__(self, on: bool, total: int):
        self.on, self.total, self.bar = on, total, None

    def __enter__(self):
        if not self.on:  # make, CI, a log: plain lines at least every 30 s instead of a bar
            from corpus_ft.progress import Ticker

            self.bar = Ticker("evaluate", self.total, unit="item")
            return self.bar.advance
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("evaluating base and tuned", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if self.bar and not self.on:  # the last count as a closing line: a short run prints one too
            self.bar.close(summary=self.bar.line().removeprefix("evaluate: "))
        elif self.bar:
            self.bar.stop()


def _forgetting(facts: dict, probes_path: Path, config: EvalConfig) -> dict:
    from corpus_ft.evaluate.metrics import perplexity

    ppl = {s: perplexity(sum(x for x, _ in v), sum(n for _, n in v)) for s, v in facts["probe_nll"].items()}
    ratio = ppl["tuned"] / ppl["base"] if ppl["base"] else None
    return {
        "probes": str(probes_path),
        "n": len(facts["probe_nll"]["base"]),
        "base_ppl": ppl["base"],
        "tuned_ppl": ppl["tuned"],
        "ratio": ratio,
        "tolerance": config.forgetting_tolerance,
        "flag": ratio is not None and ratio > 1 + config.forgetting_tolerance,
    }


def _highlights(rows: list[dict], k: int = 5) -> dict:
    from corpus_ft.evaluate.metrics import delta, primary

    scored = [(delta(r), r) for r in rows]
    scored = [(d, r) for d, r in scored if d is not None]
    for d, r in scored:
        r["delta"], r["primary_metric"] = d, primary(r)
    better = sorted((x for x in scored if x[0] > 0), key=lambda x: -x[0])[:k]
    worse = sorted((x for x in scored if x[0] < 0), key=lambda x: x[0])[:k]
    return {"better": [r["id"] for _, r in better], "worse": [r["id"] for _, r in worse]}


def _retrieval_summary(rows: list[dict], index: dict | None, config: EvalConfig) -> dict | None:
    """The four systems side by side, and how often retrieval found the reference's source."""
    if index is None:
        return None
    from corpus_ft.evaluate import retrieval

    return {
        "k": config.retrieval.k,
        "index": index,
        "systems": retrieval.systems_table(rows),
        "recall": retrieval.recall_summary(rows),
    }


def _write(out: Path, rows: list[dict], summary: dict, human: dict, inputs: dict, config: EvalConfig) -> None:
    from corpus_ft.evaluate import ratings, report

    with atomic_dir(out) as tmp:
        write_jsonl(tmp / "results.jsonl", rows)
        atomic_write_text(tmp / "ratings.csv", ratings.to_csv(rows, human))
        atomic_write_text(tmp / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
        from corpus_ft.evaluate import retrieval

        section = retrieval.markdown(summary, rows)  # empty unless evaluate.retrieval was set
        atomic_write_text(tmp / "report.md", report.markdown(summary, rows) + section)
        atomic_write_text(tmp / "report.html", retrieval.into_html(report.html(summary, rows), section))
        write_manifest(tmp, "evaluate", inputs, config.model_dump(mode="json"))


def _fold_ratings(run_dir: Path, config: EvalConfig) -> dict:
    """Re-render the report with human ratings, reusing results.jsonl (no model is loaded)."""
    from corpus_ft.evaluate import ratings

    out = run_dir / "eval"
    if not (out / "results.jsonl").is_file() or not (out / "summary.json").is_file():
        raise CorpusFtError(
            f"{out}: no results.jsonl/summary.json to fold ratings into; run `corpus-ft evaluate {run_dir}` first"
        )
    rows = read_jsonl(out / "results.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    human = ratings.read(config.ratings, {r["id"] for r in rows})
    for r in rows:
        r["human"] = human.get(r["id"], [])
    summary["human"] = ratings.summarise(human) | {"file": str(config.ratings)}
    old = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else {}
    inputs = {k: v["path"] for k, v in old.get("inputs", {}).items()} | {"ratings": config.ratings}
    cfg = EvalConfig.model_validate({**old.get("config", {}), "ratings": config.ratings})
    _write(out, rows, summary, human, inputs, cfg)
    return summary


@with_run_lock("evaluate", "run_dir")
def evaluate(run_dir: str | Path, config: EvalConfig | None = None, *, progress: bool = False) -> dict:
    """Compare base and fine-tuned on the run's queries; writes RUN_DIR/eval/ and returns summary.json's dict."""
    from corpus_ft.evaluate import judge as judge_mod
    from corpus_ft.evaluate import scoring
    from corpus_ft.evaluate.metrics import group

    run_dir, config = Path(run_dir), config or EvalConfig()
    if config.ratings:
        return _fold_ratings(run_dir, config)
    if bool(config.judge_url) != bool(config.judge_model):
        raise CorpusFtError("the judge needs both --judge-url and --judge-model")
    started = time.perf_counter()
    rows, missing = _collect(run_dir, config)
    rag_index = None
    if config.retrieval:
        from corpus_ft.evaluate import retrieval

        rag_index = retrieval.attach(run_dir, rows, config.retrieval)
    probes_path = Path(config.probes) if config.probes else PROBES
    probes = load_probes(probes_path)
    tuned_kind, tuned = scoring.find_tuned(run_dir, Path(config.adapter) if config.adapter else None)
    base = scoring.resolve_base(tuned, tuned_kind, config.base, run_dir)
    device = scoring.pick_device(config.device)
    facts = _score(rows, probes, scoring.open_models(tuned_kind, base, tuned, device), config, progress)
    scored_s = time.perf_counter() - started
    judged = None
    if config.judge_url:
        judged = judge_mod.judge(
            rows,
            url=config.judge_url,
            model=config.judge_model,
            rubric_path=config.judge_rubric,
            seed=config.seed,
            api_key_env=config.judge_api_key_env,
            max_tokens=config.judge_max_tokens,
            cache_dir=run_dir / "cache" / "judge",
        )
    summary = {
        "run_dir": str(run_dir),
        "base": base,
        "adapter": str(tuned) if tuned_kind == "adapter" else None,
        "tuned": {"kind": tuned_kind, "path": str(tuned), "max_abs_logit_diff": facts["max_logit_diff"]},
        "tiny_model": (Path(base) / "corpus_ft_tiny.json").is_file(),
        "device": device,
        "decoding": {
            "max_new_tokens": config.max_new_tokens,
            "greedy": config.temperature == 0,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "seed": config.seed,
            "batch_size": config.batch_size,
            "max_length": config.max_length,
        },
        "counts": {
            "queries": sum(r["group"] == "queries" for r in rows),
            "test": {k: n for k in config.kinds if (n := sum(r["kind"] == k for r in rows))},
            "total": len(rows),
        },
        "missing_kinds": missing,
        "aggregate": group(rows),
        "forgetting": _forgetting(facts, probes_path, config),
        "adapter_check": {"max_abs_logit_diff": facts["max_logit_diff"]},  # kept for readers of older summaries
        "judge": judged,
        "human": None,
        "highlights": _highlights(rows),
        "retrieval": _retrieval_summary(rows, rag_index, config),
        "timing": {"seconds": round(scored_s, 2), "queries_per_s": round(len(rows) / scored_s, 3)},
    }
    inputs = {tuned_kind: tuned, "probes": probes_path}
    if config.queries:
        inputs["queries"] = config.queries
    for kind in config.kinds if config.test_sample else ():
        if (p := run_dir / "datasets" / kind / "test.jsonl").is_file():
            inputs[f"test_{kind}"] = p
    _write(run_dir / "eval", rows, summary, {}, inputs, config)
    return summary
