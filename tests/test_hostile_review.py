"""Issue 14 rows 6, 10 and 13: the review server's bind, Host and Origin checks, its API under
hostile bodies, and control characters in the terminal view."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner
from rich.console import Console
from test_review import make_run

from corpus_ft.cli import main
from corpus_ft.decisions import load_decisions
from corpus_ft.review.server import MAX_BODY_BYTES, ServerThread


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_a_non_loopback_bind_needs_allow_remote(run, host):
    """Row 6: --host 0.0.0.0 listened on every interface without a word."""
    result = CliRunner().invoke(main, ["review", str(run), "--serve", "--host", host, "--port", "0"])
    assert result.exit_code == 2, result.output
    assert "--allow-remote" in result.stderr and "no login" in result.stderr
    assert not (run / "review" / "index.html").exists()


def _serve(run, *args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpus_ft.cli", "review", str(run), "--serve", "--port", "0", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    while not any("(Ctrl-C to stop)" in ln for ln in lines):
        line = proc.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    return proc, lines


def test_allow_remote_warns_and_keeps_the_host_allow_list(run):
    """Row 6: a wildcard bind turned the Host check off (`Host: evil.example` -> 200)."""
    proc, lines = _serve(run, "--host", "0.0.0.0", "--allow-remote")
    try:
        assert any(ln.startswith("warning: serving on 0.0.0.0") for ln in lines), lines
        port = re.search(r":(\d+)/", lines[-1])[1]
        url = f"http://127.0.0.1:{port}/"
        assert httpx.get(url).status_code == 200
        assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 400
        assert httpx.get(url, headers={"Host": f"evil.example:{port}"}).status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_another_loopback_address_is_served_with_its_own_host_only(run):
    proc, lines = _serve(run, "--host", "127.0.0.2")
    try:
        url = re.search(r"at (http://127\.0\.0\.2:\d+/)", lines[-1])[1]
        assert httpx.get(url).status_code == 200
        assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def _deep(n: int) -> str:
    return '{"record_id": "qa-1", "action": "edit", "fields": {"messages": ' + "[" * n + "]" * n + "}}"


@pytest.mark.parametrize(
    "body,status",
    [
        ('{"record_id": []}', 400),
        ("{}", 400),
        ("[]", 400),
        ('{"record_id": "qa-1", "action": ["reject"]}', 400),
        ('{"record_id": "qa-1", "action": "edit", "fields": "text"}', 400),
        (_deep(2000), 400),
        ("[" * 100_000 + "]" * 100_000, 400),
        ('{"record_id": "no-such-record", "action": "reject"}', 404),
    ],
)
def test_api_answers_400_not_500_for_hostile_bodies(run, body, status):
    """Row 13: these were 500s (TypeError, RecursionError)."""
    with ServerThread(run) as srv:
        r = httpx.post(srv.url + "api/decisions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert "error" in r.json()
    assert not load_decisions(run)


def test_an_oversized_edit_is_refused_and_the_log_stays_small(run):
    """Row 13: a 50 MB edit was accepted and /api/decisions then returned 52 MB."""
    huge = {
        "record_id": "qa-1",
        "action": "edit",
        "fields": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x" * 50_000_000}]},
    }
    with ServerThread(run) as srv:
        r = httpx.post(srv.url + "api/decisions", json=huge, timeout=60)
        assert r.status_code == 413, r.text
        r = httpx.post(
            srv.url + "api/decisions",
            content=json.dumps(huge)[: MAX_BODY_BYTES + 10],
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        assert r.status_code in (400, 413)
        assert len(httpx.get(srv.url + "api/decisions").content) < 1000
    assert not load_decisions(run)


def test_cross_origin_writes_are_refused(run):
    with ServerThread(run) as srv:
        post = {"record_id": "qa-1", "action": "reject"}
        evil = httpx.post(srv.url + "api/decisions", json=post, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        same = httpx.post(srv.url + "api/decisions", json=post, headers={"Origin": srv.url.rstrip("/")})
        assert same.status_code == 200
    assert list(load_decisions(run)) == ["qa-1"]


def test_terminal_sample_never_sends_escape_sequences(run):
    """Row 10: repository text with terminal escapes cleared the screen and spoofed output."""
    path = run / "datasets" / "paragraphs" / "train.jsonl"
    rec = json.loads(path.read_text().splitlines()[0])
    rec["text"] = "before\x1b[2J\x1b[Hspoofed\x1b]0;title\x07\x00after\x9b31m"
    path.write_text(json.dumps(rec) + "\n")
    from corpus_ft.review.terminal import print_sample

    buf = io.StringIO()
    print_sample(run, 5, console=Console(file=buf, force_terminal=False, width=200, color_system=None))
    out = buf.getvalue()
    assert "spoofed" in out and "after" in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), repr(out)
