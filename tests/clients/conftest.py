"""Fixtures for the client tests: a client on the sandbox, faults, and a scripted web server."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dumont_iac.clients import pacing
from dumont_iac.clients.http import RetryPolicy
from dumont_iac.clients.marketplace import MarketplaceClient, forget_cached_searches
from dumont_iac.testing.market import Market

FAST = RetryPolicy(attempts=4, initial=0.02, maximum=0.1, jitter=0.02)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """Pacers and the search cache are process-wide; a test must not inherit another's."""
    forget_cached_searches()
    pacing.forget_all()
    yield
    forget_cached_searches()
    pacing.forget_all()


@pytest.fixture
def client(sandbox) -> MarketplaceClient:
    """A client on the sandbox (rate limits off there, so no pacing here)."""
    return MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0, retry=FAST)


@pytest.fixture
def probe(sandbox) -> Iterator[Market]:
    """The sandbox seen and broken over its own API, independently of the client tested."""
    with Market(sandbox) as market:
        yield market


class HttpLog(logging.Handler):
    """Collects the client's per-call log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def calls(self, method: str | None = None, path_part: str = "") -> list[logging.LogRecord]:
        with self._lock:
            return [
                r
                for r in self.records
                if (method is None or r.method == method) and path_part in r.path
            ]

    def statuses(self, method: str, path_part: str = "") -> list[Any]:
        return [r.status for r in self.calls(method, path_part)]


@pytest.fixture
def http_log() -> Iterator[HttpLog]:
    handler = HttpLog()
    logger = logging.getLogger("dumont_iac.http")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


@dataclass
class Scripted:
    """A real HTTP server answering what the test scripts, recording what it was sent."""

    url: str
    answers: dict[tuple[str, str], tuple[int, str, bytes]] = field(default_factory=dict)
    received: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def answer(self, method: str, path: str, status: int, body: Any, content_type: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[(method, path)] = (status, content_type, raw)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state = Scripted(url="")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?")[0]
            state.received.append((self.command, self.path, dict(self.headers)))
            status, content_type, body = state.answers.get(
                (self.command, path), (404, "text/html", b"<h1>Not Found</h1>")
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815 - http.server API

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll so that shutdown() at teardown returns at once rather than after 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
