"""The one background web server: any ASGI app on a loopback port in a thread (tests, benchmarks, notebooks),
and the one guard every corpus-ft server runs behind (`Guard`: Host allow-list, Origin, content type, body limit).

Bottom layer: the review app and the OpenAI-compatible model server both run through it.

    with run_in_background(app) as url:   # "http://127.0.0.1:PORT/"; the server stops on exit
        httpx.get(url)
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator

from corpus_ft.util import CorpusFtError

__all__ = ["Guard", "allowed_hosts_for", "bind", "is_loopback", "run_in_background"]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost answer only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str) -> list[str]:
    """The Host header values a page served on `host` can carry: the names and addresses it is bound
    to (for 0.0.0.0 or ::, this machine's name and addresses) and loopback. Any other is refused."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    bare = host.strip("[]")
    wildcard = bare in ("0.0.0.0", "::")
    if not wildcard:
        names.add(f"[{bare}]" if ":" in bare else bare)
    else:
        for name in {socket.gethostname(), socket.getfqdn()}:
            names.add(name)
            try:
                names.update(f"[{a[4][0]}]" if ":" in a[4][0] else a[4][0] for a in socket.getaddrinfo(name, None))
            except OSError:
                pass
    return sorted(names)


def _host_name(host: str) -> str:
    """The name part of a Host header ("[::1]:8000" -> "[::1]", "localhost:80" -> "localhost")."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware in front of every corpus-ft server, one definition for all of them.

    - Host must be one of `allowed_hosts` (no "*"): a DNS-rebinding page, whose requests carry its own
      name, cannot read answers or records;
    - a request that changes something (not GET/HEAD/OPTIONS) must be JSON (`application/json`, which a
      cross-site form cannot send without a CORS preflight this server never grants), from the same
      origin when the browser names one, and at most `max_body` bytes; the body is read here, so an
      endless one is cut off before the app sees it.
    """

    def __init__(self, app, allowed_hosts: list[str], max_body: int = 1 << 20):
        self.app, self.allowed, self.max_body = app, set(allowed_hosts), max_body
        if "*" in self.allowed:
            raise ValueError("the Host allow-list must name hosts, not *")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if _host_name(host) not in self.allowed:
            return await _refuse(send, 400, f"Host {host[:100]!r} is not served here (DNS rebinding is refused)")
        if scope["method"] in SAFE_METHODS:
            return await self.app(scope, receive, send)
        origin = headers.get("origin")
        if origin is not None and origin != f"{scope.get('scheme', 'http')}://{host}":
            return await _refuse(send, 403, f"cross-origin write from {origin[:100]!r} refused")
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return await _refuse(send, 415, "send JSON (Content-Type: application/json)")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return await _refuse(send, 413, f"body over {self.max_body} bytes")
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _refuse(send, 413, f"body over {self.max_body} bytes")
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _refuse(send, status: int, message: str) -> None:
    payload = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind the listening socket first, so a busy port is a clear error and port 0 works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise CorpusFtError(f"cannot listen on {host}:{port} ({e.strerror}); pass another --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def run_in_background(app, host: str = "127.0.0.1", port: int = 0, *, start_timeout_s: float = 30) -> Iterator[str]:
    """Serve `app` on host:port (0: a free port) in a daemon thread; yields its base URL, stops on exit."""
    import uvicorn

    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="corpus-ft-serve")
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the background server did not start within {start_timeout_s:.0f} s")
        time.sleep(0.01)
    bound = sock.getsockname()[1]
    try:
        yield f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
