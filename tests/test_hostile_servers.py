"""Issue 24, X1: every corpus-ft server sits behind one guard (Host allow-list, Origin, content type, body limit)."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def model_url(tmp_path_factory):
    """`corpus-ft serve` of a small tiny model on a loopback port (real model, real server)."""
    from corpus_ft.generate.server import serve_in_background
    from corpus_ft.model.tiny import build_tiny_model

    model = build_tiny_model(tmp_path_factory.mktemp("srv") / "tiny", vocab_size=300, hidden_size=32, num_layers=1)
    with serve_in_background(model) as url:
        yield url


CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 2}


def test_x1_a_dns_rebinding_page_cannot_read_the_model_server(model_url):
    """X1: `corpus-ft serve` had no Host allow-list: a DNS-rebinding page could read the tuned model's answers."""
    port = httpx.URL(model_url).port
    assert httpx.get(f"{model_url}/models").status_code == 200
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        r = httpx.get(f"{model_url}/models", headers={"Host": host})
        assert r.status_code == 400 and "not served here" in r.json()["error"], (host, r.text)
        r = httpx.post(f"{model_url}/chat/completions", json=CHAT, headers={"Host": host})
        assert r.status_code == 400, (host, r.text)


def test_x1_cross_origin_non_json_and_oversized_requests_are_refused(model_url):
    """X1: no Origin or content-type check: a cross-site form could post to the model server."""
    url = f"{model_url}/chat/completions"
    r = httpx.post(url, json=CHAT, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403, r.text
    r = httpx.post(url, content=b'{"messages": []}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415, r.text
    r = httpx.post(url, content=b"x" * (9 << 20), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    same = httpx.post(url, json=CHAT, headers={"Origin": model_url.rsplit("/v1", 1)[0]})
    assert same.status_code == 200 and same.json()["choices"][0]["message"]["role"] == "assistant", same.text
