"""The layering of docs/architecture.md, checked on every import in corpus_ft/ (ast, no import executed).

top     cli, cli_options, run, recipe, bench/     may import anything below
stages  ingest, datasets (+ generate), review, estimate, train, evaluate
        each other only through the public surface: the package (`corpus_ft.review`) or its `config`
bottom  model/, redact, settings, loopback, util, progress, gpus, decisions, train_config  import nothing above
LAYERS below fixes the full order; the subpackage graph must have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "corpus_ft"

TOP = {"cli", "cli_options", "run", "recipe", "bench", "__main__"}
BOTTOM = {
    "model",
    "redact",
    "settings",
    "loopback",
    "util",
    "progress",
    "extras",
    "retrieve",
    "gpus",
    "decisions",
    "train_config",
    "",
}  # "" is corpus_ft/__init__ (the version)
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
    assert _violation("corpus_ft.train.data", "corpus_ft.review.data")  # a stage's internals
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


# The layer order of docs/architecture.md, lowest first. A module may import its own subpackage or a module of
# a strictly lower layer, never one of its own layer or above: so the graph of subpackages has no cycle.
LAYERS = [
    {"", "redact"},
    {"util"},
    {"settings", "progress", "loopback", "extras", "gpus"},
    {"model", "retrieve", "decisions", "train_config"},
    {"ingest"},
    {"generate"},
    {"datasets"},
    {"review"},
    {"estimate"},
    {"train"},
    {"evaluate"},
    {"cli_options", "recipe"},
    {"run"},
    {"bench"},
    {"cli"},
    {"__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _graph() -> dict[tuple[str, str], list[str]]:
    """(importing subpackage, imported subpackage) -> where, for every import between two of them."""
    edges: dict[tuple[str, str], list[str]] = {}
    for src, dst, line in _imports():
        a, b = _top_package(src), _top_package(dst)
        if a != b:
            edges.setdefault((a, b), []).append(f"{src}:{line} imports {dst}")
    return edges


def _cycles(edges) -> list[list[str]]:
    """Every strongly connected group of more than one subpackage (Tarjan's algorithm)."""
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)
        succ.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(succ[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    """A new module must be placed in LAYERS (and docs/architecture.md), or nothing checks its imports."""
    names = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert not (names - {"__init__"}) - set(RANK), sorted((names - {"__init__"}) - set(RANK))


def test_no_cycle_between_subpackages():
    edges = _graph()
    cycles = _cycles(edges)
    detail = [
        " <-> ".join(group)
        + ": "
        + "; ".join(w for (a, b), ws in edges.items() if a in group and b in group for w in ws[:2])
        for group in cycles
    ]
    assert not cycles, "\n".join(detail)


def test_imports_follow_the_layer_order():
    problems = [
        f"{w}: layer {RANK[a]} ({a}) may import only lower layers, not {b} (layer {RANK[b]})"
        for (a, b), ws in _graph().items()
        if a in RANK and b in RANK and RANK[a] <= RANK[b]
        for w in ws
    ]
    assert not problems, "\n".join(problems)


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({("train", "estimate"): [], ("estimate", "train"): [], ("estimate", "util"): []}) == [
        ["estimate", "train"]
    ]
    assert _cycles({("review", "datasets"): [], ("datasets", "util"): []}) == []
