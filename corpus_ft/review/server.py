"""The review web app: the report page plus a JSON API to page through, filter and decide on
records. Local by design: bound to loopback unless `--allow-remote` says otherwise, a Host
allow-list of the names it was bound to (DNS rebinding), same-origin JSON posts only (Origin
checked), bounded request bodies, and decisions appended to RUN_DIR/review/decisions.jsonl."""

from __future__ import annotations

import json
import os
import socket
import threading

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from corpus_ft.decisions import append_decision, apply_decisions, augmented_from, decisions_path, flag, load_decisions
from corpus_ft.loopback import Guard, allowed_hosts_for, bind, is_loopback, run_in_background
from corpus_ft.review.data import CONTENT_ROLES, load_run, record_text, source_span
from corpus_ft.review.report import render
from corpus_ft.util import CorpusFtError

FLAGS = ("accepted", "rejected", "edited", "undecided")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY_BYTES = 1 << 20  # one decision with an edited record; a record is at most max_chars long
MAX_JSON_DEPTH = 32  # a decision is an object of messages of strings: 4 levels deep


def check_bind(host: str, allow_remote: bool) -> bool:
    """True for a loopback host; another host needs `allow_remote` (the app has no login)."""
    if is_loopback(host):
        return True
    if not allow_remote:
        raise CorpusFtError(
            f"--host {host} would let other machines read and change this run's review "
            "(the app has no login); keep the default 127.0.0.1, or pass --allow-remote "
            "to share it on a network you trust"
        )
    return False


def _depth(obj, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping early past `limit` (no recursion)."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o)
    return deepest


def create_app(
    run_dir: str | os.PathLike, *, model_dir: str | os.PathLike | None = None, allowed_hosts: list[str] | None = None
) -> Starlette:
    """Build the app for one run; the run is read once, decisions are re-read per request."""
    run = load_run(run_dir)
    index = run.record_index()
    order = list(index)  # kind, split, file order as build wrote them
    paths = sorted({(rec.get("source") or {}).get("path", "") for _, _, rec in index.values()})
    left_out = {rec["id"] for kd in run.kinds.values() for _, rec in kd.rejected}  # rejected by an applied build
    page = {"key": (), "html": ""}
    lock = threading.Lock()

    def current_page() -> str:
        """The page, re-rendered when decisions changed, so its counts are never stale."""
        p = decisions_path(run.run_dir)
        key = (p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None
        with lock:
            if page["key"] != key:
                page.update(key=key, html=render(run, model_dir=model_dir, interactive=True))
            return page["html"]

    current_page()  # render once up front: a bad --model fails before the server starts

    def item(rid: str, decisions: dict) -> dict:
        kind, split, rec = index[rid]
        d = decisions.get(rid)
        edited = bool(d and d["action"] == "edit")
        return {
            "id": rid,
            "kind": kind,
            "split": split,
            "flag": flag(d),
            "augmented": augmented_from(rec),
            "record": apply_decisions([rec], {rid: d})[0][0] if edited else rec,
            "original": rec if edited else None,
            "source": source_span(run, rec.get("source") or {}),
            "left_out": rid in left_out,
        }

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(await run_in_threadpool(current_page))

    async def files(request: Request) -> JSONResponse:
        return JSONResponse({"paths": paths})

    async def records(request: Request) -> JSONResponse:
        q = request.query_params
        try:
            offset, limit = max(int(q.get("offset", 0)), 0), min(max(int(q.get("limit", 20)), 1), 200)
        except ValueError:
            return JSONResponse({"error": "offset and limit must be integers"}, status_code=400)
        if q.get("flag") and q["flag"] not in FLAGS:
            return JSONResponse({"error": f"flag must be one of {', '.join(FLAGS)}"}, status_code=400)
        decisions = load_decisions(run.run_dir)
        needle = (q.get("q") or "").lower()
        hits = []
        for rid in order:
            kind, split, rec = index[rid]
            if (q.get("kind") and kind != q["kind"]) or (q.get("split") and split != q["split"]):
                continue
            if q.get("path") and (rec.get("source") or {}).get("path") != q["path"]:
                continue
            if q.get("flag") and flag(decisions.get(rid)) != q["flag"]:
                continue
            if q.get("origin") and (augmented_from(rec) is not None) != (q["origin"] == "augmented"):
                continue
            if needle and needle not in rid.lower() and needle not in record_text(rec, CONTENT_ROLES).lower():
                continue
            hits.append(rid)
        return JSONResponse(
            {
                "total": len(hits),
                "offset": offset,
                "limit": limit,
                "items": [item(r, decisions) for r in hits[offset : offset + limit]],
            }
        )

    async def decide(request: Request) -> JSONResponse:
        raw = await request.body()  # the Guard checked Host, Origin, content type and size
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        if not isinstance(body, dict) or _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            return JSONResponse({"error": 'send one JSON object {"record_id", "action", "fields"?}'}, status_code=400)
        rid, action, fields = body.get("record_id"), body.get("action"), body.get("fields")
        if not isinstance(rid, str) or not isinstance(action, str) or not (fields is None or isinstance(fields, dict)):
            return JSONResponse(
                {"error": '"record_id" and "action" must be strings, "fields" an object'}, status_code=400
            )
        if rid not in index:
            return JSONResponse({"error": f"unknown record_id {rid[:200]!r}"}, status_code=404)
        try:
            entry = append_decision(
                run.run_dir, rid, index[rid][0], body.get("action"), body.get("fields"), index[rid][2].get("source")
            )
        except CorpusFtError as e:  # 507: nothing was saved (a full disk); the server keeps answering
            return JSONResponse({"error": str(e)}, status_code=400 if e.exit_code == 2 else 507)
        it = item(rid, {rid: entry})
        return JSONResponse({"decision": entry, "flag": it["flag"], "record": it["record"], "original": it["original"]})

    async def decisions(request: Request) -> JSONResponse:
        warnings: list[str] = []
        return JSONResponse({"decisions": load_decisions(run.run_dir, warnings), "warnings": warnings})

    routes = [
        Route("/", home),
        Route("/api/files", files),
        Route("/api/records", records),
        Route("/api/decisions", decisions, methods=["GET"]),
        Route("/api/decisions", decide, methods=["POST"]),
    ]
    hosts = allowed_hosts or allowed_hosts_for("127.0.0.1")  # refuses DNS-rebinding hosts; never "*"
    return Starlette(routes=routes, middleware=[Middleware(Guard, allowed_hosts=hosts, max_body=MAX_BODY_BYTES)])


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def make_server(app: Starlette):
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))


def serve(
    run_dir: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    model_dir: str | os.PathLike | None = None,
    on_ready=print,
    allow_remote: bool = False,
    warn=print,
) -> None:
    """Serve the review app until interrupted; `on_ready` gets the URL."""
    if not check_bind(host, allow_remote):
        warn(
            f"warning: serving on {host}: anyone who can reach this port can read every record and "
            "record decisions (no authentication)"
        )
    app = create_app(run_dir, model_dir=model_dir, allowed_hosts=allowed_hosts_for(host))
    sock = bind(host, port)
    on_ready(url_of(sock))
    make_server(app).run(sockets=[sock])


class ServerThread:
    """The app on a free loopback port in a background thread (tests, notebooks), through corpus_ft.loopback."""

    def __init__(self, run_dir: str | os.PathLike, **kwargs):
        self._serving = run_in_background(create_app(run_dir, **kwargs))
        self.url = ""

    def __enter__(self) -> ServerThread:
        self.url = self._serving.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._serving.__exit__(*exc)
