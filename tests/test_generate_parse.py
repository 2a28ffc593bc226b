"""Parsing model replies, prompt templates and the response cache: no model, no server."""

from __future__ import annotations

import threading

import pytest

from corpus_ft.generate import GeneratorConfig
from corpus_ft.generate.cache import ResponseCache, request_key
from corpus_ft.generate.parse import parse_answer, parse_qa, parse_questions, parse_summary, parse_verdict
from corpus_ft.generate.prompts import (
    answer_prompt,
    check_prompt,
    load_template,
    load_templates,
    qa_prompt,
    summary_prompt,
)
from corpus_ft.util import CorpusFtError

PAIRS = [
    {"question": "How do I restart billing?", "answer": "Run systemctl restart billing."},
    {"question": "Who owns billing?", "answer": "The payments team."},
]


@pytest.mark.parametrize(
    "reply",
    [
        '[{"question": "How do I restart billing?", "answer": "Run systemctl restart billing."},'
        ' {"question": "Who owns billing?", "answer": "The payments team."}]',
        'Sure! Here are the pairs:\n```json\n[{"question": "How do I restart billing?", '
        '"answer": "Run systemctl restart billing."}, {"question": "Who owns billing?", "answer": "The payments team."}]\n```',
        '<think>the text says…</think>{"pairs": [{"question": "How do I restart billing?", '
        '"answer": "Run systemctl restart billing."}, {"q": "Who owns billing?", "a": "The payments team."}]}',
        "Q: How do I restart billing?\nA: Run systemctl restart billing.\n\nQ: Who owns billing?\nA: The payments team.",
        "1. **Question:** How do I restart billing?\n   **Answer:** Run systemctl\n   restart billing.\n"
        "2. Question: Who owns billing?\n   Answer: The payments team.",
    ],
)
def test_parse_qa_reads_json_and_line_formats(reply):
    assert parse_qa(reply) == PAIRS


def test_parse_qa_limits_and_drops_incomplete_pairs():
    reply = '[{"question": "A?", "answer": "a"}, {"question": "B?", "answer": ""}, {"question": "C?", "answer": "c"}]'
    assert parse_qa(reply) == [{"question": "A?", "answer": "a"}, {"question": "C?", "answer": "c"}]
    assert parse_qa(reply, limit=1) == [{"question": "A?", "answer": "a"}]


@pytest.mark.parametrize(
    "reply",
    ["", "\n\n\n", "tok tok tok", '[{"question": "only a question"}]', "Q: a question with no answer", "[1, 2, 3]"],
)
def test_parse_qa_returns_none_for_unreadable_replies(reply):
    assert parse_qa(reply) is None


@pytest.mark.parametrize(
    "reply",
    [
        "Parses the request body and returns a 200 response with it.",
        "Summary: Parses the request body and returns a 200 response with it.",
        "```\nParses the request body and returns a 200 response with it.\n```",
        '{"summary": "Parses the request body and returns a 200 response with it."}',
        '"Parses the request body and returns a 200\n   response with it."',
    ],
)
def test_parse_summary_strips_wrappers(reply):
    assert parse_summary(reply) == "Parses the request body and returns a 200 response with it."


@pytest.mark.parametrize("reply", ["", "\n\n\n\n", "ok", "Summary:", "{}", "12345678901234567890123"])
def test_parse_summary_rejects_non_summaries(reply):
    assert parse_summary(reply) is None


@pytest.mark.parametrize(
    "reply",
    [
        '["How do I restart billing?", "Who owns billing?"]',
        'Here you go:\n```json\n{"questions": ["How do I restart billing?", "Who owns billing?"]}\n```',
        '[{"question": "How do I restart billing?", "answer": "x"}, {"q": "Who owns billing?", "a": "y"}]',
        "1. How do I restart billing?\n2. **Question:** Who owns billing?\n",
    ],
)
def test_parse_questions_reads_lists_objects_and_lines(reply):
    assert parse_questions(reply) == ["How do I restart billing?", "Who owns billing?"]
    assert parse_questions(reply, limit=1) == ["How do I restart billing?"]


def test_parse_questions_answers_and_verdicts_reject_what_they_cannot_read():
    assert parse_questions("[]") == [] and parse_questions("no idea") is None and parse_questions("\n\n") is None
    assert not parse_questions('["How do I <task> in <product>?", "What is <thing> in <product>?"]'), (
        "the prompt's own example shape copied back is no question"
    )
    assert parse_answer("Answer: Run `systemctl restart billing`.") == "Run `systemctl restart billing`."
    assert parse_answer("NOT IN TEXT") is None and parse_answer("The text does not say.") is None
    assert parse_answer("\n\n") is None
    assert parse_verdict("SUPPORTED") is True and parse_verdict("**Unsupported** - it adds a date") is False
    assert parse_verdict("Yes.") is True and parse_verdict("No") is False and parse_verdict("maybe") is None


def test_builtin_prompts_carry_the_source():
    t = load_templates()
    chunk = {
        "text": "Run systemctl restart billing.",
        "heading_path": ["Runbook", "Restart"],
        "path": "docs/runbook.md",
        "language": "markdown",
    }
    prompt = qa_prompt(t["qa"], dict(chunk, product="Ledgerline"), 3)
    assert (
        "Run systemctl restart billing." in prompt and "Runbook > Restart" in prompt and "Document: Runbook" in prompt
    )
    assert "docs/runbook.md" in prompt and "up to 3 different questions" in prompt and "Ledgerline" in prompt
    answer = answer_prompt(t["qa_answer"], chunk, "How do I restart billing?")
    assert "Run systemctl restart billing." in answer and "How do I restart billing?" in answer
    assert "Runbook" not in answer and "docs/runbook.md" not in answer, "the answer sees the chunk alone"
    check = check_prompt(t["qa_check"], chunk, "How do I restart billing?", "Run systemctl restart billing.")
    assert "SUPPORTED or UNSUPPORTED" in check and "Answer: Run systemctl restart billing." in check
    unit = {
        "text": "def f(x):\n    return x + 1\n" * 2000,
        "name": "mod.f",
        "signature": "def f(x):",
        "kind": "function",
        "path": "src/mod.py",
        "language": "python",
    }
    prompt = summary_prompt(t["code_summary"], unit)
    assert "`mod.f`" in prompt and "```python" in prompt and "(truncated)" in prompt and len(prompt) < 14_000


def test_prompt_override_from_recipe(tmp_path):
    custom = tmp_path / "qa.txt"
    custom.write_text("Ask {{ n }} things about {{ path }}:\n{{ text }}\n")
    gen_cfg = GeneratorConfig(type="openai", prompts={"qa": custom})
    t = load_templates(gen_cfg.prompts)
    assert qa_prompt(t["qa"], {"text": "body", "path": "a.md"}, 2) == "Ask 2 things about a.md:\nbody"
    assert "Summarise" in summary_prompt(t["code_summary"], {"text": "x = 1", "name": "x"})  # built-in kept


def test_bad_prompt_templates_name_the_file_and_fix(tmp_path):
    typo = tmp_path / "typo.txt"
    typo.write_text("Questions about {{ chunk_text }}\n")
    with pytest.raises(CorpusFtError, match=r"typo.txt: 'chunk_text' is undefined; placeholders for qa: .*text"):
        load_template("qa", typo)
    broken = tmp_path / "broken.txt"
    broken.write_text("line one\n{% if text %}\nno endif\n")
    with pytest.raises(CorpusFtError, match=r"broken.txt:\d+: template syntax error"):
        load_template("qa", broken)
    with pytest.raises(CorpusFtError, match=r"prompts.qa: cannot read .*missing.txt"):
        load_templates({"qa": tmp_path / "missing.txt"})
    with pytest.raises(CorpusFtError, match=r"prompts.keywords: no prompt for kind 'keywords'"):
        load_templates({"keywords": typo})


def test_cache_persists_and_survives_concurrent_writers(tmp_path):
    key = request_key("m", [{"role": "user", "content": "hi"}], {"max_tokens": 8, "temperature": 0})
    assert key != request_key("m", [{"role": "user", "content": "hi"}], {"max_tokens": 9, "temperature": 0})
    assert key != request_key("other", [{"role": "user", "content": "hi"}], {"max_tokens": 8, "temperature": 0})
    cache = ResponseCache(tmp_path)
    cache.put(key, "hello")

    def writer(w):
        for i in range(50):
            cache.put(f"{w}-{i}", f"reply {w} {i}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.close()  # what was put is committed: a fresh connection sees every entry
    reopened = ResponseCache(tmp_path)
    assert reopened.get(key) == "hello" and reopened.get("3-49") == "reply 3 49" and len(reopened) == 201
    assert reopened.get("absent") is None
