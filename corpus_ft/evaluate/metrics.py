"""Answer metrics against a reference, and their aggregation per kind and tag.

ROUGE-L comes from `rouge-score` (Google's reference implementation); token F1 is the
SQuAD definition; perplexity aggregates as exp(total NLL / total tokens), not a mean of
per-query perplexities, so long references weigh by their length.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter, defaultdict
from functools import lru_cache

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of tokens)."""
    return _rouge().score(reference, prediction)["rougeL"].fmeasure


def _norm_tokens(text: str) -> list[str]:
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: overlap of normalised tokens, order ignored."""
    pred, ref = _norm_tokens(prediction), _norm_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def keyword_recall(prediction: str, keywords: list[str]) -> float | None:
    """Fraction of expected keywords/identifiers the answer contains (case-insensitive)."""
    if not keywords:
        return None
    low = prediction.lower()
    return sum(k.lower() in low for k in keywords) / len(keywords)


def answer_metrics(answer: str | None, reference: str | None, keywords: list[str]) -> dict:
    """All text metrics of one answer; a metric without its input is None, never 0."""
    if answer is None:
        return {}
    out = {"length_words": len(answer.split()), "keyword_recall": keyword_recall(answer, keywords)}
    if reference:
        out["rougeL"] = rouge_l(answer, reference)
        out["f1"] = token_f1(answer, reference)
    return out


def perplexity(nll: float, tokens: int) -> float | None:
    return math.exp(nll / tokens) if tokens else None


METRICS = ("ppl", "rougeL", "f1", "keyword_recall", "length_words")
# lower is better for perplexity, higher for the rest; length has no better side
BETTER = {"ppl": -1, "rougeL": 1, "f1": 1, "keyword_recall": 1, "length_words": 0}


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def aggregate(rows: list[dict]) -> dict:
    """Base and tuned figures for a group of results, plus tuned-vs-base wins and losses."""
    out: dict = {"n": len(rows)}
    for side in ("base", "tuned"):
        nll = sum(r[side].get("nll") or 0.0 for r in rows)
        toks = sum(r[side].get("ref_tokens") or 0 for r in rows)
        out[side] = {"ppl": perplexity(nll, toks)}
        for m in METRICS[1:]:
            out[side][m] = _mean([r[side].get(m) for r in rows])
    wins = losses = ties = 0
    for r in rows:
        d = delta(r)
        if d is None:
            continue
        wins, losses, ties = wins + (d > 0), losses + (d < 0), ties + (d == 0)
    out["tuned_better"], out["tuned_worse"], out["ties"] = wins, losses, ties
    return out


ORDER = ("rougeL", "keyword_recall", "ppl")


def _diff(r: dict, m: str) -> float:
    if m == "ppl":  # compare log-perplexities, so that 40 -> 20 and 4 -> 2 count the same
        return BETTER[m] * (math.log(r["tuned"][m]) - math.log(r["base"][m]))
    return BETTER[m] * (r["tuned"][m] - r["base"][m])


def primary(r: dict) -> str | None:
    """The metric that decides whether tuned beat base on one query: ROUGE-L, then keyword
    recall, then perplexity, each consulted only when the ones before it tie."""
    avail = [m for m in ORDER if r["base"].get(m) is not None and r["tuned"].get(m) is not None]
    return next((m for m in avail if _diff(r, m) != 0), avail[0] if avail else None)


def delta(r: dict) -> float | None:
    """Positive when tuned did better than base on the query's primary metric, 0 on a tie."""
    m = primary(r)
    return None if m is None else _diff(r, m)


def group(rows: list[dict]) -> dict:
    """Aggregates overall, for the queries file and the test split, per kind and per tag."""
    by_kind, by_tag = defaultdict(list), defaultdict(list)
    for r in rows:
        if r["kind"] != "query":  # custom queries are their own group ("queries"), not a dataset kind
            by_kind[r["kind"]].append(r)
        for t in r["tags"]:
            by_tag[t].append(r)
    out = {"all": aggregate(rows)}
    for g in ("queries", "test"):  # the queries file and the held-out test split
        if sub := [r for r in rows if r["group"] == g]:
            out[g] = aggregate(sub)
    return out | {
        "kinds": {k: aggregate(v) for k, v in sorted(by_kind.items())},
        "tags": {t: aggregate(v) for t, v in sorted(by_tag.items())},
    }
