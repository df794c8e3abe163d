"""Fixtures of the GpuInstance tests: a small, fast sandbox and deployments pointed at it.

The sandbox clock runs 200 times faster than real time (a rental loads in a fraction of a
second), its rate limits are off and the provider's pacing is scaled to zero, so each deploy
takes about a second. What the provider did is always checked on the sandbox itself, over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dumont_iac.testing import Deployment
from dumont_iac.testing.market import Market

from .helpers import CLEAN_ENV, SANDBOX


@pytest.fixture
def gpu_sandbox(sandbox_factory: Any) -> Any:
    return sandbox_factory(**SANDBOX)


@pytest.fixture
def market(gpu_sandbox: Any) -> Iterator[Market]:
    with Market(gpu_sandbox) as view:
        yield view


@pytest.fixture
def stack_factory(
    deployment_factory: Callable[..., Deployment], gpu_sandbox: Any
) -> Callable[..., Deployment]:
    """Deployments whose provider reaches the sandbox through Pulumi config (dumont:*)."""

    def make(program: Any, **kwargs: Any) -> Deployment:
        kwargs.setdefault("config", {})
        kwargs["config"] = {"dumont:vastUrl": gpu_sandbox.url, **kwargs["config"]}
        kwargs["secret_config"] = {
            "dumont:vastApiKey": gpu_sandbox.api_key,
            **kwargs.get("secret_config", {}),
        }
        kwargs["env"] = {**CLEAN_ENV, **kwargs.get("env", {})}
        kwargs.setdefault("call_timeout", 60.0)
        return deployment_factory(program, **kwargs)

    return make
