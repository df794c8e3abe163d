"""Fixtures of the control-plane tests: a database of each backend, and a served control plane.

``db`` runs a test on SQLite and on PostgreSQL. PostgreSQL is one server per session (started
from the machine's packages, see ``postgres.py``) with a fresh database per test.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from starlette.types import ASGIApp

from dumont_iac.control_plane.clock import ManualClock
from dumont_iac.control_plane.server import ControlPlaneHandle, start_control_plane
from dumont_iac.control_plane.settings import ControlPlaneSettings

from .postgres import PostgresServer, find_binaries

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir, reason = find_binaries()
    if bin_dir is None:
        pytest.skip(reason)
    server = PostgresServer.start(bin_dir)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    name = f"cp_test_{next(_databases)}"
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres.url(name)
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "control-plane.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class Served:
    """A control plane with two users, ``alice`` and ``bob``."""

    handle: ControlPlaneHandle
    clock: ManualClock
    alice: str
    bob: str

    @property
    def url(self) -> str:
        return self.handle.url

    def client(self, key: str | None = None, **kwargs: Any):
        return self.handle.client(key, timeout=10, **kwargs)


ServedFactory = Callable[..., Served]


@pytest.fixture
def serve_control_plane(tmp_path: Path, clock: ManualClock) -> Iterator[ServedFactory]:
    """Starts control planes on 127.0.0.1 (agents off unless asked), all stopped at the end."""
    started: list[ControlPlaneHandle] = []
    numbers = itertools.count(1)

    def start(
        db: str | None = None, rate_clock: Callable[[], float] | None = None, **overrides: Any
    ) -> Served:
        fields: dict[str, Any] = {"run_agents": False, "tick_seconds": 1.0, **overrides}
        settings = ControlPlaneSettings(db=db or str(tmp_path / f"cp-{next(numbers)}.db"), **fields)
        timing = {} if rate_clock is None else {"rate_clock": rate_clock}
        handle = start_control_plane(settings, clock=clock, **timing)
        started.append(handle)
        _, alice = handle.store.users.create(f"alice-{len(started)}")
        _, bob = handle.store.users.create(f"bob-{len(started)}")
        return Served(handle, clock, alice, bob)

    yield start
    for handle in reversed(started):
        handle.stop()


@pytest.fixture
def control_plane(serve_control_plane: ServedFactory) -> Served:
    return serve_control_plane()


STARTUP_TIMEOUT = 30.0


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], str]]:
    """Serves ASGI apps on real uvicorn servers on 127.0.0.1; gives each one's base URL."""
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(app: ASGIApp) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
