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


VERDICTS = ("correct", "partly", "wrong")
_RANK = {"wrong": 0, "partly": 1, "correct": 2}


def verdict(prediction: str, keywords: list[str]) -> str | None:
    """Whether the answer holds every expected keyword (fact): correct, partly, wrong; None without keywords.

    A sharper question than ROUGE-L asks: a fluent "Yes" next to a reference that says "case-insensitive"
    overlaps the reference's words but states none of its facts."""
    recall = keyword_recall(prediction, keywords)
    if recall is None:
        return None
    return "correct" if recall == 1 else "partly" if recall > 0 else "wrong"


_LIST_START = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+\S")


def list_shaped(answer: str) -> bool:
    """An answer that opens as a numbered or bulleted list ("1. …", "- …"): a style a tune can learn
    from step-by-step records and then use for every question."""
    return bool(_LIST_START.match(answer or ""))


def answer_metrics(answer: str | None, reference: str | None, keywords: list[str]) -> dict:
    """All text metrics of one answer; a metric without its input is None, never 0."""
    if answer is None:
        return {}
    out = {
        "length_words": len(answer.split()),
        "keyword_recall": keyword_recall(answer, keywords),
        "verdict": verdict(answer, keywords),
        "list_shaped": list_shaped(answer),
    }
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


SMALL_N = 30  # below this many queries an aggregate is an anecdote: the report says so
BOOTSTRAP_SAMPLES = 1000


def bootstrap_ci(values: list[float], *, level: float = 0.95, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0):
    """Percentile bootstrap interval of the mean, [low, high]; None for fewer than 2 values. Seeded."""
    import random

    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None
    rng, n = random.Random(seed), len(vals)
    means = sorted(sum(rng.choice(vals) for _ in range(n)) / n for _ in range(samples))
    lo = means[int((1 - level) / 2 * samples)]
    hi = means[min(samples - 1, int((1 + level) / 2 * samples))]
    return [lo, hi]


def verdict_counts(rows: list[dict], side: str) -> dict | None:
    """correct / partly / wrong counts of one side, and the share correct with its interval; None without keywords."""
    got = [r[side].get("verdict") for r in rows if r[side].get("verdict")]
    if not got:
        return None
    correct = [float(v == "correct") for v in got]
    return {
        **{v: got.count(v) for v in VERDICTS},
        "n": len(got),
        "correct_share": sum(correct) / len(got),
        "correct_share_ci": bootstrap_ci(correct),
    }


def style(rows: list[dict], side: str) -> dict | None:
    """How answers are shaped: the share that open as a list, and their length against the reference's."""
    answered = [r for r in rows if isinstance(r[side].get("answer"), str)]
    if not answered:
        return None
    lists = sum(bool(r[side].get("list_shaped")) for r in answered)
    words = [len(r[side]["answer"].split()) for r in answered]
    refs = [len(r["reference"].split()) for r in answered if r.get("reference")]
    return {
        "n": len(answered),
        "list_shaped": lists,
        "list_share": lists / len(answered),
        "mean_words": sum(words) / len(words),
        "length_vs_reference": (sum(words) / len(words)) / (sum(refs) / len(refs)) if refs and sum(refs) else None,
    }


def aggregate(rows: list[dict]) -> dict:
    """Base and tuned figures for a group of results, with bootstrap intervals on the means,
    correct/partly/wrong counts, answer style, and tuned-vs-base wins and losses."""
    out: dict = {"n": len(rows), "small_n": len(rows) < SMALL_N}
    for side in ("base", "tuned"):
        nll = sum(r[side].get("nll") or 0.0 for r in rows)
        toks = sum(r[side].get("ref_tokens") or 0 for r in rows)
        out[side] = {"ppl": perplexity(nll, toks)}
        for m in METRICS[1:]:
            out[side][m] = _mean([r[side].get(m) for r in rows])
            if BETTER[m]:
                out[side][f"{m}_ci"] = bootstrap_ci([r[side].get(m) for r in rows])
        out[side]["judge"] = _mean([r[side].get("judge") for r in rows])
        out[side]["verdicts"] = verdict_counts(rows, side)
        out[side]["style"] = style(rows, side)
    wins = losses = ties = 0
    for r in rows:
        d = delta(r)
        if d is None:
            continue
        wins, losses, ties = wins + (d > 0), losses + (d < 0), ties + (d == 0)
    out["tuned_better"], out["tuned_worse"], out["ties"] = wins, losses, ties
    return out


ORDER = ("verdict", "rougeL", "keyword_recall", "ppl")


def _diff(r: dict, m: str) -> float:
    if m == "verdict":
        return float(_RANK[r["tuned"][m]] - _RANK[r["base"][m]])
    if m == "ppl":  # compare log-perplexities, so that 40 -> 20 and 4 -> 2 count the same
        return BETTER[m] * (math.log(r["tuned"][m]) - math.log(r["base"][m]))
    return BETTER[m] * (r["tuned"][m] - r["base"][m])


def primary(r: dict) -> str | None:
    """The measure that decides whether tuned beat base on one query. With expected keywords it is
    the verdict alone (correct > partly > wrong; the same verdict is a tie, whatever ROUGE-L says:
    two wrong answers are not a win). Without: ROUGE-L, then perplexity, each consulted when the one before ties."""
    avail = [m for m in ORDER if r["base"].get(m) is not None and r["tuned"].get(m) is not None]
    if "verdict" in avail:
        return "verdict"
    return next((m for m in avail if _diff(r, m) != 0), avail[0] if avail else None)


def delta(r: dict) -> float | None:
    """Positive when tuned did better than base on the query's primary metric, 0 on a tie."""
    m = primary(r)
    return None if m is None else _diff(r, m)


def group(rows: list[dict]) -> dict:
    """Aggregates overall, for the queries file and the test split, per kind, per tag and (with several) per repository."""
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
    by_repo = defaultdict(list)  # held-out rows of a several-repository run, by the repository they came from
    for r in rows:
        if name := (r.get("source") or {}).get("repo"):
            by_repo[name].append(r)
    return out | {
        "kinds": {k: aggregate(v) for k, v in sorted(by_kind.items())},
        "tags": {t: aggregate(v) for t, v in sorted(by_tag.items())},
        "repos": {n: aggregate(v) for n, v in sorted(by_repo.items())} if len(by_repo) > 1 else {},
    }
