"""Issue 24's leak rows, end to end: every text that reaches an output passes redaction after it was
generated, and spans are computed on the text that is shown.

One small repository holds a secret per row; it is ingested and built with the offline generator
and with a real OpenAI-style endpoint on loopback whose replies carry a key of their own, then
every file the run wrote (datasets, removed.jsonl, stats, card, manifests, review page, the review
API, ingest_report.json) is searched for every planted value.
"""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from corpus_ft.datasets import build_dataset
from corpus_ft.ingest import ingest_repo
from corpus_ft.loopback import run_in_background

DOC_PASSWORD = "Hunter#2Xy9Qz"  # S1: in a docstring only
KEY_LINE = "MIIEpAIBAAKCAQEA7Zq3Lk9Vw2Rt5Yp8Nx1Bm4Dc7Fh0Js3Gt6Wq9Eu2Io5Pa8Sd"  # S2: a PEM body line
MODEL_KEY = "AKIAQ4MODELREPLY7KEY"  # S3: written by the generator, in no file of the repository
URL_PASSWORD = "Ur1Pw-9f8e7d6c"  # S9: in the generator's base_url
IGNORE_TOKEN = "ghp_Ig9Nr8Mq7Lp6Ko5Jn4Im3Hl2Gk1Fj0EiDhCg"  # S12: in a .gitignore line that cannot be used
PLANTED = (DOC_PASSWORD, KEY_LINE, MODEL_KEY, URL_PASSWORD, IGNORE_TOKEN)


def _filler(n: int, topic: str) -> str:
    """`n` distinct paragraphs of plain prose (repeated lines would blur where a chunk starts)."""
    return "".join(
        f"The {topic} step {i} keeps one journal per account and replays it on start. Operators rotate "
        f"journal {i} weekly and archive its old segments to cold storage after close number {i}.\n\n"
        for i in range(n)
    )


REPO = {
    "service/auth.py": f'''"""Authentication helpers for the ledger service."""


def admin_login(client, user):
    """Log in with the shared admin password {DOC_PASSWORD} when the directory is down."""
    return client.login(user, role="admin")


def rotate_keys(store, days):
    """Rotate every signing key in the store that is older than the given number of days."""
    return [store.rotate(k) for k in store.keys() if k.age_days > days]
''',
    "docs/keys.md": "# Keys\n\n## Signing keys\n\n"
    + _filler(30, "signing")
    + "The staging signing key is kept here until the vault migration:\n\n"
    + "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join([KEY_LINE] * 6)
    + "\n-----END RSA PRIVATE KEY-----\n\n"
    + _filler(40, "archive"),
    "docs/guide.md": "# Guide\n\n## Restart\n\nRestart the ledger service with the deploy tool after each "
    "configuration change, then watch the error rate for ten minutes before leaving.\n",
    ".gitignore": f"*.log\nbuild/\n[z-a]{IGNORE_TOKEN}\n",
}


def _reply(body: dict) -> str:
    """A model that answers every prompt, and puts an access key of its own into each answer."""
    prompt = body["messages"][-1]["content"]
    if "SUPPORTED or UNSUPPORTED" in prompt:
        return "SUPPORTED"
    if "Question: " in prompt:
        return f"Use the ledger deploy tool with the key {MODEL_KEY} and watch the error rate."
    if "question" in prompt.lower() and "json" in prompt.lower():
        return '["How do I restart the ledger service?"]'
    return f"Rotates the signing keys with the access key {MODEL_KEY} and returns them."


def _endpoint() -> Starlette:
    async def chat(request: Request) -> JSONResponse:
        content = _reply(await request.json())
        return JSONResponse({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    """The repository ingested and built twice: offline (heuristic) and through a loopback endpoint."""
    base = tmp_path_factory.mktemp("leaks")
    repo = base / "repo"
    for rel, text in REPO.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    runs = {}
    for gen in ("heuristic", "openai"):
        run = base / gen
        ingest_repo(repo, run, workers=1)
        runs[gen] = run
    for kind in ("paragraphs", "qa", "code_summary", "keywords"):
        build_dataset(kind, runs["heuristic"], generator="heuristic", min_docstring_words=3)
    with run_in_background(_endpoint()) as url:
        host = url.split("://", 1)[1]
        generator = {"type": "openai", "base_url": f"http://svc:{URL_PASSWORD}@{host}v1", "model": "m"}
        for kind in ("qa", "code_summary"):
            build_dataset(kind, runs["openai"], generator=generator, min_docstring_words=50)
    return runs


def _leaks(run) -> list[str]:
    """`path: secret` for every planted value found in any file the run wrote, except the raw stores
    (units.parquet, ingest's file index under .cache/, the generator's reply cache under cache/)."""
    out = []
    for p in sorted(run.rglob("*")):
        rel = p.relative_to(run).parts
        if p.is_file() and p.name != "units.parquet" and rel[0] not in (".cache", "cache"):
            data = p.read_bytes()
            out += [f"{p.relative_to(run)}: {s}" for s in PLANTED if s.encode() in data]
    return out


def test_s1_a_secret_in_a_docstring_never_reaches_the_summary_card_or_review_page(leaky_run):
    from corpus_ft.review import write_report

    run = leaky_run["heuristic"]
    summaries = (run / "datasets" / "code_summary" / "train.jsonl").read_text() + (
        run / "datasets" / "code_summary" / "test.jsonl"
    ).read_text()
    assert "admin_login" in summaries and "Log in with the shared admin password" in summaries
    write_report(run)
    assert [x for x in _leaks(run) if DOC_PASSWORD in x] == []


def test_s2_a_key_inside_a_long_section_never_reaches_the_review_page_or_api(leaky_run):
    from corpus_ft.review import write_report
    from corpus_ft.review.server import create_app

    run = leaky_run["heuristic"]
    write_report(run)
    assert [x for x in _leaks(run) if KEY_LINE in x] == []
    with run_in_background(create_app(run)) as url:
        items = httpx.get(url + "api/records", params={"limit": 500}).json()["items"]
    assert items and KEY_LINE not in json.dumps(items)
    keys = [i for i in items if (i["source"]["path"] or "").endswith("keys.md")]
    assert keys and any("[REDACTED_PRIVATE_KEY]" in (i["source"]["text"] or "") for i in keys)


def test_s2_redaction_keeps_line_numbers_so_spans_point_at_the_source():
    from corpus_ft.redact import redact

    text = REPO["docs/keys.md"]
    out = redact(text, filename="docs/keys.md", language="markdown")
    assert out.count("\n") == text.count("\n") and KEY_LINE not in out
    lines, shown = text.split("\n"), out.split("\n")
    after = lines.index("-----END RSA PRIVATE KEY-----") + 2
    assert shown[after] == lines[after]  # the prose after the key sits on its own source line


def test_s3_generator_output_is_redacted_everywhere(leaky_run):
    from corpus_ft.review import write_report

    run = leaky_run["openai"]
    written = "".join(
        (run / "datasets" / k / f"{s}.jsonl").read_text() for k in ("qa", "code_summary") for s in ("train", "test")
    )
    assert "[REDACTED_AWS_ACCESS_KEY]" in written  # the endpoint's answers were used, redacted
    write_report(run)
    assert [x for x in _leaks(run) if MODEL_KEY in x] == []
    stats = json.loads((run / "datasets" / "qa" / "stats.json").read_text())
    assert stats["redactions"].get("aws_access_key", 0) >= 1


def test_s9_generator_url_credentials_never_reach_card_manifest_or_stats(leaky_run):
    run = leaky_run["openai"]
    stats = json.loads((run / "datasets" / "qa" / "stats.json").read_text())
    assert "127.0.0.1" in stats["settings"]["generator"]["base_url"]  # the endpoint is still named
    assert [x for x in _leaks(run) if URL_PASSWORD in x] == []


def test_s12_a_token_in_a_bad_ignore_line_is_not_echoed_in_the_ingest_report(leaky_run):
    run = leaky_run["heuristic"]
    report = json.loads((run / "ingest_report.json").read_text())
    assert any(w["kind"] == "bad_ignore_pattern" for w in report["warnings"])
    assert IGNORE_TOKEN not in json.dumps(report)


def test_the_card_reports_redactions_per_thousand_records_and_in_code(leaky_run):
    """Issue 26 item 5: the card gives the marks a reader will meet, per 1,000 records, and how many sit
    in code where no literal is (goal 0)."""
    import re

    from corpus_ft.datasets.card import redaction_figures
    from corpus_ft.util import read_jsonl

    run = leaky_run["heuristic"]
    out = run / "datasets" / "paragraphs"
    splits = {s: read_jsonl(out / f"{s}.jsonl") for s in ("train", "validation", "test")}
    fig = redaction_figures(splits)
    assert fig["marks"] >= 1 and fig["records"] == sum(len(v) for v in splits.values())
    card = (out / "card.md").read_text()
    m = re.search(r"\*\*([\d.]+) per 1,000 records\*\*", card)
    assert m and float(m[1]) == round(1000 * fig["marks"] / fig["records"], 1)
    assert "inside code that is not a literal value (a broken expression): **0**" in card
    broken = {"train": [{"messages": [{"role": "assistant", "content": "```python\nx = [REDACTED_SECRET] + 1\n```"}]}]}
    assert redaction_figures(broken)["in_code_not_literal"] == 1
