"""Fixtures of the fault matrix: one whole local world per test (marketplace, control plane,
moto) and stacks deployed on it through the driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dumont_iac.testing import Deployment
from dumont_iac.testing.failover import FailoverWorld


@pytest.fixture
def lab(world: Any) -> Iterator[FailoverWorld]:
    # moto's backends outlive one world's server: each test starts from an empty AWS.
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    with FailoverWorld(world) as lab:
        yield lab


@pytest.fixture
def stack_of(
    deployment_factory: Callable[..., Deployment], world: Any
) -> Callable[..., Deployment]:
    """A deployment of ``program`` on the world (``env`` adds to or overrides its exports)."""

    def make(program: Any, **kwargs: Any) -> Deployment:
        env = {**world.exports(), "DUMONT_PACING_SCALE": "0", "AWS_MAX_ATTEMPTS": "2"}
        kwargs["env"] = {**env, **kwargs.get("env", {})}
        kwargs.setdefault("call_timeout", 90.0)
        kwargs.setdefault("project", "faults")
        kwargs.setdefault("stack", "ci")
        return deployment_factory(program, **kwargs)

    return make
