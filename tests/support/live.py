"""A real HTTP server for client tests: the embedded app (or any ASGI app) under uvicorn in a
thread of its own, since the SDK and CLI under test are synchronous."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from ganglion.embedded import EmbeddedOptions, embedded_app
from tests.conftest import TOKEN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Live:
    url: str
    token: str
    home: Path


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def embedded(home: Path, *, concurrency: int = 4) -> Iterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = embedded_app(
        EmbeddedOptions(home=home, token=TOKEN, public_url=url, concurrency=concurrency)
    )
    with serving(app, port):
        yield Live(url, TOKEN, home)
