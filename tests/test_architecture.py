"""The layering of docs/architecture.md, checked on every import in corpus_ft/ (ast, no import executed).

top     cli, cli_options, run, recipe, bench/     may import anything below
stages  ingest, datasets (+ generate), review, estimate, train, evaluate
        each other only through the public surface: the package (`corpus_ft.review`) or its `config`
bottom  model/, redact, settings, loopback, util, progress  import nothing above them
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "corpus_ft"

TOP = {"cli", "cli_options", "run", "recipe", "bench", "__main__"}
BOTTOM = {"model", "redact", "settings", "loopback", "util", "progress", ""}  # "" is corpus_ft/__init__ (the version)
STAGE_OF = {
    "ingest": "ingest",
    "datasets": "datasets",
    "generate": "datasets",  # the generators serve the dataset stage
    "review": "review",
    "estimate": "estimate",
    "train": "train",
    "evaluate": "evaluate",
}
PUBLIC = {"config"}  # besides the package itself: a stage's settings model is part of its interface

# Known exceptions, each with the reason it is not fixed yet. Add none without one.
ALLOWED = {
    (
        "corpus_ft.evaluate.judge",
        "corpus_ft.generate.openai",
    ): "the judge uses the generators' OpenAI-compatible client; it belongs in the bottom layer (model/)",
}


def _top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports() -> list[tuple[str, str, int]]:
    """(importing module, imported corpus_ft module, line) for every import in the package, lazy ones included."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out += [(module, a.name, node.lineno) for a in node.names if a.name.startswith("corpus_ft")]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("corpus_ft"):
                if node.module == "corpus_ft":  # `from corpus_ft import x`: x is a module or a name of __init__
                    out += [
                        (
                            module,
                            f"corpus_ft.{a.name}"
                            if (PACKAGE / a.name).exists() or (PACKAGE / f"{a.name}.py").exists()
                            else "corpus_ft",
                            node.lineno,
                        )
                        for a in node.names
                    ]
                else:
                    out.append((module, node.module, node.lineno))
    return out


def _violation(src: str, dst: str) -> str | None:
    a, b = _top_package(src), _top_package(dst)
    if a == b or a in TOP:
        return None
    if b in TOP:
        return "imports the top layer (cli/run/recipe/bench), which sits above every stage"
    if a in BOTTOM and b in STAGE_OF:
        return "the bottom layer imports a stage"
    if a in STAGE_OF and b in STAGE_OF and STAGE_OF[a] != STAGE_OF[b]:
        rest = dst.split(".")[2:]
        if rest and rest[0] not in PUBLIC:
            return f"reaches into stage `{b}`'s internals; import from `corpus_ft.{b}` (its public surface) instead"
    return None


def test_layers_point_down_and_stages_meet_only_at_their_public_surface():
    problems = [
        f"corpus_ft/{src.removeprefix('corpus_ft.').replace('.', '/')}.py:{line}: imports {dst}: {why}"
        for src, dst, line in _imports()
        if (src, dst) not in ALLOWED and (why := _violation(src, dst))
    ]
    assert not problems, "\n".join(problems)


def test_the_rule_catches_what_it_forbids():
    assert _violation("corpus_ft.train.data", "corpus_ft.decisions")  # a stage's internals
    assert _violation("corpus_ft.redact", "corpus_ft.datasets")  # bottom importing a stage
    assert _violation("corpus_ft.model.generate", "corpus_ft.run")  # anything importing the top
    assert _violation("corpus_ft.train.data", "corpus_ft.review") is None
    assert _violation("corpus_ft.estimate.memory", "corpus_ft.train.config") is None
    assert _violation("corpus_ft.run", "corpus_ft.train.trainer") is None
    assert {s for s, _, _ in _imports()} >= {"corpus_ft.cli", "corpus_ft.train.trainer"}  # it read the package


def test_allowed_exceptions_still_exist():
    """An exception that no longer occurs must leave the list, so the list never hides a new one."""
    seen = {(s, d) for s, d, _ in _imports()}
    assert set(ALLOWED) <= seen


def test_python_m_cli_registers_every_bench_command():
    """`python -m corpus_ft.cli` runs main() after every command is defined (quantize was once missing)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "corpus_ft.cli", "bench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("demo", "quality", "train", "modes", "quantize", "hostile"):
        assert name in out, name
