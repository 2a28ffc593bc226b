"""How many of the functions a reference tool sees became units: Python's `ast` for Python, Universal Ctags for the rest.

Used by the tests (sample corpus and fixtures) and by `corpus-ft bench ingest`, so the figure a
reader sees is the one the suite checks.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from corpus_ft.ingest.read import decode

# ctags language -> ours, and the ctags kinds that are functions or methods
CTAGS_LANGUAGES = {
    "JavaScript": "javascript",
    "TypeScript": "typescript",
    "Java": "java",
    "Go": "go",
    "C": "c",
    "C++": "cpp",
    "Rust": "rust",
    "Ruby": "ruby",
    "C#": "csharp",
}
CTAGS_KINDS = {"function", "method", "func", "generator", "getter", "setter", "singletonMethod"}


def _code_units(table) -> dict[str, list[tuple[str, int, int]]]:
    """path -> [(qualified name, start, end)] for function and method units."""
    out: dict[str, list] = defaultdict(list)
    cols = table.select(["path", "kind", "name", "start_line", "end_line"]).to_pydict()
    for path, kind, name, start, end in zip(
        cols["path"], cols["kind"], cols["name"], cols["start_line"], cols["end_line"]
    ):
        if kind in ("function", "method", "class"):
            out[path].append((name, start, end))
    return out


def ast_functions(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line incl. decorators, last line) of every def/async def, as Python sees them."""
    found = []

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    found.append((qual, start, child.end_lineno))
                visit(child, qual + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def python_recall(repo: str | Path, table) -> dict:
    """Share of `ast`'s functions found as units with the same qualified name and line span."""
    repo = Path(repo)
    units = _code_units(table)
    paths = sorted({p for p, lang in zip(table["path"].to_pylist(), table["language"].to_pylist()) if lang == "python"})
    total = matched = unparsable = 0
    missed = []
    for rel in paths:
        text, _ = decode((repo / rel).read_bytes())
        try:
            expected = ast_functions(text or "")
        except (SyntaxError, ValueError, RecursionError):
            unparsable += 1
            continue
        have = set(units.get(rel, []))
        for item in expected:
            total += 1
            if item in have:
                matched += 1
            else:
                missed.append(f"{rel}:{item[1]}-{item[2]} {item[0]}")
    return {
        "reference": "python ast",
        "files": len(paths) - unparsable,
        "files_ast_cannot_parse": unparsable,
        "expected": total,
        "found": matched,
        "recall": round(matched / total, 4) if total else None,
        "missed_examples": missed[:20],
    }


def ctags_tags(repo: str | Path, paths: list[str]) -> list[dict]:
    """Functions and methods Universal Ctags finds in `paths` (relative to `repo`)."""
    exe = shutil.which("ctags")
    if exe is None or not paths:
        return []
    proc = subprocess.run(
        [exe, "--output-format=json", "--fields=+nKzSel", "-L", "-", "-f", "-"],
        input="\n".join(paths),
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    tags = []
    for line in proc.stdout.splitlines():
        try:
            tag = json.loads(line)
        except ValueError:
            continue
        if (
            tag.get("_type") == "tag"
            and tag.get("kind") in CTAGS_KINDS
            and tag.get("language") in CTAGS_LANGUAGES
            and not tag["name"].startswith(("__anon", "AnonymousFunction"))
        ):  # lambdas, callbacks: no name
            tags.append(tag)
    return tags


def ctags_recall(repo: str | Path, table) -> dict:
    """Share of ctags' functions and methods that fall inside a unit of the same (last) name."""
    units = _code_units(table)
    langs = dict(zip(table["path"].to_pylist(), table["language"].to_pylist()))
    paths = sorted(p for p, lang in langs.items() if lang in CTAGS_LANGUAGES.values())
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for tag in ctags_tags(repo, paths):
        rel, name, line = tag["path"], _norm(tag["name"]), tag["line"]
        counts = by_language[CTAGS_LANGUAGES[tag["language"]]]
        counts[0] += 1
        if any(
            s <= line <= e and (_norm(n) == name or _norm(n).endswith("." + name)) for n, s, e in units.get(rel, [])
        ):
            counts[1] += 1
        else:
            missed.append(f"{rel}:{line} {tag['name']} ({tag['kind']})")
    total = sum(c[0] for c in by_language.values())
    found = sum(c[1] for c in by_language.values())
    return {
        "reference": "universal-ctags" if shutil.which("ctags") else "ctags not installed",
        "expected": total,
        "found": found,
        "recall": round(found / total, 4) if total else None,
        "by_language": {
            k: {"expected": v[0], "found": v[1], "recall": round(v[1] / v[0], 4)}
            for k, v in sorted(by_language.items())
        },
        "missed_examples": missed[:20],
    }


def _norm(name: str) -> str:
    """ctags writes `operator ==` and drops the `#` of private JS members."""
    return name.replace(" ", "").replace("#", "")
