"""How good a built dataset is, measured by the tool itself: the `quality` block of stats.json,
which card.md, the review page and `corpus-ft bench quality` show.

Per kind: markup left in the text, questions asked twice, code summaries that only restate the
name, where the records come from (source category), grounding, length percentiles, code the
redactor corrupted, and a one-line verdict against the goals below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from corpus_ft.datasets.quality import markup_residue
from corpus_ft.redact import is_code_language

# Goals a dataset worth a GPU hour meets (issue 12); the verdict names every one that is missed.
GOALS = {
    "markup_residue": 0.02,
    "duplicate_question": 0.01,
    "name_only_summary": 0.02,
    "excluded_share": 0.02,
    "corrupted_code": 0,
}
GOAL_CATEGORIES = ("test", "changelog", "license")  # the signal: records drawn from these unless opted in
_DOC_LANGUAGES = ("markdown", "rst", "text", "html")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_REDACTED = re.compile(r"\[REDACTED_[A-Z0-9_]+\]")
_TRIPLE_QUOTED = re.compile(r'("""|\'\'\').*?(?:\1|\Z)', re.S)
_FENCED = re.compile(r"^ {0,3}(`{3,}|~{3,})([^\n]*)\n(.*?)^ {0,3}\1", re.S | re.M)
_FILLER = frozenset(
    """a an the is are be of that which this it its python java go golang javascript typescript rust c cpp
csharp kotlin ruby php scala swift function method class constructor representing represents works work with for to
and in on by object instance given new helper utility wrapper defined definition implementation implements type""".split()
)


def category_of(unit: dict) -> str:
    """The unit's source category: ingest's `category` column (content policy), or for a
    units.parquet written before categories existed, ingest's default for its kind."""
    from corpus_ft.ingest import default_category

    if unit.get("category"):
        return str(unit["category"])
    return default_category(unit.get("kind") or ("section" if unit.get("language") in _DOC_LANGUAGES else "function"))


def restates_name(summary: str, name: str) -> bool:
    """True when a summary says nothing but the name ("`load_units` is a python function that loads units")."""
    if re.search(r"\bis an? \w+ (?:function|method|class)\b.*\b(?:works with the|representing an? )", summary):
        return True
    own = {_stem(w.lower()) for w in _WORDS.findall(name)}
    words = [_stem(w) for w in re.findall(r"[a-z]+", summary.lower()) if w not in _FILLER and len(w) > 1]
    return not words or all(w in own for w in words)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def corrupted_code(record: dict) -> int:
    """`[REDACTED_…]` marks inside code of a programming language that sit neither in a string literal
    nor in a comment: the redactor replaced an expression and broke the code."""
    texts = [m["content"] for m in record.get("messages") or [] if m["role"] != "system"] or [record.get("text") or ""]
    bad = 0
    for text in texts:
        for block in _FENCED.finditer(text):
            # in shell, YAML, INI, text or an untagged block a value is a literal: replacing it is right
            if not is_code_language(block.group(2).strip().split(" ")[0].strip("{}")):
                continue
            code = block.group(3)
            # A triple-quoted string (a docstring) spans lines: a mark inside it sits in a literal.
            spans = [m.span() for m in _TRIPLE_QUOTED.finditer(code)]
            at = 0
            for line in code.split("\n"):
                line_at, at = at, at + len(line) + 1
                if _REDACTED.fullmatch(line.strip()):
                    continue  # a whole literal (a key block) replaced
                for mark in _REDACTED.finditer(line):
                    if any(a < line_at + mark.start() < b for a, b in spans):
                        continue
                    before = re.sub(r"\\.", "", line[: mark.start()])
                    outside = re.sub(r"\"[^\"]*\"|'[^']*'", "", before)
                    if re.search(r"#|//|^\s*(?:\*|--)", outside):
                        continue  # in a comment: prose, not code
                    if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                        bad += 1
    return bad


def _content(record: dict) -> str:
    if "messages" in record:
        return "\n\n".join(m["content"] for m in record["messages"] if m["role"] != "system")
    return record.get("text") or ""


def _response(record: dict) -> str:
    if "messages" in record:
        return record["messages"][-1]["content"]
    return record.get("text") or ""


def percentiles(values: Sequence[int]) -> dict:
    """p5/p50/p95 (nearest rank) of the values; {} when there are none."""
    if not values:
        return {}
    s = sorted(values)
    return {f"p{p}": s[min(len(s) - 1, int(p / 100 * len(s)))] for p in (5, 50, 95)}


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def dataset_quality(
    kind: str,
    records: Sequence[dict],
    removed: Iterable[dict],
    units: Sequence[dict],
    *,
    include: Iterable[str] = (),
    generation: dict | None = None,
) -> dict:
    """The `quality` block of stats.json for one kind's kept records (all splits)."""
    by_id = {u["id"]: u for u in units}
    n = len(records)
    reasons = Counter(r.get("reason") for r in removed)
    cats = Counter(
        category_of(by_id.get(r["source"]["unit_id"], {"language": r["meta"].get("language")})) for r in records
    )
    excluded = [c for c in GOAL_CATEGORIES if c not in set(include)]
    q: dict = {
        "records": n,
        "markup_residue": _share(sum(markup_residue(_content(r)) for r in records), n),
        "categories": {c: _share(k, n) for c, k in cats.most_common()},
        "excluded_share": _share(sum(cats[c] for c in excluded), n),
        "corrupted_code": sum(corrupted_code(r) > 0 for r in records),
        "length_chars": percentiles([len(_response(r)) for r in records]),
    }
    if kind == "qa":
        answers: dict[str, set[str]] = {}
        for r in records:
            answers.setdefault(_key(r["messages"][1]["content"]), set()).add(" ".join(_response(r).split()))
        q["duplicate_question"] = _share(sum(len(answers[_key(r["messages"][1]["content"])]) > 1 for r in records), n)
        scores = [float(r["meta"].get("grounding") or 0.0) for r in records]
        checked = (generation or {}).get("grounding_checked", 0)
        q["grounding"] = {
            "mean": round(sum(scores) / len(scores), 3) if scores else 0.0,
            "lexical_removed": _share(reasons["ungrounded"], n + reasons["ungrounded"]),
            **(
                {"check_dropped": _share((generation or {}).get("grounding_dropped", 0), checked), "checked": checked}
                if checked
                else {}
            ),
        }
    if kind == "code_summary":
        explain = [r for r in records if r["meta"].get("direction") == "code_to_summary"]
        generated = [r for r in explain if r["meta"].get("summary_source") != "docstring"]
        name_only = sum(restates_name(_response(r), r["meta"].get("name") or "") for r in explain)
        q["name_only_summary"] = _share(name_only, len(explain))
        q["name_only_summaries"] = name_only
        q["summary_sources"] = {"docstring": len(explain) - len(generated), "generated": len(generated)}
        q["skipped"] = {
            k: reasons[k]
            for k in ("stub", "abstract", "generated", "no_summary", "needs_model_generator")
            if reasons[k]
        }
    q["verdict"] = verdict(q)
    return q


def _key(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.lower()))


def verdict(q: dict) -> str:
    """One line: `ready`, or what to look at (each missed goal with its figure)."""
    if not q.get("records"):
        return "empty: nothing to train on (see warnings and removed.jsonl)"
    misses = []
    labels = {
        "markup_residue": "markup residue",
        "duplicate_question": "questions asked twice",
        "name_only_summary": "summaries that restate the name",
        "excluded_share": "records from tests/changelogs/licences",
    }
    for key, label in labels.items():
        if key in q and q[key] > GOALS[key]:
            misses.append(f"{label} {q[key]:.1%} (goal <= {GOALS[key]:.0%})")
    if q.get("corrupted_code"):
        misses.append(f"{q['corrupted_code']} records with code corrupted by redaction (goal 0)")
    return "ready" if not misses else "look at: " + "; ".join(misses)


def quality_rows(q: dict) -> list[tuple[str, str, bool | None]]:
    """(signal, figure, meets its goal or None when it has none): what card.md and the review page show."""
    if not q:
        return []
    rows: list[tuple[str, str, bool | None]] = [
        (
            "markup residue (records whose text outside code still shows markup)",
            f"{q['markup_residue']:.1%}",
            q["markup_residue"] <= GOALS["markup_residue"],
        )
    ]
    if "duplicate_question" in q:
        rows.append(
            (
                "questions asked twice with different answers",
                f"{q['duplicate_question']:.1%}",
                q["duplicate_question"] <= GOALS["duplicate_question"],
            )
        )
    if "name_only_summary" in q:
        rows.append(
            (
                "summaries that only restate the name",
                f"{q['name_only_summary']:.1%} ({q['name_only_summaries']})",
                q["name_only_summary"] <= GOALS["name_only_summary"],
            )
        )
        src = q.get("summary_sources") or {}
        rows.append(
            ("summaries from docstrings / generated", f"{src.get('docstring', 0)} / {src.get('generated', 0)}", None)
        )
        if q.get("skipped"):
            rows.append(("code units skipped", ", ".join(f"{k} {v}" for k, v in q["skipped"].items()), None))
    rows.append(
        (
            "records from tests, changelogs, licences",
            f"{q['excluded_share']:.1%}",
            q["excluded_share"] <= GOALS["excluded_share"],
        )
    )
    rows.append(
        ("share by source category", ", ".join(f"{c} {v:.0%}" for c, v in q["categories"].items()) or "-", None)
    )
    rows.append(("records with code corrupted by redaction", str(q["corrupted_code"]), q["corrupted_code"] == 0))
    if "grounding" in q:
        g = q["grounding"]
        text = f"mean {g['mean']:.2f}, {g['lexical_removed']:.1%} removed as ungrounded"
        if "check_dropped" in g:
            text += f", model check dropped {g['check_dropped']:.1%} of {g['checked']}"
        rows.append(("grounding of answers in their chunk", text, None))
    lengths = q.get("length_chars") or {}
    if lengths:
        rows.append(
            (
                "response length in characters (p5 / p50 / p95)",
                f"{lengths['p5']} / {lengths['p50']} / {lengths['p95']}",
                None,
            )
        )
    return rows
