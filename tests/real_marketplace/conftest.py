"""The cost-capped scenarios' targets: the local world for every CI run, and the real
marketplace with ``--real-marketplace`` and credentials (every real test skips otherwise).

The real target sweeps its run's label prefix once before the suite and once after it, whatever
the tests did; a sandbox target has a world of its own per test and is swept after each."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from dumont_iac.clients.aws.tagged_vms import aws_configured
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient

from .target import GB, SANDBOX_MAX_COST, Target

REAL = pytest.param("real", marks=pytest.mark.real_marketplace, id="real")


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """One label prefix per run, so the sweeper touches this run's rentals only."""
    return f"ci-run-{os.environ.get('GITHUB_RUN_ID') or secrets.token_hex(4)}"


def _caps(config: pytest.Config) -> dict[str, float]:
    return {
        "max_cost": config.getoption("--max-cost"),
        "max_size_bytes": int(config.getoption("--max-size") * GB),
        "failover_timeout": config.getoption("--failover-timeout"),
    }


@pytest.fixture(scope="session")
def real_target(request: pytest.FixtureRequest, run_prefix: str) -> Iterator[Target]:
    if not request.config.getoption("--real-marketplace"):
        pytest.skip("the real marketplace runs only with --real-marketplace (it rents GPUs)")
    if not os.environ.get("VAST_API_KEY"):
        pytest.skip("--real-marketplace needs VAST_API_KEY (a Vast.ai API key)")
    caps = _caps(request.config)
    control_plane = ControlPlaneClient() if os.environ.get("DUMONT_API_URL") else None
    target = Target(
        name="real",
        prefix=run_prefix,
        max_cost=caps["max_cost"],
        max_size_bytes=int(caps["max_size_bytes"]),
        failover_timeout=caps["failover_timeout"],
        env={},
        market=MarketplaceClient(),
        control_plane=control_plane,
        aws=aws_configured(),
    )
    target.sweep_clean()  # what an earlier, interrupted run of this prefix left
    yield target
    target.sweep_clean()  # runs when a test failed too: a session fixture's teardown


@pytest.fixture(params=["sandbox", REAL])
def target(
    request: pytest.FixtureRequest, run_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    if request.param == "real":
        yield request.getfixturevalue("real_target")
        return
    world: Any = request.getfixturevalue("world")
    # The control plane runs in this process and reaches moto through boto3's environment.
    for name, value in world.exports().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUMONT_PACING_SCALE", "0")
    caps = _caps(request.config)
    target = Target(
        name="sandbox",
        prefix=run_prefix,
        max_cost=SANDBOX_MAX_COST,
        max_size_bytes=int(caps["max_size_bytes"]),
        failover_timeout=caps["failover_timeout"],
        env={**world.exports(), "DUMONT_PACING_SCALE": "0"},
        market=MarketplaceClient(pacing_scale=0),
        control_plane=ControlPlaneClient(),
        s3_endpoint=world.aws.url,
        world=world,
    )
    target.sweep_clean()
    yield target
    target.sweep_clean()
