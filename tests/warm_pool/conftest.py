"""Fixtures of the WarmPool tests: the whole local world (sandbox marketplace, control plane,
moto), deployments whose provider reaches it, and the market and control plane seen from the
test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.testing import Deployment
from dumont_iac.testing.market import Market


@pytest.fixture
def market(world: Any) -> Iterator[Market]:
    with Market(world.marketplace) as view:
        yield view


@pytest.fixture
def control_plane(world: Any) -> ControlPlaneClient:
    return ControlPlaneClient(world.control_plane.url, world.control_plane_key)


@pytest.fixture
def pool_stack(
    deployment_factory: Callable[..., Deployment], world: Any
) -> Callable[..., Deployment]:
    def make(program: Any, *, env: dict[str, str] | None = None, **kwargs: Any) -> Deployment:
        exports = {k: v for k, v in world.exports().items() if not k.startswith("AWS")}
        kwargs.setdefault("call_timeout", 90.0)
        return deployment_factory(
            program,
            project="pool",
            env={**exports, "DUMONT_PACING_SCALE": "0", **(env or {})},
            **kwargs,
        )

    return make
