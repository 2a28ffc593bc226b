"""`corpus-ft serve`: a small OpenAI-compatible server for a local transformers model.

GET /v1/models, POST /v1/chat/completions, POST /v1/completions (n=1, no streaming).
It lets the `openai` generator, the LLM judge and any OpenAI client talk to a local model
(the tiny one in tests) over real HTTP. Requests are served one at a time: it is a
convenience for small models, not a replacement for vLLM or TGI on a real workload.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from corpus_ft import loopback
from corpus_ft.loopback import Guard, allowed_hosts_for
from corpus_ft.model.chat import render_chat
from corpus_ft.model.generate import generate, load_model

DEFAULT_MAX_TOKENS = 256


class BadRequest(Exception):
    pass


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status_code=status)


def _sampling(body: dict) -> dict:
    """max_tokens and temperature from a request body, checked the way OpenAI checks them."""
    if body.get("stream"):
        raise BadRequest("stream=true is not supported by corpus-ft serve")
    if body.get("n", 1) != 1:
        raise BadRequest("only n=1 is supported")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", DEFAULT_MAX_TOKENS))
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise BadRequest(f"max_tokens must be a positive integer, got {max_tokens!r}")
    temperature = body.get("temperature", 1.0)
    if temperature is None:
        temperature = 1.0
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise BadRequest(f"temperature must be a number in [0, 2], got {temperature!r}")
    return {"max_new_tokens": max_tokens, "temperature": float(temperature)}


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list of {role, content}")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in {"system", "user", "assistant"}:
            raise BadRequest(f"messages[{i}].role must be system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}] parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise BadRequest(f"messages[{i}].content must be a string")
        out.append({"role": m["role"], "content": content})
    return out


MAX_BODY_BYTES = 8 << 20  # a long prompt with its conversation; more is no chat request


def create_app(
    model_dir: str | Path, model_name: str | None = None, allowed_hosts: list[str] | None = None
) -> Starlette:
    """The ASGI app serving `model_dir`; loads the model now so the first request is not slow."""
    model, tokenizer = load_model(model_dir)
    name = model_name or Path(str(model_dir)).name or str(model_dir)
    has_template = bool(getattr(tokenizer, "chat_template", None))
    lock = threading.Lock()  # one generate() at a time: the model is not re-entrant
    created = int(time.time())
    stats = {"requests": 0}

    def run(prompt: str, sampling: dict, templated: bool):
        with lock:
            return generate(model, tokenizer, [prompt], batch_size=1, chat_template_applied=templated, **sampling)[0]

    async def handle(request: Request, chat: bool) -> JSONResponse:
        stats["requests"] += 1
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("the request body must be a JSON object")
            sampling = _sampling(body)
            if chat:
                prompt, templated = render_chat(tokenizer, _messages(body)), has_template
            else:
                prompt = body.get("prompt")
                if isinstance(prompt, list) and len(prompt) == 1:
                    prompt = prompt[0]
                if not isinstance(prompt, str):
                    raise BadRequest("prompt must be a string")
                templated = False
        except ValueError:
            return _error(400, "the request body is not valid JSON")
        except BadRequest as e:
            return _error(400, str(e))
        c = await run_in_threadpool(run, prompt, sampling, templated)
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason}
            if chat
            else {"index": 0, "text": c.text, "finish_reason": c.finish_reason, "logprobs": None}
        )
        return JSONResponse(
            {
                "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
                "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()),
                "model": name,
                "choices": [choice],
                "usage": {
                    "prompt_tokens": c.prompt_tokens,
                    "completion_tokens": c.completion_tokens,
                    "total_tokens": c.prompt_tokens + c.completion_tokens,
                },
            }
        )

    async def chat_completions(request: Request) -> JSONResponse:
        return await handle(request, chat=True)

    async def completions(request: Request) -> JSONResponse:
        return await handle(request, chat=False)

    async def models(request: Request) -> JSONResponse:
        return JSONResponse(
            {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "corpus-ft"}]}
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": name, "requests": stats["requests"]})

    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        middleware=[
            Middleware(Guard, allowed_hosts=allowed_hosts or allowed_hosts_for("127.0.0.1"), max_body=MAX_BODY_BYTES)
        ],
    )
    app.state.stats = stats  # requests answered, for tests and /health
    return app


def serve(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    app = create_app(model_dir, model_name, allowed_hosts=allowed_hosts_for(host))
    uvicorn.run(app, host=host, port=port, log_level="info")


@contextlib.contextmanager
def run_in_background(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """An OpenAI-compatible app on a loopback port, through corpus_ft.loopback; yields its base URL (…/v1)."""
    with loopback.run_in_background(app, host, port) as url:
        yield url + "v1"


@contextlib.contextmanager
def serve_in_background(model_dir: str | Path, port: int = 0, model_name: str | None = None) -> Iterator[str]:
    """`corpus-ft serve MODEL_DIR` on a free loopback port in a thread; yields base_url (…/v1)."""
    with run_in_background(create_app(model_dir, model_name), port=port) as url:
        yield url
