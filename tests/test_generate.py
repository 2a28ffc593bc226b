"""The model-backed generators over real HTTP: `corpus-ft serve` with the real tiny model on
loopback, and small loopback servers that fail on purpose to exercise retries and timeouts."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from corpus_ft.cli import main
from corpus_ft.generate import GeneratorConfig, get_generator
from corpus_ft.generate.openai import EndpointError, OpenAIClient
from corpus_ft.generate.server import run_in_background, serve_in_background

CHUNKS = [
    {
        "id": "c1",
        "text": "Restart the billing service with `systemctl restart billing`.",
        "heading_path": ["Runbook"],
        "path": "docs/runbook.md",
        "language": "markdown",
    },
    {
        "id": "c2",
        "text": "The payments team owns billing; page them in #payments.",
        "heading_path": ["Owners"],
        "path": "docs/owners.md",
        "language": "markdown",
    },
    {
        "id": "c3",
        "text": "Deploys run every weekday at 10:00 UTC.",
        "heading_path": [],
        "path": "README.md",
        "language": "markdown",
    },
]
UNITS = [
    {
        "text": "def handler(request):\n    return Response(200, request.body)\n",
        "name": "handler",
        "signature": "def handler(request):",
        "kind": "function",
        "path": "app.py",
        "language": "python",
    },
    {
        "text": "func Add(a, b int) int { return a + b }",
        "name": "Add",
        "signature": "func Add(a, b int) int",
        "kind": "function",
        "path": "math.go",
        "language": "go",
    },
]
USER = [{"role": "user", "content": "How do I restart billing?"}]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny Llama of our own (built-in text), so these tests do not wait for the ingest fixtures.

    Its weights are redrawn with a wider spread: at the default init a random Llama echoes the
    last prompt token ("\n" after every chat prompt), so every reply would be the same and a
    determinism or batching check could not fail.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from corpus_ft.model.tiny import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("gen") / "tiny", vocab_size=512, hidden_size=64)
    model = AutoModelForCausalLM.from_pretrained(path)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.5)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def served(tiny):
    with serve_in_background(tiny, model_name="tiny") as url:
        yield url


def openai_cfg(url: str, **kw) -> GeneratorConfig:
    return GeneratorConfig(type="openai", base_url=url, model="tiny", max_new_tokens=16, questions_per_chunk=2, **kw)


def reply(content: str) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


class Scripted:
    """A loopback OpenAI-style endpoint that answers the first requests with the given errors."""

    def __init__(
        self,
        failures: list[tuple[int, dict]] = (),
        delay_first_s: float = 0.0,
        content: str = "Run systemctl restart billing.",
        sleep_s: float = 0.0,
    ):
        self.failures = list(failures)
        self.delay_first_s = delay_first_s
        self.content = content
        self.sleep_s = sleep_s
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "auth": request.headers.get("authorization")})
        if len(self.requests) == 1 and self.delay_first_s:
            await asyncio.sleep(self.delay_first_s)
        if self.failures:
            status, headers = self.failures.pop(0)
            return JSONResponse({"error": {"message": f"scripted {status}"}}, status_code=status, headers=headers)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.sleep_s)
        self.in_flight -= 1
        content = self.content(body) if callable(self.content) else self.content
        return JSONResponse(reply(content))


# --- corpus-ft serve with the tiny model -------------------------------------------------


@pytest.mark.slow
def test_server_speaks_the_openai_api(served):
    assert httpx.get(f"{served}/models").json()["data"][0]["id"] == "tiny"
    r = httpx.post(
        f"{served}/chat/completions", json={"model": "tiny", "messages": USER, "max_tokens": 8, "temperature": 0}
    )
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert isinstance(choice["message"]["content"], str) and choice["finish_reason"] in ("stop", "length")
    assert 0 < body["usage"]["completion_tokens"] <= 8 and body["usage"]["prompt_tokens"] > 5
    again = httpx.post(f"{served}/chat/completions", json={"messages": USER, "max_tokens": 8, "temperature": 0})
    assert again.json()["choices"][0]["message"]["content"] == choice["message"]["content"]  # greedy
    r = httpx.post(f"{served}/completions", json={"prompt": "def handler", "max_tokens": 4})
    assert r.status_code == 200 and isinstance(r.json()["choices"][0]["text"], str)
    assert r.json()["usage"]["completion_tokens"] <= 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "body, message",
    [
        ({"messages": [], "max_tokens": 4}, "messages must be a non-empty list"),
        ({"messages": USER, "stream": True}, "stream=true is not supported"),
        ({"messages": USER, "n": 2}, "only n=1"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"messages": [{"role": "robot", "content": "x"}]}, r"messages\[0\].role"),
    ],
)
def test_server_rejects_bad_requests_with_openai_errors(served, body, message):
    r = httpx.post(f"{served}/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert re.search(message, r.json()["error"]["message"])
    # the client reports it at once, without retrying a request that cannot succeed
    client = OpenAIClient(served, "tiny", backoff_s=0.01)
    with pytest.raises(EndpointError, match="HTTP 400"):
        client.chat(body["messages"], **{k: v for k, v in body.items() if k != "messages"})
    assert client.stats["http_requests"] == 1


@pytest.mark.slow
def test_openai_generator_over_served_tiny_model_and_cache(tiny, tmp_path):
    cache = tmp_path / "cache"
    with serve_in_background(tiny, model_name="tiny") as url:
        gen = get_generator(openai_cfg(url), cache_dir=cache)
        questions, summaries = gen.questions(CHUNKS), gen.summaries(UNITS)
        assert len(questions) == len(CHUNKS) and len(summaries) == len(UNITS)
        assert gen.stats["prompts"] == 5 and gen.stats["http_requests"] == 5 and gen.stats["cache_hits"] == 0
        # the tiny random model writes gibberish: every reply it cannot read is dropped and counted
        parsed = sum(bool(q) for q in questions) + sum(s is not None for s in summaries)
        assert gen.stats["unparseable"] == 5 - parsed
    # the server is gone: a re-run answers every prompt from the cache, with no request at all
    rerun = get_generator(openai_cfg(url, max_retries=0), cache_dir=cache)
    assert rerun.questions(CHUNKS) == questions and rerun.summaries(UNITS) == summaries
    assert rerun.stats["http_requests"] == 0 and rerun.stats["cache_hits"] == 5
    # without a cache the dead server is a clear error naming the URL
    no_cache = get_generator(openai_cfg(url, max_retries=1, cache=False), cache_dir=cache)
    no_cache.client.backoff_s = 0.01
    with pytest.raises(EndpointError, match=r"127\.0\.0\.1.*gave up after 2 attempts"):
        no_cache.questions(CHUNKS[:1])


@pytest.mark.slow
def test_hf_generator_batches_deterministically_and_caches(tiny, tmp_path):
    cfg = GeneratorConfig(type="hf", model=str(tiny), max_new_tokens=8, batch_size=2, questions_per_chunk=2)
    first = get_generator(cfg)
    convs = [[{"role": "user", "content": c["text"]}] for c in CHUNKS] + [USER, [{"role": "user", "content": "x"}]]
    out1 = first.complete(convs)
    assert len(out1) == len(convs) and all(isinstance(t, str) for t in out1)
    assert len(set(out1)) == len(convs)  # the reply depends on the prompt
    assert get_generator(cfg).complete(convs) == out1  # greedy: a second model instance agrees
    # left padding is right: batches of 2 (padded) give what one prompt at a time gives
    assert get_generator(cfg.model_copy(update={"batch_size": 1})).complete(convs[::-1]) == out1[::-1]
    assert len(first.questions(CHUNKS)) == 3 and len(first.summaries(UNITS)) == 2
    cached = get_generator(cfg, cache_dir=tmp_path)
    out_q = cached.questions(CHUNKS)
    again = get_generator(cfg, cache_dir=tmp_path)
    assert again.questions(CHUNKS) == out_q and again.stats["cache_hits"] == 3
    assert again._lm is None  # every reply came from the cache: the model was never loaded


# --- retries, timeouts, concurrency, keys (scripted loopback endpoints) ---------------------


def test_retries_500_and_429_honouring_retry_after():
    server = Scripted(failures=[(500, {}), (429, {"Retry-After": "1"}), (503, {})])
    with run_in_background(server.app) as url:
        client = OpenAIClient(url, "m", max_retries=5, backoff_s=0.01)
        start = time.monotonic()
        assert client.chat(USER, max_tokens=8) == "Run systemctl restart billing."
        assert time.monotonic() - start >= 1.0  # waited as Retry-After asked
    assert len(server.requests) == 4 and client.stats["retries"] == 3 and client.stats["http_requests"] == 4


def test_gives_up_after_max_retries_with_a_clear_error():
    server = Scripted(failures=[(503, {})] * 10)
    with run_in_background(server.app) as url:
        client = OpenAIClient(url, "m", max_retries=2, backoff_s=0.01)
        with pytest.raises(EndpointError, match=r"HTTP 503: scripted 503 \(gave up after 3 attempts") as e:
            client.chat(USER)
    assert e.value.status == 503 and e.value.exit_code == 1
    assert len(server.requests) == 3 and client.stats["failures"] == 1


def test_timeout_is_retried():
    server = Scripted(delay_first_s=1.5)
    with run_in_background(server.app) as url:
        client = OpenAIClient(url, "m", timeout_s=0.4, max_retries=1, backoff_s=0.01)
        assert client.chat(USER) == "Run systemctl restart billing."
        assert len(server.requests) == 2 and client.stats["retries"] == 1
        impatient = OpenAIClient(url, "m", timeout_s=0.2, max_retries=0)
        server.delay_first_s, server.requests = 1.0, []
        with pytest.raises(EndpointError, match="ReadTimeout"):
            impatient.chat(USER)


def _three_steps(body: dict) -> str:
    """A model that plays every qa step: questions, answers from the chunk, the grounding check."""
    prompt = body["messages"][0]["content"]
    if "SUPPORTED or UNSUPPORTED" in prompt:
        return "UNSUPPORTED" if "every weekday" in prompt and "Answer: Deploys run at noon." in prompt else "SUPPORTED"
    if "Question: " in prompt:
        question = prompt.split("Question: ", 1)[1].split("\n", 1)[0]
        return {
            "How do I restart billing?": "Run `systemctl restart billing`.",
            "Who owns billing?": "NOT IN TEXT",
            "When do deploys run?": "Deploys run at noon.",
        }.get(question, "?")
    if "restart billing" in prompt:
        return '```json\n["How do I restart billing?", "Who owns billing?"]\n```'
    return '["When do deploys run?"]' if "weekday" in prompt else "I cannot help with that."


def test_generator_asks_answers_checks_and_drops_what_the_chunk_does_not_support(tmp_path):
    server = Scripted(content=_three_steps)
    with run_in_background(server.app) as url:
        gen = get_generator(openai_cfg(url, concurrency=2), cache_dir=tmp_path)
        out = gen.questions(CHUNKS)
    assert out == [[{"question": "How do I restart billing?", "answer": "Run `systemctl restart billing`."}], [], []]
    assert gen.stats["unparseable"] == 1  # the owners chunk got no readable questions
    assert gen.stats["unanswered"] == 1  # "Who owns billing?" is not in the runbook chunk
    assert gen.stats["grounding_checked"] == 2 and gen.stats["grounding_dropped"] == 1  # "at noon" is not in the text
    assert gen.stats["prompts"] == 3 + 3 + 2
    answers = [
        r["body"]["messages"][0]["content"]
        for r in server.requests
        if "Question: " in r["body"]["messages"][0]["content"]
        and "SUPPORTED" not in r["body"]["messages"][0]["content"]
    ]
    assert answers and all("Runbook" not in a and "docs/" not in a for a in answers), "answers see the chunk alone"
    with run_in_background(Scripted(content=_three_steps).app) as url2:
        unchecked = get_generator(openai_cfg(url2, grounding_check=False), cache_dir=tmp_path)
        assert unchecked.questions(CHUNKS)[2] == [
            {"question": "When do deploys run?", "answer": "Deploys run at noon."}
        ]


def test_generator_drops_a_rejected_prompt_and_keeps_going(tmp_path):
    server = Scripted(failures=[(400, {})], content=_three_steps)
    with run_in_background(server.app) as url:
        gen = get_generator(openai_cfg(url, concurrency=1), cache_dir=tmp_path)
        out = gen.questions(CHUNKS)
    assert gen.stats["failed"] == 1 and sum(o == [] for o in out) >= 2
    assert all(p["answer"] != "Deploys run at noon." for o in out for p in o)
    body = server.requests[0]["body"]
    assert body["model"] == "tiny" and body["max_tokens"] == 16 and body["temperature"] == 0.0
    assert "docs/" in body["messages"][0]["content"] or "README.md" in body["messages"][0]["content"]


def test_concurrency_limit_dedup_and_cache_shared_across_endpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    server = Scripted(sleep_s=0.2)
    with run_in_background(server.app) as url:
        gen = get_generator(openai_cfg(url, concurrency=3, api_key_env="MY_KEY"), cache_dir=tmp_path)
        chunks = [dict(CHUNKS[0], text=f"Fact number {i}.") for i in range(7)] + [CHUNKS[0]] * 3
        gen.questions(chunks)
    assert server.max_in_flight == 3 and len(server.requests) == 8  # 3 identical prompts sent once
    assert {r["auth"] for r in server.requests} == {"Bearer sk-test"}
    other = Scripted()  # another host serving the same model: the cache key ignores the URL
    with run_in_background(other.app) as url:
        again = get_generator(openai_cfg(url), cache_dir=tmp_path)
        again.questions(chunks)
    assert other.requests == [] and again.stats["cache_hits"] == 10


def test_connection_refused_and_bad_config_are_clear():
    with run_in_background(Scripted().app) as url:
        pass  # the port is closed again now
    client = OpenAIClient(url, "m", max_retries=1, backoff_s=0.01)
    with pytest.raises(EndpointError, match=r"ConnectError.*gave up after 2 attempts"):
        client.chat(USER)
    with pytest.raises(Exception, match="base_url is required for type: openai"):
        get_generator(GeneratorConfig(type="openai", model="m"))
    with pytest.raises(Exception, match="model is required for type: hf"):
        get_generator(GeneratorConfig(type="hf"))


def test_serve_cli_errors_on_a_missing_model_dir(tmp_path):
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such model directory" in result.output
    assert "--port" in CliRunner().invoke(main, ["serve", "--help"]).output


def test_chat_many_keeps_order_and_returns_exceptions():
    server = Scripted(failures=[(422, {})])
    with run_in_background(server.app) as url:
        client = OpenAIClient(url, "m", concurrency=1)
        out = client.chat_many([USER, [{"role": "user", "content": "other"}]], return_exceptions=True)
    assert isinstance(out[0], EndpointError) and out[0].status == 422 and out[1] == "Run systemctl restart billing."


@pytest.mark.slow
def test_bench_generate_reports_speed_and_a_free_cached_rerun(tiny):
    from corpus_ft.bench.generate import bench_generate

    r = bench_generate(tiny, n_prompts=3, max_new_tokens=2, batch_sizes=(1, 3), concurrency=2)
    assert [h["batch_size"] for h in r["hf"]] == [1, 3] and all(h["new_tokens"] == 6 for h in r["hf"])
    assert (
        r["openai_over_serve"]["cold"]["http_requests"] == 3 and r["openai_over_serve"]["cached"]["http_requests"] == 0
    )
