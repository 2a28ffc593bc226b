"""What is evaluated: domain queries from a YAML/JSONL file and a sample of each test split.

Every query becomes one plain dict (see `_query`), whatever it came from, so that scoring,
metrics and reports treat a hand-written question and a held-out record alike. Bad input is
a CorpusFtError naming the file and line, raised before any model loads.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from corpus_ft.util import CorpusFtError, check_yaml_safety, iter_jsonl, read_utf8, sha256_text

SAMPLE_CORPUS = Path(__file__).resolve().parents[2] / "sample_corpus"  # the demo repository this checkout ships
FIELDS = {"id", "query", "reference", "keywords", "identifiers", "tags", "source", "system", "context"}
_SPAN = re.compile(r"^(?P<path>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")


def _query(
    *,
    id: str,
    kind: str,
    origin: str,
    prompt: str | None,
    messages: list[dict] | None,
    reference: str | None,
    keywords: list[str],
    tags: list[str],
    source: dict | None,
    source_text: str | None = None,
) -> dict:
    return {
        "id": id,
        "kind": kind,
        "origin": origin,
        "prompt": prompt,
        "messages": messages,
        "reference": reference,
        "keywords": keywords,
        "tags": tags,
        "source": source,
        "source_text": source_text,
    }


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise CorpusFtError(f"{where}: `{key}` must be a list of strings or a comma-separated string, got {value!r}")


def _source(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str) and (m := _SPAN.match(value.strip())):
        start = int(m["start"])
        return {"path": m["path"], "start_line": start, "end_line": int(m["end"] or start)}
    if isinstance(value, str):
        return {"path": value.strip(), "start_line": None, "end_line": None}
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        return {"path": value["path"], "start_line": value.get("start_line"), "end_line": value.get("end_line")}
    raise CorpusFtError(
        f"{where}: `source` must be `path`, `path:start-end` or {{path, start_line, end_line}}, got {value!r}"
    )


def _from_entry(entry: Any, where: str, system_prompt: str | None) -> dict:
    if not isinstance(entry, dict):
        raise CorpusFtError(f"{where}: each query must be a mapping with a `query` key, got {type(entry).__name__}")
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise CorpusFtError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(FIELDS))}"
        )
    query = entry.get("query")
    if not isinstance(query, str) or not query.strip():
        raise CorpusFtError(f"{where}: missing `query` (a non-empty string); every entry needs the question to ask")
    reference = entry.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise CorpusFtError(f"{where}: `reference` must be a string, got {reference!r}")
    system = entry.get("system", system_prompt)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": query}]
    qid = str(entry.get("id") or "query-" + sha256_text(query)[:12])
    keywords = _str_list(entry.get("keywords"), where, "keywords") + _str_list(
        entry.get("identifiers"), where, "identifiers"
    )
    return _query(
        id=qid,
        kind="query",
        origin=where,
        prompt=query,
        messages=messages,
        reference=reference or None,
        keywords=keywords,
        tags=_str_list(entry.get("tags"), where, "tags"),
        source=_source(entry.get("source"), where),
        source_text=entry.get("context"),
    )


def _load_yaml(path: Path) -> list[tuple[Any, int]]:
    import yaml

    try:
        text = read_utf8(path, "queries file")
        check_yaml_safety(text, path)  # no aliases or duplicate keys: a queries file never needs them
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark else ""
        context = f"; {e.context} at line {e.context_mark.line + 1}" if e.context and e.context_mark else ""
        raise CorpusFtError(f"{path}{line}: not valid YAML ({e.problem or e.context}{context}); fix the file") from None
    except yaml.YAMLError as e:
        raise CorpusFtError(f"{path}: not valid YAML ({e}); fix the file") from None
    if isinstance(data, dict) and "queries" in data:
        node = next(v for k, v in node.value if k.value == "queries")
        data = data["queries"]
    if not isinstance(data, list):
        raise CorpusFtError(
            f"{path}:1: expected a list of queries (or `queries:` holding one), each a mapping with a `query` key"
        )
    return [(entry, item.start_mark.line + 1) for entry, item in zip(data, node.value)]


def _load_jsonl(path: Path, fix: str = "one query object per line") -> list[tuple[Any, int]]:
    """(object, line number) per non-empty line; the line number is what errors name."""
    return list(iter_jsonl(path, fix))


def load_queries(path: str | Path, system_prompt: str | None = None) -> list[dict]:
    """Read and validate a queries file (.yaml/.yml or .jsonl/.json lines); errors name file:line."""
    path = Path(path)
    if not path.is_file():
        raise CorpusFtError(f"{path}: queries file not found")
    entries = _load_jsonl(path) if path.suffix in (".jsonl", ".json") else _load_yaml(path)
    queries = [_from_entry(entry, f"{path}:{line}", system_prompt) for entry, line in entries]
    seen: dict[str, str] = {}
    for q in queries:
        if q["id"] in seen:
            raise CorpusFtError(
                f"{q['origin']}: duplicate id {q['id']!r} (first at {seen[q['id']]}); ids must be unique"
            )
        seen[q["id"]] = q["origin"]
    if not queries:
        raise CorpusFtError(f"{path}: no queries in the file")
    return queries


def _from_record(rec: dict, where: str) -> dict:
    kind, meta = rec.get("kind"), rec.get("meta") or {}
    src = rec.get("source") or {}
    source = {k: src.get(k) for k in ("path", "repo", "start_line", "end_line", "unit_id")} if src.get("path") else None
    tags = [meta["language"]] if meta.get("language") else []
    keywords = _str_list(meta.get("keywords") or meta.get("identifiers"), where, "meta.keywords")
    if kind == "paragraphs":
        return _query(
            id=rec["id"],
            kind=kind,
            origin=where,
            prompt=None,
            messages=None,
            reference=rec.get("text"),
            keywords=[],
            tags=tags,
            source=source,
        )
    messages = rec.get("messages") or []
    if not messages or messages[-1].get("role") != "assistant":
        raise CorpusFtError(f"{where}: a {kind} record must end with an assistant message; rebuild the dataset")
    prompt_msgs = messages[:-1]
    reference = messages[-1]["content"]
    if kind == "code_summary" and not keywords and meta.get("name"):  # a summary names what it summarises
        keywords = [str(meta["name"]).split(".")[-1]]
    if kind == "keywords" and not keywords:
        keywords = [k.strip(" -*•") for k in re.split(r"[,\n;]", reference) if k.strip(" -*•")]
    user = next((m["content"] for m in reversed(prompt_msgs) if m.get("role") == "user"), "")
    return _query(
        id=rec["id"],
        kind=kind,
        origin=where,
        prompt=user,
        messages=prompt_msgs,
        reference=reference,
        keywords=keywords,
        tags=tags,
        source=source,
    )


def sample_test_split(run_dir: str | Path, kinds: list[str], n: int, seed: int) -> tuple[list[dict], dict[str, str]]:
    """Up to `n` held-out test records per kind (seeded), and a note per kind that had none."""
    out, missing = [], {}
    for kind in kinds if n else ():
        path = Path(run_dir) / "datasets" / kind / "test.jsonl"
        if not path.is_file():
            missing[kind] = f"{path} not found (build it with `corpus-ft build {kind} --run {run_dir}`)"
            continue
        rows = [(rec, f"{path}:{line}") for rec, line in _load_jsonl(path, "rebuild the dataset")]
        if not rows:
            missing[kind] = f"{path} is empty"
            continue
        picked = sorted(random.Random(f"{seed}:{kind}").sample(range(len(rows)), min(n, len(rows))))
        out += [_from_record(rows[i][0], rows[i][1]) for i in picked]
    return out, missing


def _lines(unit: dict, start: int | None, end: int | None) -> str:
    """The part of a unit's text that lies within [start, end] (1-based file lines)."""
    lines = unit["text"].split("\n")  # as chunk spans count lines
    if not start or not unit.get("start_line"):
        return unit["text"]
    lo = max(0, start - unit["start_line"])
    hi = max(lo + 1, (end or start) - unit["start_line"] + 1)
    return "\n".join(lines[lo:hi] or lines)


def attach_source_text(run_dir: str | Path, queries: list[dict], max_chars: int = 4000) -> None:
    """Fill `source_text` (the span a query came from) from units.parquet, for the report and the judge.

    A test record names its unit; a custom query names a path (and maybe lines): every unit of
    that file overlapping those lines is used, in file order.
    """
    units_path = Path(run_dir) / "units.parquet"
    todo = [q for q in queries if q["source"] and not q["source_text"]]
    if not todo or not units_path.is_file():
        return
    import pyarrow.parquet as pq

    from corpus_ft.redact import redact  # reports quote the repo: whole units redacted, then sliced

    paths = {q["source"]["path"] for q in todo}
    columns = ["id", "path", "language", "text", "start_line", "end_line"]
    units = [
        {**u, "text": redact(u["text"] or "", filename=u["path"], language=u["language"] or "text")}
        for u in pq.read_table(units_path, columns=columns).to_pylist()
        if u["path"] in paths
    ]
    by_id = {u["id"]: u for u in units}
    for q in todo:
        src = q["source"]
        start, end = src.get("start_line"), src.get("end_line") or src.get("start_line")
        if (unit := by_id.get(src.get("unit_id"))) is not None:
            q["source_text"] = _lines(unit, start, end)[:max_chars]
            continue
        hits = sorted(
            (
                u
                for u in units
                if u["path"] == src["path"] and (not start or (u["start_line"] <= end and u["end_line"] >= start))
            ),
            key=lambda u: u["start_line"],
        )
        # nested units (a method inside its class) would repeat text: keep the outermost
        outer = [
            u
            for u in hits
            if not any(
                o is not u and o["start_line"] <= u["start_line"] and o["end_line"] >= u["end_line"] for o in hits
            )
        ]
        if outer:
            q["source_text"] = "\n\n".join(_lines(u, start, end) for u in outer)[:max_chars]


def span(source: dict | None) -> str:
    """`path:start-end` for people to open the file where an answer's ground truth lives."""
    if not source:
        return ""
    start, end = source.get("start_line"), source.get("end_line")
    if not start:
        return source["path"]
    return f"{source['path']}:{start}" + (f"-{end}" if end and end != start else "")


def ingested_repo(run_dir: str | Path) -> Path | None:
    """The repository RUN_DIR was ingested from (ingest_report.json), or None when unknown."""
    import json

    report = Path(run_dir) / "ingest_report.json"
    try:
        repo = json.loads(report.read_text(encoding="utf-8")).get("repo")
    except (OSError, ValueError):
        return None
    return Path(repo).resolve() if isinstance(repo, str) else None


def ingested_repos(run_dir: str | Path) -> list[Path]:
    """Every repository RUN_DIR was ingested from (ingest_report.json `repos`, else `repo`); [] when unknown."""
    import json

    try:
        report = json.loads((Path(run_dir) / "ingest_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    several = [r.get("path") for r in report.get("repos") or [] if isinstance(r, dict)]
    paths = several or [report.get("repo")]
    return [Path(p).resolve() for p in paths if isinstance(p, str)]


def check_queries_repo(queries: str | Path, repo: Path | list[Path] | None, run_dir: str | Path) -> None:
    """Refuse the sample corpus's queries for a run of other repositories: their keywords score facts it never saw."""
    repos = [r.resolve() for r in (repo if isinstance(repo, list) else [repo] if repo is not None else [])]
    queries = Path(queries).resolve()
    if not repos or any(queries.is_relative_to(r) for r in repos) or not queries.is_relative_to(SAMPLE_CORPUS):
        return
    repo = repos[0]
    raise CorpusFtError(
        f"{queries}: these queries are about the sample corpus, but {run_dir} was ingested from {repo}; "
        f"write queries about {repo.name}: `corpus-ft queries draft {run_dir}` writes a starter file from its "
        "held-out split to edit; then run again with the override `evaluate.queries=FILE` (under make: "
        '`SET="evaluate.queries=FILE"`; in a recipe: `evaluate: {queries: FILE}`), or with `evaluate.queries=null` '
        "to evaluate the held-out split only"
    )


DRAFT_HEADER = """\
# Starter domain queries for {repo}, drafted by `corpus-ft queries draft` from the held-out test split
# of {run_dir} (records the model never trains on). Edit before use:
#   - ask what a colleague would ask, in their words (the drafted question is the generator's),
#   - keep `reference` to the facts that answer it, and list 1-3 `keywords` a right answer must contain,
#   - delete weak ones; add questions about what matters most to you.
# Then: corpus-ft evaluate {run_dir} --queries THIS_FILE (or `evaluate.queries:` in a recipe). Keep this
# file out of ingest (`ingest.exclude`) if it lives inside the repository: queries must never train.
"""


def draft_queries(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    per_kind: int = 10,
    seed: int = 0,
    kinds: tuple[str, ...] = ("qa", "code_summary", "keywords"),
) -> Path:
    """Write a starter queries YAML from the held-out test split for a person to edit; returns its path."""
    return write_draft(run_dir, out, per_kind=per_kind, seed=seed, kinds=kinds)[0]


def write_draft(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    per_kind: int = 10,
    seed: int = 0,
    kinds: tuple[str, ...] = ("qa", "code_summary", "keywords"),
) -> tuple[Path, dict[str, int]]:
    """The draft file and how many queries came from where: the held-out test split first; when it
    holds fewer than `per_kind` questions (a small repository), document sections fill up to it."""
    import yaml

    from corpus_ft.util import atomic_write_text

    rows, missing = sample_test_split(run_dir, list(kinds), per_kind, seed)
    rows = [r for r in rows if r["prompt"]]
    rows = _unique(rows, "prompt")
    entries = [
        {
            "query": r["prompt"],
            "reference": r["reference"],
            "keywords": r["keywords"][:3] or _keywords(r["reference"] or "", r["prompt"]),
            "tags": [r["kind"], *r["tags"]],
            **({"source": span(r["source"])} if r["source"] else {}),
        }
        for r in rows
    ]
    drafted = {(r["source"] or {}).get("unit_id") for r in rows}
    docs = section_drafts(run_dir, per_kind - len(entries), seed, drafted) if len(entries) < per_kind else []
    if not entries and not docs:
        raise CorpusFtError(
            f"{run_dir}: no held-out {'/'.join(kinds)} records and no document sections to draft from "
            f"({'; '.join(missing.values()) or 'the test splits are empty'}); build the datasets first"
        )
    repo = ingested_repo(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "queries.draft.yaml"
    header = DRAFT_HEADER.format(repo=repo or "this repository", run_dir=run_dir)
    if docs:
        header += DOCS_NOTE.format(test=len(entries), docs=len(docs))
    docs = _unique(entries + docs, "query")[
        len(entries) :
    ]  # a section's question the test split already asks is left out
    body = yaml.safe_dump(entries + docs, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(out, header + body)
    return out, {"test_split": len(entries), "documents": len(docs)}


def _unique(entries: list[dict], field: str) -> list[dict]:
    """One entry per question text: evaluate refuses a file whose ids (a hash of the question) repeat."""
    seen: set[str] = set()
    out = []
    for e in entries:
        key = " ".join(e[field].split()).casefold()
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


DOCS_NOTE = """# The test split held {test} question(s), too few to judge a fine-tune, so {docs} more were drafted from
# document sections (tag `docs`): their text also trains the model, so they measure recall of trained
# material, not generalisation. Rewrite each question as a person would ask it.
"""
_FACT = re.compile(
    r"\b(?:[A-Za-z]+-\d\w*|\d[\w:.%/-]*\w|[A-Za-z]+_\w+|[a-z]+[A-Z]\w*|[A-Za-z]+\.[a-z_]\w*|[A-Z][A-Za-z0-9]{2,})\b"
)


def _keywords(reference: str, heading: str) -> list[str]:
    """Up to 3 facts a right answer must contain: numbers, identifiers, names the heading does not give away."""
    seen, out = set(heading.lower().split()), []
    for word in _FACT.findall(reference):
        if word.lower() not in seen and word not in ("The", "This", "That", "When", "For", "You", "Use", "See"):
            seen.add(word.lower())
            out.append(word)
    return out[:3]


def _held_out_units(run_dir: Path) -> set[str]:
    """Unit ids of every record in a test split: sections the model does not train on."""
    out = set()
    for path in (run_dir / "datasets").glob("*/test.jsonl"):
        out |= {((rec.get("source") or {}).get("unit_id")) for rec, _ in _load_jsonl(path, "rebuild the dataset")}
    return out


# Pages whose headings make no question a user asks of the product ("Fixed", "Contributors", "MIT License").
NOT_QUESTION_SOURCES = {"changelog", "license", "test", "community", "marketing", "translation"}


def section_drafts(run_dir: str | Path, n: int, seed: int, drafted: set) -> list[dict]:
    """Up to `n` draft queries from document sections (held-out sections first), redacted like every output."""
    path = Path(run_dir) / "units.parquet"
    if n <= 0 or not path.is_file():
        return []
    prefer = _held_out_units(Path(run_dir)) - drafted
    import pyarrow.parquet as pq

    from corpus_ft.redact import redact

    cols = ["id", "path", "kind", "name", "language", "text", "start_line", "end_line"]
    cols += [c for c in ("category",) if c in pq.read_schema(path).names]
    units = [
        u
        for u in pq.read_table(path, columns=cols).to_pylist()
        if u["kind"] == "section" and u.get("category") not in NOT_QUESTION_SOURCES
    ]
    units = [
        u
        for u in units
        if len((u["text"] or "").split()) >= 25 and (u["name"] or "").strip() and u["id"] not in drafted
    ]
    random.Random(f"{seed}:docs").shuffle(units)
    units.sort(key=lambda u: u["id"] not in prefer)  # stable: held-out sections first, seeded order within
    out = []
    for u in units[:n]:
        heading = redact(u["name"].strip(), filename=u["path"])
        body = re.sub(r"^#+ .*\n+", "", redact(u["text"], filename=u["path"], language=u["language"])).strip()
        reference = " ".join(re.split(r"(?<=[.!?])\s+", " ".join(body.split()))[:2])[:400]
        out.append(
            {
                "query": f"What does the documentation say about {heading}?",
                "reference": reference,
                "keywords": _keywords(reference, heading),
                "tags": ["docs", u["language"] or "text"],
                "source": span({"path": u["path"], "start_line": u["start_line"], "end_line": u["end_line"]}),
            }
        )
    return out
