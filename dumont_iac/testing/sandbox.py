"""Pytest fixtures that serve a sandbox marketplace over real HTTP for the length of a test.

Enable them with ``pytest_plugins = ["dumont_iac.testing.sandbox"]`` in a ``conftest.py``:

    def test_rent(sandbox):
        with sandbox.client() as http:
            offers = http.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"]

``sandbox`` is a small market (300 machines) on a temporary SQLite file, with rate limits off and
a clock running 60 times faster than real time. ``sandbox_factory(**settings)`` starts more
sandboxes, each with any ``SandboxSettings`` field overridden; all stop when the test ends.
``world`` is the whole local world on free ports: such a marketplace, the control plane acting
on it, and moto's server for AWS (``world.exports()`` gives the environment a client needs).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the server (FastAPI, uvicorn) loads only in tests that use a sandbox
    from dumont_iac.sandbox.server import SandboxHandle
    from dumont_iac.sandbox.world import World

TEST_DEFAULTS: dict[str, Any] = {
    "machines": 300,
    "rate_limits": "off",
    "speed": 60.0,
    "api_key": "sandbox-test-key",
}

SandboxFactory = Callable[..., "SandboxHandle"]


@pytest.fixture(scope="session")
def _seeded_markets(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple, Path]:
    """Seeded database files, one per market shape, that each sandbox starts from a copy of:
    seeding costs more than copying, and every test would otherwise seed the same market."""
    return {}


@pytest.fixture
def sandbox_factory(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, _seeded_markets: dict[tuple, Path]
) -> Iterator[SandboxFactory]:
    from dumont_iac.sandbox.core.clock import Clock
    from dumont_iac.sandbox.marketplace.store import Store
    from dumont_iac.sandbox.server import start_sandbox
    from dumont_iac.sandbox.settings import SandboxSettings

    started: list[SandboxHandle] = []
    numbers = itertools.count(1)

    def start(**overrides: Any) -> SandboxHandle:
        fields = {**TEST_DEFAULTS, **overrides}
        if "db_path" not in fields:
            fields["db_path"] = str(tmp_path / f"sandbox-{next(numbers)}.db")
            settings = SandboxSettings(**fields)
            shape = (settings.seed, settings.machines, settings.api_key, settings.starting_credit)
            if shape not in _seeded_markets:
                template = tmp_path_factory.mktemp("seeded") / "market.db"
                Store(replace(settings, db_path=str(template)), Clock()).close()
                _seeded_markets[shape] = template
            shutil.copyfile(_seeded_markets[shape], settings.db_path)
        handle = start_sandbox(SandboxSettings(**fields))
        started.append(handle)
        return handle

    yield start
    for handle in reversed(started):
        handle.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return sandbox_factory()


@pytest.fixture
def world(
    tmp_path: Path, _seeded_markets: dict[tuple, Path], tmp_path_factory: Any
) -> Iterator[World]:
    from dumont_iac.sandbox.settings import SandboxSettings
    from dumont_iac.sandbox.world import running_world

    path = tmp_path / "world-market.db"
    settings = SandboxSettings(db_path=str(path), **TEST_DEFAULTS)
    with running_world(settings, control_plane_db=str(tmp_path / "world-control-plane.db")) as w:
        yield w


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's server alone on a free port of 127.0.0.1, shared by a module's tests (its first
    call into a region builds that region's backend, which takes seconds)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
