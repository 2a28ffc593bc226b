"""The offline heuristic generator: questions from headings, definitions and steps; summaries from names."""

from __future__ import annotations

from corpus_ft.datasets.kinds import extract_keywords, good_docstring, grounding
from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.heuristic import HeuristicGenerator

CHUNK = {
    "id": "chunk-1", "heading_path": ["Runbook", "Restarting the billing service"],
    "text": "## Restarting the billing service\n\n"
            "The billing service is the component that issues invoices to customers every month.\n\n"
            "1. Stop the worker with `billing-ctl stop`.\n2. Flush the Redis cache.\n3. Start the worker again.\n\n"
            "```bash\nbilling-ctl status\n```\n",
}


def test_questions_come_from_steps_definitions_and_headings_with_answers_from_the_chunk():
    gen = HeuristicGenerator(GeneratorConfig(questions_per_chunk=5))
    pairs = gen.questions([CHUNK])[0]
    assert pairs == gen.questions([CHUNK])[0], "must be deterministic"
    by_q = {p["question"]: p["answer"] for p in pairs}
    assert by_q["How do I restart the billing service?"].startswith("1. Stop the worker")
    assert by_q["What is the billing service?"] == \
        "The billing service is the component that issues invoices to customers every month."
    assert any(q.startswith("What does the documentation say about Restarting the billing service") for q in by_q)
    assert all(grounding(a, CHUNK["text"]) == 1.0 for a in by_q.values())
    assert "billing-ctl status" not in " ".join(by_q.values()), "code blocks are not answers"
    assert len(HeuristicGenerator(GeneratorConfig(questions_per_chunk=1)).questions([CHUNK])[0]) == 1


def test_summaries_use_name_signature_and_comments():
    units = [
        {"name": "BillingClient.fetchOpenInvoices", "kind": "method", "language": "java",
         "signature": "public List<Invoice> fetchOpenInvoices(String customerId, int limit) {",
         "text": "x\n    // ask the billing API for invoices that are not paid yet\n"},
        {"name": "load_units", "kind": "function", "language": "python",
         "signature": "def load_units(path: Path, *, strict: bool = False) -> list[dict]:", "text": ""},
        {"name": "ExceptionCase", "kind": "class", "language": "python", "signature": "class ExceptionCase:", "text": ""},
    ]
    java, py, cls = HeuristicGenerator().summaries(units)
    assert java == ("`BillingClient.fetchOpenInvoices` is a java method of `BillingClient` that fetches open invoices. "
                    "It takes `customerId` and `limit`. Ask the billing API for invoices that are not paid yet.")
    assert py == "`load_units` is a python function that loads units. It takes `path` and `strict`. It returns `list[dict]`."
    assert cls == "`ExceptionCase` is a python class representing an exception case."


def test_docstring_quality_and_keywords():
    assert good_docstring("Render an order as an invoice.\n\nArgs: ...", 4) == "Render an order as an invoice."
    assert good_docstring("TODO: write me properly later on", 4) is None
    assert good_docstring("Getter.", 4) is None
    kws = extract_keywords("The reconciler compares the ledger with bank statements every night. "
                           "Unmatched bank statements become exception cases for finance operations.", 3)
    assert len(kws) == 3 and any("bank statements" in k.lower() for k in kws)
    words = [w for k in kws for w in k.lower().split()]
    assert len(words) == len(set(words)), f"keyword phrases should not repeat words: {kws}"
