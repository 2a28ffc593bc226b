"""Optional LLM-as-judge: any OpenAI-compatible endpoint scores base and tuned answers blind.

Each query's two answers are labelled A and B in a seeded random order, so the judge cannot
favour a position or a name; scores are mapped back to base/tuned afterwards. A reply that is
not the rubric's JSON is kept verbatim with an error, never guessed at.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from corpus_ft.redact import redact
from corpus_ft.util import CorpusFtError

RUBRIC = Path(__file__).with_name("judge_rubric.txt")
CRITERIA = ("relevance", "coherence", "factuality", "helpfulness")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def render(rubric: str, row: dict, answer_a: str, answer_b: str) -> str:
    from corpus_ft.evaluate.queries import span

    values = {
        "query": row["prompt"] or "",
        "span": span(row["source"]) or "no source recorded",
        "source": row.get("source_text") or "(not available)",
        "reference": row.get("reference") or "",
        "answer_a": answer_a or "(empty)",
        "answer_b": answer_b or "(empty)",
    }
    for key, value in values.items():
        rubric = rubric.replace("{{" + key + "}}", value)
    return rubric


def _json_objects(text: str):
    """Every top-level {...} in text that json can read, fenced blocks first."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for cand in candidates:
        for start in (i for i, ch in enumerate(cand) if ch == "{"):
            try:
                obj, _ = decoder.raw_decode(cand[start:])
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


def _scores(obj) -> dict | None:
    if not isinstance(obj, dict):
        return None
    out = {}
    for c in CRITERIA:
        v = next((obj[k] for k in obj if k.lower() == c), None)
        try:
            v = float(v)
        except (TypeError, ValueError):
            return None
        if not 1 <= v <= 5:
            return None
        out[c] = v
    return out


def parse(text: str) -> dict:
    """{"A": scores, "B": scores, "preferred": "A"|"B"|"tie", "reason"} or {"error": why}."""
    for obj in _json_objects(text or ""):
        keys = {k.upper() if k.upper() in ("A", "B") else k: v for k, v in obj.items()}
        a, b = _scores(keys.get("A")), _scores(keys.get("B"))
        if a is None or b is None:
            continue
        pref = str(keys.get("preferred", "")).strip().strip('"').upper()
        if pref not in ("A", "B", "TIE"):
            mean_a, mean_b = sum(a.values()), sum(b.values())
            pref = "A" if mean_a > mean_b else "B" if mean_b > mean_a else "TIE"
        return {
            "A": a,
            "B": b,
            "preferred": "tie" if pref == "TIE" else pref,
            "reason": str(keys.get("reason", ""))[:500],
        }
    return {"error": "unparseable: no JSON object with 1-5 scores for A and B on " + ", ".join(CRITERIA)}


def judge(
    rows: list[dict],
    *,
    url: str,
    model: str,
    rubric_path: Path | None,
    seed: int,
    api_key_env: str,
    max_tokens: int,
    cache_dir: Path | None,
    timeout_s: float = 60.0,
) -> dict:
    """Add `judge` to every row that has two answers; returns counts for the summary."""
    from corpus_ft.generate.openai import OpenAIClient

    rubric_file = Path(rubric_path) if rubric_path else RUBRIC
    if not rubric_file.is_file():
        raise CorpusFtError(f"{rubric_file}: judge rubric not found")
    rubric = rubric_file.read_text(encoding="utf-8")
    todo = [r for r in rows if r["base"].get("answer") is not None]
    orders, prompts = [], []
    for r in todo:
        order = ["base", "tuned"]
        random.Random(f"{seed}:{r['id']}").shuffle(order)
        orders.append(order)
        prompts.append([{"role": "user", "content": render(rubric, r, r[order[0]]["answer"], r[order[1]]["answer"])}])
    with OpenAIClient(
        url, model, api_key=os.environ.get(api_key_env), cache_dir=cache_dir, timeout_s=timeout_s
    ) as client:
        replies = client.chat_many(prompts, return_exceptions=True, max_tokens=max_tokens, temperature=0.0)
    counts = {"judged": 0, "unparseable": 0, "failed": 0, "preferred": {"base": 0, "tuned": 0, "tie": 0}}
    for r, order, reply in zip(todo, orders, replies):
        if isinstance(reply, BaseException) or reply is None:
            r["judge"] = {"order": order, "error": f"request failed: {reply}", "raw": None}
            counts["failed"] += 1
            continue
        parsed = parse(reply)
        if "error" in parsed:  # the judge's words reach the report: redacted as it wrote them
            r["judge"] = {"order": order, "error": parsed["error"], "raw": redact(reply[:2000])}
            counts["unparseable"] += 1
            continue
        label = {"A": order[0], "B": order[1], "tie": "tie"}
        r["judge"] = {
            "order": order,
            label["A"]: parsed["A"],
            label["B"]: parsed["B"],
            "preferred": label[parsed["preferred"]],
            "reason": redact(parsed["reason"]),
        }
        r["base"]["judge"] = sum(parsed["A" if order[0] == "base" else "B"].values()) / len(CRITERIA)
        r["tuned"]["judge"] = sum(parsed["A" if order[0] == "tuned" else "B"].values()) / len(CRITERIA)
        counts["judged"] += 1
        counts["preferred"][r["judge"]["preferred"]] += 1
    return counts
