"""`corpus-ft bench docstrings REPO...`: do code summaries come from the doc comments that exist?

Each repository is ingested and its code_summary dataset built (offline generator) in a
temporary run directory. An independent reader, written apart from ingest's tree-sitter
extractor, finds the doc comments by its own means: Python's own `ast` for docstrings, and a
line scanner for comments above a definition, by each language's documented convention
(JSDoc/TSDoc, Javadoc, Doxygen `/** */` and `///`, rustdoc `///`, C# `///`, Go's `//` block, Ruby's `#` block).
A unit the reader finds a doc comment for counts as *taken* when its code_summary record's
summary comes from the doc comment (`summary_source: docstring`, its words in the comment's
words). Goal: at most 2% of documented units not taken.
"""

from __future__ import annotations

import ast
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

GOAL = 0.02
_WORD = re.compile(r"\w+")
_DIRECTIVE_WORDS = re.compile(
    r"eslint|jshint|istanbul|prettier-ignore|@ts-|nolint|go:generate|go:build|\+build|noqa|type: ?ignore|pylint|"
    r"rubocop|NOLINT|clang-format|SPDX"
)
# lines that sit between a doc comment and its definition: decorators, annotations, attributes
_ATTACHED_LINE = re.compile(r"^\s*(?:@[\w.]+(?:\(.*\))?\s*$|#\[.*\]\s*$|\[[A-Z][\w.]*(?:\(.*\))?\]\s*$)")
_BLOCK_DOC = ("/**", "/*!")
_LINE_DOC = {
    "rust": ("///",),
    "csharp": ("///",),
    "go": ("//",),
    "ruby": ("#",),
    "c": ("///", "//!"),
    "cpp": ("///", "//!"),
    "java": (),
    "javascript": (),
    "typescript": (),
}


def independent_doc(lines: list[str], start_line: int, language: str) -> str:
    """The doc comment above line `start_line` (1-based) by its language's convention, or ''."""
    i = start_line - 2
    while i >= 0 and (_ATTACHED_LINE.match(lines[i]) or _DIRECTIVE_WORDS.search(lines[i]) and _comment(lines[i])):
        i -= 1
    blank = i
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0:
        return ""
    gap = i != blank
    line = lines[i].strip()
    if line.endswith("*/") and language != "ruby":
        j = i
        while j >= 0 and "/*" not in lines[j]:
            j -= 1
        if j < 0 or not lines[j].strip().startswith(_BLOCK_DOC) or lines[j].strip().startswith("/***"):
            return ""
        if "@license" in lines[j] or "@module" in "".join(lines[j : i + 1]):
            return ""
        return _strip("\n".join(lines[j : i + 1]))
    if gap and language != "rust":
        return ""  # a line comment documents what is directly under it
    markers = _LINE_DOC.get(language, ())
    marker = next((m for m in markers if line.startswith(m)), None)
    if marker is None or (language == "rust" and line.startswith("////")):
        return ""
    j = i
    while j - 1 >= 0 and lines[j - 1].strip().startswith(marker):
        j -= 1
    block = [ln for ln in lines[j : i + 1] if not _DIRECTIVE_WORDS.search(ln)]
    if j == 0 and re.search(r"(?i)copyright|licen[cs]e", "\n".join(block)):
        return ""
    return _strip("\n".join(block))


def _comment(line: str) -> bool:
    return line.strip().startswith(("//", "#", "/*"))


def _strip(block: str) -> str:
    out = []
    for ln in block.split("\n"):
        ln = re.sub(r"^\s*(?:/\*\*?!?|\*/|\*(?!/)|///?!?|#+)", "", ln)
        out.append(ln.replace("*/", "").strip())
    return "\n".join(out).strip()


def python_docs(source: str) -> dict[int, str]:
    """Docstrings by definition line (the `def`/`class` line and its first decorator's), from `ast`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node)
            if doc:
                out[node.lineno] = doc
                if node.decorator_list:
                    out[node.decorator_list[0].lineno] = doc
    return out


def described(doc: str) -> bool:
    """A doc comment that describes (two words or more besides its tags), not only a label
    (`/// --after-context`) or tags (`@param x ...`, `@see #get`) no summary can be taken from."""
    main = re.split(r"^\s*@\w+", doc, maxsplit=1, flags=re.M)[0]  # the main description precedes the block tags
    return len(main.split()) >= 2


def taken_from(summary: str, doc: str) -> bool:
    """The summary's words are the doc comment's words (rendering tags only removes words)."""
    words = [w.lower() for w in _WORD.findall(summary)]
    if not words:
        return False
    doc_words = {w.lower() for w in _WORD.findall(doc)}
    return sum(w in doc_words for w in words) >= 0.8 * len(words)


def repo_docstrings(repo: Path, run_dir: Path, *, workers: int | None = 1) -> dict:
    """Ingest and build code_summary for one repository, then compare with the independent reader."""
    import pyarrow.parquet as pq

    from corpus_ft.datasets import build_dataset
    from corpus_ft.datasets.config import BuildConfig
    from corpus_ft.datasets.kinds import good_docstring, skip_reason
    from corpus_ft.ingest import EXCLUDED_BY_DEFAULT, ingest_repo
    from corpus_ft.util import read_jsonl

    started = time.perf_counter()
    ingest_repo(repo, run_dir, workers=workers)
    build_dataset("code_summary", run_dir, generator="heuristic", force=True)
    out = run_dir / "datasets" / "code_summary"
    summary_of: dict[str, tuple[str, str, str]] = {}  # unit id -> (summary, source, where)
    for split in ("train", "validation", "test"):
        for r in read_jsonl(out / f"{split}.jsonl"):
            if r["meta"]["direction"] == "code_to_summary":
                summary_of[r["source"]["unit_id"]] = (r["messages"][2]["content"], r["meta"]["summary_source"], "kept")
    removed_as = {e["source"]["unit_id"]: e["reason"] for e in read_jsonl(out / "removed.jsonl") if e.get("source")}
    units = [
        u
        for u in pq.read_table(run_dir / "units.parquet").to_pylist()
        if u["kind"] != "section" and u["category"] not in EXCLUDED_BY_DEFAULT and skip_reason(u) is None
    ]
    files: dict[str, list[str]] = {}
    py_docs: dict[str, dict[int, str]] = {}
    documented, misses, why, filtered, labels = 0, [], Counter(), Counter(), 0
    cfg = BuildConfig()
    for u in units:
        path = u["path"]
        if path not in files:
            text = (repo / path).read_text(encoding="utf-8", errors="replace")
            files[path] = text.split("\n")
            if u["language"] == "python":
                py_docs[path] = python_docs(text)
        if u["language"] == "python":
            doc = py_docs[path].get(u["start_line"], "")
        else:
            doc = independent_doc(files[path], u["start_line"], u["language"])
        if not doc.strip():
            continue
        documented += 1
        labels += not described(doc)
        summary, source, where = summary_of.get(u["id"], ("", "", removed_as.get(u["id"], "no record")))
        if where not in ("kept", "needs_model_generator", "no_summary", "no record"):
            # removed by a later filter (a duplicate, too long): the summary it had is the doc comment's, if any
            summary = good_docstring(u["docstring"], cfg.min_docstring_words) or ""
            source = "docstring" if summary else ""
        if source == "docstring" and taken_from(summary, doc):
            if where != "kept":
                filtered[where] += 1
            continue
        reason = (
            "label or tags only"
            if not described(doc)
            else "not found by ingest"
            if not u["docstring"]
            else "doc too short or not a sentence"
            if where in ("needs_model_generator", "no_summary")
            else f"removed: {where}"
            if where not in ("kept",)
            else "summary differs"
        )
        why[reason] += 1
        misses.append(
            {
                "path": f"{path}:{u['start_line']}",
                "name": u["name"],
                "reason": reason,
                "doc": " ".join(doc.split())[:160],
                "summary": summary[:160],
            }
        )
    share = len(misses) / documented if documented else 0.0
    desc_missed = sum(m["reason"] != "label or tags only" for m in misses)
    return {
        "repo": str(repo),
        "name": repo.name,
        "code_units": len(units),
        "documented": documented,
        "not_taken": len(misses),
        "share_not_taken": round(share, 4),
        "ok": share <= GOAL,
        # the same among doc comments that describe (leaving out labels and tag-only comments)
        "described": documented - labels,
        "described_not_taken": desc_missed,
        "share_described_not_taken": round(desc_missed / (documented - labels), 4) if documented > labels else 0.0,
        "reasons": dict(why.most_common()),
        "taken_but_filtered": dict(filtered.most_common()),  # summary from the doc, record dropped later
        "misses": misses,
        "seconds": round(time.perf_counter() - started, 1),
    }


def run(repos: list[Path], *, keep: Path | None = None, show: int = 0, seed: int = 0) -> dict:
    """Every repository in its own run directory (kept under `keep` when given, else temporary)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="corpus-ft-bench-docstrings-") as tmp:
        base = keep or Path(tmp)
        for repo in repos:
            r = repo_docstrings(repo, base / repo.resolve().name)
            if show:
                r["sample"] = sample_records(base / repo.resolve().name, show, seed)
            results.append(r)
    documented = sum(r["documented"] for r in results)
    missed = sum(r["not_taken"] for r in results)
    share = missed / documented if documented else 0.0
    desc = sum(r["described"] for r in results)
    desc_missed = sum(r["described_not_taken"] for r in results)
    return {
        "goal": GOAL,
        "documented": documented,
        "not_taken": missed,
        "share_not_taken": round(share, 4),
        "described": desc,
        "described_not_taken": desc_missed,
        "share_described_not_taken": round(desc_missed / desc, 4) if desc else 0.0,
        "ok": share <= GOAL,
        "repos": results,
    }


def sample_records(run_dir: Path, n: int, seed: int) -> list[dict]:
    """`n` seeded code_to_summary records to read: name, path, summary."""
    from corpus_ft.util import read_jsonl

    out = run_dir / "datasets" / "code_summary"
    records = [
        r
        for split in ("train", "validation", "test")
        for r in read_jsonl(out / f"{split}.jsonl")
        if r["meta"]["direction"] == "code_to_summary"
    ]
    picked = random.Random(seed).sample(records, min(n, len(records)))
    return [
        {"name": r["meta"]["name"], "path": r["source"]["path"], "summary": r["messages"][2]["content"]} for r in picked
    ]


def print_results(result: dict, examples: int = 3) -> None:
    """A table per repository on stderr, with a few misses each."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title="code summaries vs doc comments found by an independent reader", title_justify="left")
    cols = ("repository", "code units", "documented", "not taken", "share", f"≤ {GOAL:.0%}", "describing: share", "why")
    for col in cols:
        table.add_column(col)
    for r in result["repos"]:
        table.add_row(
            r["name"],
            str(r["code_units"]),
            str(r["documented"]),
            str(r["not_taken"]),
            f"{r['share_not_taken']:.1%}",
            "yes" if r["ok"] else "no",
            f"{r['share_described_not_taken']:.1%} of {r['described']}",
            escape(", ".join(f"{k} {v}" for k, v in r["reasons"].items())),
        )
    table.add_row(
        "all",
        "",
        str(result["documented"]),
        str(result["not_taken"]),
        f"{result['share_not_taken']:.1%}",
        "yes" if result["ok"] else "no",
        f"{result['share_described_not_taken']:.1%} of {result['described']}",
        "",
    )
    console.print(table)
    for r in result["repos"]:
        for m in r["misses"][:examples]:
            console.print(
                escape(f"  {r['name']} {m['path']} {m['name']} [{m['reason']}]: doc “{m['doc']}” → “{m['summary']}”")
            )
        for s in r.get("sample", []):
            console.print(escape(f"  {r['name']} sample {s['path']} {s['name']}: {s['summary']}"))
