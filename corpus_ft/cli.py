"""The `corpus-ft` command line: parses options and calls library functions that tests call directly.

Heavy libraries (torch, transformers, peft, datasets) are imported inside the commands that
need them, so `corpus-ft --help` and `corpus-ft ingest` start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from corpus_ft import __version__
from corpus_ft.util import CorpusFtError, offline_env

offline_env()


class _Group(click.Group):
    """Turns a CorpusFtError into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CorpusFtError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corpus-ft")
def main() -> None:
    """corpus-ft: enterprise docs and code -> reviewed datasets -> QLoRA fine-tune -> evaluation."""


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# --- ingest (corpus_ft/ingest) ---------------------------------------------------------


# --- build (corpus_ft/build, corpus_ft/generate) ---------------------------------------


# --- review (corpus_ft/review) ---------------------------------------------------------


@main.command("review")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--serve", is_flag=True, help="Serve the page from a local web app to accept, reject and edit records.")
@click.option("--host", default="127.0.0.1", show_default=True, help="--serve: interface to bind (loopback keeps it private).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="--serve: port (0 picks a free one).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Model directory whose tokenizer measures record lengths (default: whitespace tokens).")
@click.option("--sample", type=click.IntRange(min=1), default=None, help="Print N records per kind in the terminal instead.")
@click.option("--page-samples", default=5, show_default=True, type=click.IntRange(min=0), help="Sample records per kind on the page.")
@click.option("--json", "as_json", is_flag=True, help="Print the page path and warnings as JSON on stdout.")
def review_cmd(run_dir: Path, serve: bool, host: str, port: int, model_dir: Path | None, sample: int | None,
               page_samples: int, as_json: bool) -> None:
    """Review built datasets before training: RUN_DIR/review/index.html, a web app, or a terminal sample.

    Decisions (accept/reject/edit) go to RUN_DIR/review/decisions.jsonl; `corpus-ft build
    --apply-review` and `corpus-ft train` honour them.
    """
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

        serve_app(run_dir, host=host, port=port, model_dir=model_dir,
                  on_ready=lambda url: click.echo(f"reviewing {run_dir} at {url} (Ctrl-C to stop)", err=True))


# --- estimate (corpus_ft/train/estimate.py) --------------------------------------------


# --- train, export, tiny-model (corpus_ft/train) ---------------------------------------


@main.command("tiny-model")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--corpus", "corpus_run", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Run directory whose units.parquet trains the tokenizer (default: a built-in text).")
@click.option("--vocab-size", default=4096, show_default=True, help="BPE vocabulary size.")
@click.option("--hidden-size", default=128, show_default=True)
@click.option("--layers", default=2, show_default=True)
@click.option("--seed", default=0, show_default=True)
def tiny_model_cmd(out_dir: Path, corpus_run: Path | None, vocab_size: int, hidden_size: int,
                   layers: int, seed: int) -> None:
    """Build the embedded default: a tiny random-init Llama and a BPE tokenizer, offline.

    It is NOT a useful language model; it exists so the whole pipeline runs and is tested
    on a CPU with no model download. Real runs pass a local Llama directory or a hub id.
    """
    from corpus_ft.train.tiny import build_tiny_model

    path = build_tiny_model(out_dir, corpus_run=corpus_run, vocab_size=vocab_size,
                            hidden_size=hidden_size, num_layers=layers, seed=seed)
    click.echo(f"tiny Llama written to {path}")


# --- evaluate (corpus_ft/evaluate) -----------------------------------------------------


# --- run, bench (corpus_ft/recipe.py, corpus_ft/run.py) -------------------------------


@main.group()
def bench() -> None:
    """Benchmarks that print the figures the README quotes (speed, memory, time)."""


if __name__ == "__main__":
    main()
