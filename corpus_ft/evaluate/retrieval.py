"""The retrieval systems of an evaluation: base + retrieval and tuned + retrieval beside base and tuned.

Retrieval is done once per question over the run's train-split index (corpus_ft/retrieve.py); the
same passages go before the question for both models, so the two retrieval systems differ only in
the model. Retrieval's own figures: whether the passages came from the reference's source file and
which share of the reference's keywords they hold (recall@k).
"""

from __future__ import annotations

import re
from pathlib import Path

from corpus_ft.evaluate.metrics import perplexity
from corpus_ft.retrieve import RetrievalConfig, Retriever, augment_question, build_index, describe, recall_at_k

SYSTEMS = ("base", "base+retrieval", "tuned", "tuned+retrieval")


def side_key(side: str) -> str:
    """Where a system's answer lives on a row: `base`, `tuned`, `base_rag`, `tuned_rag`."""
    return side.replace("+retrieval", "_rag")


def _question(messages: list[dict]) -> tuple[int, str] | None:
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    return (users[-1], messages[users[-1]]["content"]) if users else None


def attach(run_dir: Path, rows: list[dict], config: RetrievalConfig) -> dict:
    """Retrieve for every row with a question: row['retrieval'] and row['messages_rag']; returns index facts."""
    index = build_index(run_dir, config)
    retriever = Retriever(index)
    for r in rows:
        asked = _question(r["messages"]) if r.get("messages") else None
        if asked is None:
            continue
        i, question = asked
        hits = retriever.search(question, config.k)
        messages = [dict(m) for m in r["messages"]]
        messages[i]["content"] = augment_question(question, hits, config)
        r["messages_rag"] = messages
        r["retrieval"] = {
            "passages": [
                {
                    "path": h.passage["path"],
                    "start_line": h.passage["start_line"],
                    "end_line": h.passage["end_line"],
                    "score": round(h.score, 3),
                    "text": h.passage["text"],
                }
                for h in hits
            ],
            **recall_at_k(hits, source_of(r), r.get("keywords") or []),
        }
    facts = describe(index)
    if facts["passages"] < config.k:
        facts["note"] = f"k={config.k} is more than the {facts['passages']} indexed passages: every passage is used"
    return facts


def recall_summary(rows: list[dict]) -> dict:
    """Mean source-file hit rate and keyword recall of the retrieved passages, per group."""
    out = {}
    for group in ("queries", "test", "all"):
        sub = [r["retrieval"] for r in rows if r.get("retrieval") and (group == "all" or r["group"] == group)]
        if not sub:
            continue
        hits = [s["source_hit"] for s in sub if s["source_hit"] is not None]
        kws = [s["keyword_recall"] for s in sub if s["keyword_recall"] is not None]
        out[group] = {
            "n": len(sub),
            "source_hit_at_k": round(sum(hits) / len(hits), 3) if hits else None,
            "keyword_recall_at_k": round(sum(kws) / len(kws), 3) if kws else None,
        }
    return out


def systems_table(rows: list[dict], systems: tuple[str, ...] = SYSTEMS) -> dict:
    """Per group and system: mean keyword recall, ROUGE-L, token F1 and reference perplexity."""
    table: dict[str, dict] = {}
    for group in ("queries", "test"):
        sub = [r for r in rows if r["group"] == group]
        if not sub:
            continue
        table[group] = {}
        for system in systems:
            key = side_key(system)
            answers = [r[key] for r in sub if isinstance(r.get(key), dict) and r[key]]
            if not answers:
                continue
            table[group][system] = {"n": len(answers)} | {
                m: _mean([a.get(m) for a in answers]) for m in ("keyword_recall", "rougeL", "f1")
            }
            table[group][system]["ppl"] = _pooled_ppl(answers)
    return table


def _pooled_ppl(answers: list[dict]) -> float | None:
    """Perplexity over all reference tokens together, as the report's aggregate computes it (not a mean of ratios)."""
    toks = sum(a.get("ref_tokens") or 0 for a in answers if a.get("nll") is not None)
    ppl = perplexity(sum(a["nll"] for a in answers if a.get("nll") is not None), toks)
    return round(ppl, 4) if ppl is not None else None


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def source_of(row: dict) -> str | None:
    """The file a row's reference comes from: a query's `source`, a test record's source path."""
    src = row.get("source")
    if isinstance(src, dict):
        return src.get("path")
    return src if isinstance(src, str) else None


def markdown(summary: dict, rows: list[dict], limit: int = 30) -> str:
    """The report's retrieval section: the four systems, retrieval's recall, answers and passages per query."""
    rag = summary.get("retrieval")
    if not rag:
        return ""
    lines = ["## Fine-tune, retrieve, or both", ""]
    lines.append(
        f"BM25 over {rag['index']['passages']} passages of the train split "
        f"({', '.join(f'{n} {k}' for k, n in rag['index']['by_kind'].items())}), top {rag['k']} before each "
        "question; the same passages for both models."
    )
    if rag["index"].get("note"):
        lines += ["", f"Note: {rag['index']['note']}."]
    lines += [
        "",
        "| group | system | n | keyword recall | ROUGE-L | token F1 | ref. perplexity |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for group, systems in rag["systems"].items():
        for system, m in systems.items():
            cells = [_fmt(m.get(k)) for k in ("keyword_recall", "rougeL", "f1", "ppl")]
            lines.append(f"| {group} | {system} | {m['n']} | " + " | ".join(cells) + " |")
    lines += ["", "| retrieval | n | source file in top k | keywords in the passages |", "|---|---:|---:|---:|"]
    for group, m in rag["recall"].items():
        lines.append(f"| {group} | {m['n']} | {_fmt(m['source_hit_at_k'])} | {_fmt(m['keyword_recall_at_k'])} |")
    lines.append("")
    for r in [r for r in rows if r.get("retrieval") and r["group"] == "queries"][:limit]:
        lines += [f"### {r['id']}: {r.get('prompt') or r.get('query') or ''}", ""]
        for system in SYSTEMS:
            answer = (r.get(side_key(system)) or {}).get("answer")
            if answer is not None:
                lines.append(f"- **{system}**: {' '.join(answer.split())}")
        lines.append("- passages retrieved:")
        for p in r["retrieval"]["passages"]:
            where = f"`{p['path']}:{p['start_line']}-{p['end_line']}`"
            lines.append(f"  - {where} (BM25 {p['score']:.2f}): {excerpt(p.get('text') or '')}")
        lines.append("")
    return "\n".join(lines) + "\n"


def excerpt(text: str, limit: int = 320) -> str:
    """A passage as one line of Markdown-safe text, cut at a word near `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0] + " …"
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", flat)


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def into_html(page: str, section: str) -> str:
    """The report page with the retrieval section (markdown, raw HTML escaped) before its end."""
    if not section:
        return page
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(section)
    return page.replace("</body>", f'<section id="retrieval">{body}</section>\n</body>', 1)
