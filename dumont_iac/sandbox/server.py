"""The sandbox on a real uvicorn server: in a background thread for tests, or blocking for the CLI.

``running_sandbox`` binds the socket itself (port 0 picks a free port, so parallel test runs never
collide), starts uvicorn in a thread, waits until ``/health`` answers and stops the server
cleanly on exit: connections closed, store closed, thread joined. ``SandboxHandle.restart``
stops it and serves again on the same port, database file and clock, as a marketplace that
restarts while its clients keep calling.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from dumont_iac.sandbox.app import create_app
from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.settings import SandboxSettings

STARTUP_TIMEOUT = 60.0
# Requests still running at shutdown (a hang, a slow handler) are cancelled after this long.
GRACEFUL_SHUTDOWN_SECONDS = 3


@dataclass
class SandboxHandle:
    url: str
    api_key: str
    app: FastAPI
    settings: SandboxSettings
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    @property
    def store(self) -> Any:
        return self.app.state.store

    @property
    def clock(self) -> Clock:
        return self.app.state.clock

    def client(
        self, api_key: str | None = None, *, anonymous: bool = False, **kwargs: Any
    ) -> httpx.Client:
        """An httpx client on the sandbox presenting ``api_key`` (the sandbox's own by default)."""
        key = None if anonymous else (api_key or self.api_key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def stop(self) -> None:
        """Stop serving and close the store; calling it again does nothing."""
        if self._socket.fileno() == -1:
            return
        self.app.state.faults.closing.set()
        self._server.should_exit = True
        self._thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
        self._socket.close()
        if not self._server.started:
            self.app.state.store.close()  # the lifespan that closes it never ran

    def restart(self) -> None:
        """Stop, then serve again at the same address from the same database file, on the same
        clock (whoever holds the handle, its URL or its clock keeps them). What lives only in
        memory is lost, as on a real restart: armed transport faults, rate-limit history."""
        if self.settings.db_path == ":memory:":
            raise ValueError("a sandbox on :memory: cannot restart: its market lives in memory")
        host, port = self._socket.getsockname()[:2]
        self.stop()
        again = start_sandbox(self.settings, host, port, clock=self.clock)
        self.app, self._server, self._thread = again.app, again._server, again._thread
        self._socket = again._socket


def start_sandbox(
    settings: SandboxSettings, host: str = "127.0.0.1", port: int = 0, *, clock: Clock | None = None
) -> SandboxHandle:
    """Serve the sandbox from a background thread; returns once ``/health`` answers."""
    app = create_app(settings, clock)
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
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the host process's logging alone
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{bound_port}", daemon=True
    )
    handle = SandboxHandle(
        url=f"http://{host}:{bound_port}",
        api_key=settings.api_key,
        app=app,
        settings=settings,
        _server=server,
        _thread=thread,
        _socket=sock,
    )
    thread.start()
    try:
        _wait_until_ready(handle)
    except BaseException:
        handle.stop()
        raise
    return handle


@contextmanager
def running_sandbox(
    settings: SandboxSettings, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SandboxHandle]:
    handle = start_sandbox(settings, host, port)
    try:
        yield handle
    finally:
        handle.stop()


def _wait_until_ready(handle: SandboxHandle) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not handle._server.started:
        if not handle._thread.is_alive():
            raise RuntimeError(f"The sandbox server on {handle.url} stopped while starting.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The sandbox server on {handle.url} did not start in time.")
        time.sleep(0.01)
    with httpx.Client(base_url=handle.url, timeout=10) as client:
        response = client.get("/health")
    if response.status_code != 200:
        raise RuntimeError(
            f"The sandbox on {handle.url} is not healthy: {response.status_code} {response.text}"
        )


def serve(settings: SandboxSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve in the foreground until interrupted (Ctrl-C)."""
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
