"""Fixtures of the snapshot and hibernation tests: moto's server alone (for the S3 client), and
the world with AWS credentials and the control plane's key in this process's environment."""

from __future__ import annotations

from typing import Any

import pytest

from dumont_iac.sandbox.world import AWS_CREDENTIALS


@pytest.fixture
def moto_url(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's server, with this process's credentials pointed at it (the endpoint is given to
    each client explicitly)."""
    for name, value in AWS_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return moto_server


@pytest.fixture
def world_env(world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The world, with its exports in this process (the control plane runs in it and reaches
    moto through boto3's own settings, as a deployed one would)."""
    for name, value in world.exports().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUMONT_PACING_SCALE", "0")
    return world
