"""`corpus-ft run RECIPE`: every stage of a recipe in order, skipping what is up to date.

    ingest -> datasets (each kind) -> [tiny-model] -> review -> estimate -> train -> evaluate

Each stage calls the library function its own command calls. Up-to-date checks use manifests:
ingest and build keep their own; for the others this module records what a stage read and how
it was configured in RUN_DIR/.stamps/<stage>/manifest.json (the Makefile's targets), so a
re-run only redoes a stage whose inputs or settings changed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from corpus_ft.progress import Ticker, quiet_third_party
from corpus_ft.recipe import Recipe
from corpus_ft.settings import STAGES
from corpus_ft.util import CorpusFtError, atomic_write_text, is_up_to_date, offline_env, with_run_lock, write_manifest

__all__ = ["NEEDS", "STAGES", "run_dir_for", "run_recipe", "stages_through", "stamp_path"]

# What each stage reads from the stages before it: `make train` (`corpus-ft run RECIPE --through train`)
# brings exactly these up to date first. Review is a person's step and feeds datasets, not train.
NEEDS: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "datasets": ("ingest",),
    "review": ("datasets",),
    "estimate": ("ingest",),
    "train": ("datasets", "estimate"),
    "evaluate": ("train",),
}


def stages_through(target: str) -> list[str]:
    """`target` and every stage it needs, in pipeline order ("all": every stage)."""
    if target == "all":
        return list(STAGES)
    if target not in NEEDS:
        raise CorpusFtError(f"unknown stage {target!r}; choose from {', '.join(STAGES)} or all")
    wanted, todo = set(), [target]
    while todo:
        stage = todo.pop()
        if stage not in wanted:
            wanted.add(stage)
            todo.extend(NEEDS[stage])
    return [s for s in STAGES if s in wanted]


@dataclass
class _Ctx:
    """What every stage gets besides the recipe: the run dir, progress bars on/off, the log."""

    run: Path
    progress: bool
    say: Callable[[str], None]
    results: dict = field(default_factory=dict)
    resume: bool = False  # train: restart from the last complete checkpoint instead of step 0


def stamp_path(run_dir: str | os.PathLike, stage: str) -> Path:
    """The file a finished stage leaves behind (the Makefile's target for that stage)."""
    return Path(run_dir) / ".stamps" / stage / "manifest.json"


def run_dir_for(recipe: Recipe, repo: Path | None = None, model: str | None = None) -> Path:
    """The run directory of `recipe` pointed at another repository and/or another model.

    `<run_dir>--<repo name>-<hash of its path>` for another repository, then `--<model name>` for another
    model than the recipe file names, so that neither ever writes over the recipe's own run.
    """
    base = Path(recipe.run_path)
    name = base.name
    if repo is not None:
        name += f"--{repo.resolve().name}-{_tag(str(repo.resolve()))}"
    if model is not None:
        name += f"--{model_slug(model)}"
    return base.with_name(name)


def _tag(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def model_slug(model: str) -> str:
    """A model as a directory-name part: its last path or hub-id component, plus a hash for a local path."""
    import re

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model.rstrip("/")).name or "model").strip("-.").lower() or "model"
    return f"{slug}-{_tag(str(Path(model).resolve()))}" if os.sep in model or model.startswith(".") else slug


def _check_model(run: Path, model: str) -> None:
    """Refuse to train one model over another model's run in the same directory."""
    owner = run / ".stamps" / "model"
    if owner.is_file() and (recorded := owner.read_text().strip()) and recorded != model:
        raise CorpusFtError(
            f"{run}: holds a run of model {recorded}, not {model}; running here would overwrite its adapter and "
            f"report. Pass the model as an override (`model={model}`, or --profile), which picks its own run "
            f"directory, pass another --run-dir, or delete {run} first"
        )


def _check_owner(run: Path, repos: list[Path]) -> None:
    """Refuse to write one repository's run over another's (the Makefile and `ingest` record which one,
    one line per repository). A run may gain repositories (its units then hold more), never lose one."""
    owner = run / ".stamps" / "repo"
    recorded = [Path(line) for line in owner.read_text().splitlines() if line.strip()] if owner.is_file() else []
    if recorded and not set(recorded) <= {Path(r) for r in repos}:
        held = ", ".join(map(str, recorded))
        wanted = ", ".join(map(str, repos))
        raise CorpusFtError(
            f"{run}: holds the run of {held}, not {wanted}; running here would overwrite it. "
            f"Use `--repo DIR` without --run-dir (its own directory is picked), another "
            f"--run-dir, or delete {run} first"
        )


def _fresh(run: Path, stage: str, inputs: dict, config: dict, *outputs: Path) -> bool:
    """True when the stage's outputs exist and its stamp records the same inputs and config.

    A fresh stamp is touched, so that make (which compares times) also sees it as up to date.
    """
    if all(p.exists() for p in outputs) and is_up_to_date(stamp_path(run, stage).parent, inputs, config):
        os.utime(stamp_path(run, stage))
        return True
    return False


def _stamp(run: Path, stage: str, inputs: dict, config: dict) -> None:
    write_manifest(stamp_path(run, stage).parent, stage, inputs, config)


def _dataset_manifests(recipe: Recipe, run: Path, kinds: Iterable[str] | None = None) -> dict[str, Path]:
    return {f"datasets/{k}": run / "datasets" / k / "manifest.json" for k in (kinds or recipe.datasets.kinds)}


def _trained_kinds(recipe: Recipe) -> list[str]:
    mix = recipe.train.mix
    return [k for k, w in mix.items() if w > 0] if mix else list(recipe.datasets.kinds)


def _need(path: Path, stage: str, before: str) -> None:
    if not path.exists():
        raise CorpusFtError(
            f"{path}: not found, so `{stage}` cannot run yet; run the `{before}` stage first "
            f"(`corpus-ft run RECIPE --stage {before}`, or `corpus-ft run RECIPE` for everything)"
        )


# --- stages: each returns a small dict whose "status" is "ran" or "up to date" -------------


def stage_ingest(recipe: Recipe, ctx: _Ctx) -> dict:
    from corpus_ft.ingest.repos import ingest_repos, sources_key

    run = ctx.run
    sources = recipe.sources
    report = ingest_repos(sources, run, config=recipe.ingest, progress=ctx.progress)
    repo_file = run / ".stamps" / "repo"  # the Makefile's record of which repositories were ingested
    listed = "".join(f"{p}\n" for p in recipe.repo_paths)
    if not repo_file.is_file() or repo_file.read_text() != listed:
        atomic_write_text(repo_file, listed)
    # one repository keeps the stamp it always had, so an existing run stays up to date
    key = {"repo": str(recipe.repo)} if recipe.repos is None else {"repos": sources_key(sources)}
    _stamp(run, "ingest", {"units": run / "units.parquet"}, key)
    unchanged = bool(report.get("cache", {}).get("unchanged"))
    return {
        "status": "up to date" if unchanged else "ran",
        "files": report.get("files_ingested"),
        "units": report.get("units"),
    }


def stage_datasets(recipe: Recipe, ctx: _Ctx) -> dict:
    from corpus_ft.datasets import build_dataset, split_warnings

    run = ctx.run
    _need(run / "units.parquet", "datasets", "ingest")
    apply = recipe.review.apply_decisions and (run / "review" / "decisions.jsonl").is_file()
    stats = {k: build_dataset(k, run, recipe.datasets, apply_review=apply) for k in recipe.datasets.kinds}
    for line in split_warnings(stats):
        ctx.say(line)
    _stamp(run, "datasets", _dataset_manifests(recipe, run), {"kinds": list(recipe.datasets.kinds)})
    return {
        "status": "up to date" if all(s.get("skipped") for s in stats.values()) else "ran",
        "records": {k: s["total"] for k, s in stats.items()},
        "applied_review": apply,
    }


def model_ref(recipe: Recipe, ctx: _Ctx) -> str:
    """The base model to load: a named model's directory (fetched once), the recipe's model, or the tiny test model."""
    if recipe.model != "tiny":
        from corpus_ft.model.registry import resolve

        return resolve(recipe.model) or recipe.model
    from corpus_ft.model.tiny import build_tiny_model

    run = ctx.run
    out = run / "tiny-model"
    inputs = {"units": run / "units.parquet"}
    config = recipe.tiny.model_dump()
    if _fresh(run, "tiny-model", inputs, config, out / "config.json"):
        return str(out)
    _need(run / "units.parquet", "tiny-model", "ingest")
    ctx.say(
        "warning: `model: tiny` is the random test model; its answers are noise. Use the default "
        "(smollm2-135m-instruct) or a real Llama directory for real runs"
    )
    t0 = time.perf_counter()
    t = recipe.tiny
    build_tiny_model(
        out,
        corpus_run=run,
        vocab_size=t.vocab_size,
        hidden_size=t.hidden_size,
        num_layers=t.layers,
        num_heads=t.heads,
        num_kv_heads=t.kv_heads,
        seed=t.seed,
    )
    _stamp(run, "tiny-model", inputs, config)
    ctx.results["tiny-model"] = {"status": "ran", "path": str(out), "seconds": round(time.perf_counter() - t0, 2)}
    ctx.say(_line("tiny-model", ctx.results["tiny-model"]))
    return str(out)


def _model_input(recipe: Recipe, run: Path, ref: str) -> dict[str, Path]:
    """What identifies the base model in a manifest: the tiny model's stamp or a local config.json."""
    if recipe.model == "tiny":
        return {"model": stamp_path(run, "tiny-model")}
    return {"model": Path(ref) / "config.json"} if Path(ref).is_dir() else {}


def stage_review(recipe: Recipe, ctx: _Ctx) -> dict:
    from corpus_ft.review import write_report

    run = ctx.run
    _need(stamp_path(run, "datasets"), "review", "datasets")
    ref = model_ref(recipe, ctx)
    tokenizer_dir = ref if (Path(ref) / "tokenizer.json").is_file() else None
    inputs = {
        **_dataset_manifests(recipe, run),
        "decisions": run / "review" / "decisions.jsonl",
        **_model_input(recipe, run, ref),
    }
    config = {"samples": recipe.review.samples, "tokenizer": tokenizer_dir}
    page = run / "review" / "index.html"
    if _fresh(run, "review", inputs, config, page):
        return {"status": "up to date", "page": str(page)}
    write_report(run, model_dir=tokenizer_dir, samples=recipe.review.samples)
    _stamp(run, "review", inputs, config)
    return {"status": "ran", "page": str(page)}


def stage_estimate(recipe: Recipe, ctx: _Ctx) -> dict:
    from corpus_ft.estimate import NO_FIT_EXIT, format_no_fit, run_estimate

    run = ctx.run
    ref = model_ref(recipe, ctx)
    cfg = recipe.train_config(ref)
    inputs = _model_input(recipe, run, ref)
    config = {"train": cfg.model_dump(mode="json"), "estimate": recipe.estimate.model_dump(mode="json")}
    if _fresh(run, "estimate", inputs, config, run / "estimate.json"):  # stamped only when the plan fits
        return {"status": "up to date", "estimate": str(run / "estimate.json")}
    stamp_path(run, "estimate").unlink(missing_ok=True)
    p = run_estimate(run, cfg, recipe.estimate)
    if p.fit is not None and not p.fit.fits and p.device != "cpu":  # free RAM moves: train's pre-flight warns
        raise CorpusFtError(
            "the recipe's training settings do not fit the GPU: "
            + format_no_fit(p.estimate, p.fit)
            + f"; change `train:` in {recipe.source or 'the recipe'}",
            exit_code=NO_FIT_EXIT,
        )
    _stamp(run, "estimate", inputs, config)
    return {
        "status": "ran",
        "required_gib": round(p.estimate.required_gib, 2),
        "gpu_gib": round(p.fit.gpu_gib, 1) if p.fit else None,
        "fits": p.fit.fits if p.fit else None,
    }


def stage_train(recipe: Recipe, ctx: _Ctx) -> dict:
    run = ctx.run
    kinds = _trained_kinds(recipe)
    for k in kinds:
        _need(run / "datasets" / k / "manifest.json", "train", "datasets")
    ref = model_ref(recipe, ctx)
    cfg = recipe.train_config(ref)
    inputs = {
        **_dataset_manifests(recipe, run, kinds),
        "decisions": run / "review" / "decisions.jsonl",
        **_model_input(recipe, run, ref),
    }
    config = cfg.model_dump(mode="json")
    out = run / "model" / ("full" if cfg.method == "full" else "adapter")
    if _fresh(run, "train", inputs, config, out):
        return {"status": "up to date", "output": str(out)}
    from corpus_ft.train.trainer import train  # torch, transformers, peft, trl: only when training

    summary = train(run, cfg, resume=ctx.resume, progress=ctx.progress)
    _stamp(run, "train", inputs, config)
    mem = summary.get("memory") or {}
    return {
        "status": "ran",
        "output": summary["output"],
        "steps": summary["steps"],
        "train_loss": _round(summary["train_loss"]),
        "eval_loss": _round(summary["eval_loss"]),
        "peak_gib": mem.get("peak_allocated_gib", mem.get("peak_rss_gib")),
    }


def stage_evaluate(recipe: Recipe, ctx: _Ctx) -> dict:
    run = ctx.run
    _need(stamp_path(run, "train"), "evaluate", "train")
    cfg = recipe.evaluate
    inputs = {
        "train": stamp_path(run, "train"),
        **{f"test/{k}": run / "datasets" / k / "test.jsonl" for k in cfg.kinds if k in recipe.datasets.kinds},
    }
    if cfg.queries:
        inputs["queries"] = cfg.queries
    config = cfg.model_dump(mode="json")
    report = run / "eval" / "report.html"
    if _fresh(run, "evaluate", inputs, config, report):
        return {"status": "up to date", "report": str(report)}
    from corpus_ft.evaluate import evaluate

    summary = evaluate(run, cfg, progress=ctx.progress)
    _stamp(run, "evaluate", inputs, config)
    test = summary.get("aggregate", {}).get("test") or {}
    return {
        "status": "ran",
        "report": str(report),
        "test_ppl": {side: _round(test.get(side, {}).get("ppl"), 2) for side in ("base", "tuned")} if test else None,
    }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _line(stage: str, result: dict) -> str:
    details = {k: v for k, v in result.items() if k not in ("status", "seconds")}
    shown = ", ".join(f"{k} {v}" for k, v in details.items() if v is not None)
    return f"{stage:<10} {result['status']:<11} {result.get('seconds', 0):7.1f} s  {shown}"


@with_run_lock("run", "recipe", resolve=lambda recipe: Path(recipe.run_path).resolve(), create=True)
def run_recipe(
    recipe: Recipe,
    stages: Iterable[str] | None = None,
    *,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
    resume: bool = False,
) -> dict:
    """Run `stages` (default: all, in order) of a validated recipe; returns per-stage results and timings.

    resume: a train stage that runs restarts from its last complete checkpoint (after a stop)."""
    offline_env()
    wanted = list(stages) if stages else list(STAGES)
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise CorpusFtError(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    say = echo or (lambda msg: print(msg, file=sys.stderr, flush=True))
    quiet_third_party(progress)
    run = Path(recipe.run_path).resolve()
    _check_owner(run, recipe.repo_paths)
    _check_model(run, recipe.model)
    if recipe.evaluate.queries:  # refuse at the first stage, not after hours of training
        from corpus_ft.evaluate.queries import check_queries_repo

        check_queries_repo(recipe.evaluate.queries, recipe.repo_paths, run)
    run.mkdir(parents=True, exist_ok=True)
    model_file = run / ".stamps" / "model"  # which model this run directory trains (see _check_model)
    if not model_file.is_file():
        model_file.parent.mkdir(exist_ok=True)
        atomic_write_text(model_file, f"{recipe.model}\n")
    ctx = _Ctx(run, progress, say, resume=resume)
    started = time.perf_counter()
    for stage in (s for s in STAGES if s in wanted):
        say(f"{stage:<10} starting")
        t0 = time.perf_counter()
        had_tiny = "tiny-model" in ctx.results
        beat = Ticker(stage, heartbeat=True, say=say) if not progress else contextlib.nullcontext()
        with beat:  # without bars: a line every 30 s while nothing finer (train, evaluate) reports
            result = _STAGE_FUNCS[stage](recipe, ctx)
        tiny_s = ctx.results["tiny-model"]["seconds"] if "tiny-model" in ctx.results and not had_tiny else 0.0
        result["seconds"] = round(time.perf_counter() - t0 - tiny_s, 2)  # the tiny model is timed on its own
        ctx.results[stage] = result
        say(_line(stage, result))
    page, report = run / "review" / "index.html", run / "eval" / "report.html"
    return {
        "run_dir": str(run),
        "stages": ctx.results,
        "seconds": round(time.perf_counter() - started, 2),
        "review_page": str(page) if page.is_file() else None,
        "eval_report": str(report) if report.is_file() else None,
    }


_STAGE_FUNCS: dict[str, Callable[[Recipe, _Ctx], dict]] = {
    "ingest": stage_ingest,
    "datasets": stage_datasets,
    "review": stage_review,
    "estimate": stage_estimate,
    "train": stage_train,
    "evaluate": stage_evaluate,
}


PROJECT_ROOT = Path(__file__).resolve().parents[1]


def bench_demo(recipe_path: str | os.PathLike | None = None, *, keep: bool = False) -> dict:
    """Time recipes/demo.yaml end to end in a fresh temporary run directory (what `make demo` does)."""
    import json
    import shutil
    import tempfile

    from corpus_ft.model.registry import MODELS, get_model
    from corpus_ft.recipe import load_recipe

    path = Path(recipe_path) if recipe_path else PROJECT_ROOT / "recipes" / "demo.yaml"
    if not path.is_file():
        raise CorpusFtError(f"{path}: not found; the demo recipe ships with the source checkout, or pass --recipe")
    recipe = load_recipe(path, base_dir=None if recipe_path else PROJECT_ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-ft-bench-"))
    recipe.run_dir = tmp / "run"
    t0 = time.perf_counter()
    if recipe.model in MODELS:  # `make model`: instant once the model is in the cache
        get_model(recipe.model)
    model_s = round(time.perf_counter() - t0, 2)
    try:
        result = run_recipe(recipe)
        summary_file = Path(result["run_dir"]) / "eval" / "summary.json"
        agg = json.loads(summary_file.read_text())["aggregate"] if summary_file.is_file() else {}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    import torch

    order = ["ingest", "datasets", "tiny-model", "review", "estimate", "train", "evaluate"]
    stages = {"model": {"seconds": model_s, "status": "ran"}}
    stages.update(
        {
            s: {"seconds": result["stages"][s]["seconds"], "status": result["stages"][s]["status"]}
            for s in order
            if s in result["stages"]
        }
    )
    scores = {
        g: {side: {m: agg[g][side].get(m) for m in ("keyword_recall", "rougeL", "ppl")} for side in ("base", "tuned")}
        for g in ("queries", "test")
        if g in agg
    }
    return {
        "recipe": str(path),
        "model": recipe.model,
        "stages": stages,
        "seconds": round(result["seconds"] + model_s, 2),
        "cpus": os.cpu_count(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "test_ppl": result["stages"]["evaluate"].get("test_ppl"),
        "scores": scores,
        "run_dir": result["run_dir"],
    }


def bench_make_demo(*, keep: bool = False) -> dict:
    """`make demo` on a fresh clone of this checkout: venv, model fetch and conversion, the recipe; wall time.

    The clone gets its own model cache (CORPUS_FT_HOME), so the GGUF conversion is timed too; pip's
    cache and local wheels serve the packages, as on the project's machines.
    """
    import shutil
    import subprocess
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="corpus-ft-make-demo-"))
    clone = tmp / "corpus-ft"
    try:
        subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
        env = {**os.environ, "CORPUS_FT_HOME": str(tmp / "home"), "MAKEFLAGS": ""}
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["make", "--no-print-directory", "demo"], cwd=clone, env=env, capture_output=True, text=True
        )
        seconds = round(time.perf_counter() - t0, 1)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise CorpusFtError(f"`make demo` failed in {clone} (exit {proc.returncode}):\n{tail}", exit_code=1)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "seconds": seconds,
        "clone": str(clone),
        "cpus": os.cpu_count(),
        "commit": subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }
