"""Fixtures of the snapshot and hibernation tests: moto's server alone (for the S3 client), and
the world with AWS credentials and the control plane's key in this process's environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dumont_iac.sandbox.world import AWS_CREDENTIALS


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in AWS_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def world_env(world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The world, with its exports in this process (the control plane runs in it and reaches
    moto through boto3's own settings, as a deployed one would)."""
    for name, value in world.exports().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUMONT_PACING_SCALE", "0")
    return world
