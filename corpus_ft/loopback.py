"""The one background web server: any ASGI app on a loopback port in a thread (tests, benchmarks, notebooks).

Bottom layer: the review app and the OpenAI-compatible model server both run through it.

    with run_in_background(app) as url:   # "http://127.0.0.1:PORT/"; the server stops on exit
        httpx.get(url)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from corpus_ft.util import CorpusFtError

__all__ = ["bind", "run_in_background"]


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
