"""The control plane on a real uvicorn server: in a background thread (tests, the sandbox) or in
the foreground (the CLI), over TLS when given a certificate and key.

``start_control_plane`` binds the socket itself (port 0 picks a free port), waits until
``/health`` answers, and ``stop`` shuts down cleanly: agents stopped, store closed, thread joined.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.middleware import Middleware

from dumont_iac.control_plane.app import create_app
from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.settings import ControlPlaneSettings

STARTUP_TIMEOUT = 60.0
GRACEFUL_SHUTDOWN_SECONDS = 3


class ControlPlaneStillRunning(RuntimeError):
    """A stop waited, and the server's thread (or an agent's action) is still running."""


@dataclass(frozen=True)
class Tls:
    cert: str
    key: str


@dataclass
class ControlPlaneHandle:
    url: str
    app: FastAPI
    settings: ControlPlaneSettings
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    @property
    def store(self) -> Any:
        return self.app.state.store

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 10) -> bool:
        """Shut down, waiting up to ``timeout`` real seconds (the agents finish the action each
        is in); False when the server is still running after that."""
        if self._socket.fileno() == -1:
            return not self._thread.is_alive()
        self._server.should_exit = True
        self._thread.join(timeout=timeout)
        self._socket.close()
        if not self._server.started:
            self.app.state.store.close()  # the lifespan that closes it never ran
        return not self._thread.is_alive()


def _config(app: FastAPI, tls: Tls | None, **kwargs: Any) -> uvicorn.Config:
    options: dict[str, Any] = {}
    if tls is not None:
        options = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
    return uvicorn.Config(
        app,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **options,
        **kwargs,
    )


def start_control_plane(
    settings: ControlPlaneSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    tls: Tls | None = None,
    middleware: Sequence[Middleware] = (),
    verify: ssl.SSLContext | str | bool = True,
    rate_clock: Callable[[], float] = time.monotonic,
) -> ControlPlaneHandle:
    """Serve from a background thread; returns once ``/health`` answers (``verify``: how the
    readiness check trusts a TLS certificate, e.g. the test's own CA file)."""
    app = create_app(settings, clock=clock, middleware=middleware, rate_clock=rate_clock)
    # IPPROTO_TCP named, or asyncio leaves Nagle on for the connections it accepts (it sets
    # TCP_NODELAY only for sockets whose proto says TCP) and every answer waits ~40 ms for an ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        app.state.store.close()
        raise
    bound = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, tls, log_config=None, access_log=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"control-plane-{bound}", daemon=True
    )
    scheme = "https" if tls else "http"
    handle = ControlPlaneHandle(f"{scheme}://{host}:{bound}", app, settings, server, thread, sock)
    thread.start()
    try:
        _wait_until_ready(handle, verify)
    except BaseException:
        handle.stop()
        raise
    return handle


@contextmanager
def running_control_plane(
    settings: ControlPlaneSettings, **kwargs: Any
) -> Iterator[ControlPlaneHandle]:
    handle = start_control_plane(settings, **kwargs)
    try:
        yield handle
    finally:
        handle.stop()


def _wait_until_ready(handle: ControlPlaneHandle, verify: ssl.SSLContext | str | bool) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not handle._server.started:
        if not handle._thread.is_alive():
            raise RuntimeError(f"The control plane on {handle.url} stopped while starting.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The control plane on {handle.url} did not start in time.")
        time.sleep(0.01)
    with httpx.Client(base_url=handle.url, timeout=10, verify=verify) as client:
        response = client.get("/health")
    if response.status_code != 200:
        raise RuntimeError(f"The control plane on {handle.url} is not healthy: {response.text}")


def serve(
    settings: ControlPlaneSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tls: Tls | None = None,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C)."""
    app = create_app(settings)
    uvicorn.Server(_config(app, tls, host=host, port=port)).run()
