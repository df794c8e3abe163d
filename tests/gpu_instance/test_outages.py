"""A marketplace in trouble during a deploy: failing destroys, rate-limit storms, a rental that
cannot be looked at, a refused deploy run again at once. Every run ends with exactly the
rentals the stack declares, and after a destroy nothing bills."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dumont_iac import GpuInstance
from dumont_iac.testing import Deployment, DeploymentError
from dumont_iac.testing.market import Market, assert_rentals_match
from tests.faults.matrix import cell

from .helpers import CLEAN_ENV, SANDBOX

RTX_3090 = {"image": "ubuntu:22.04", "gpu_models": ["RTX 3090"], "max_price_per_hour": 1.0}
# Stricter than the provider's pacing: its gaps are 6% of the marketplace's, the provider
# paces itself to 2% of them, so it is refused (429) until it learns the server's gaps.
STRICT_LIMITS = "0.06"
LOOSE_PACING = "0.02"


def gpus(count: int, **args: Any) -> Callable[[], None]:
    def program() -> None:
        for n in range(count):
            GpuInstance(f"gpu-{n}", **{**RTX_3090, **args})

    return program


def assert_spend_flat_after(market: Market) -> None:
    """Nothing of the stack is left renting, and a day later the credit has not moved."""
    assert market.managed() == []
    before = market.credit()
    market.advance(24 * 3600)
    assert market.credit() == before


def refusals(deployment: Deployment) -> int:
    return deployment.provider_logs[-1].count("status=429")


@pytest.fixture
def strict_sandbox(sandbox_factory: Any) -> Any:
    return sandbox_factory(**{**SANDBOX, "rate_limits": STRICT_LIMITS})


@pytest.fixture
def strict_market(strict_sandbox: Any) -> Iterator[Market]:
    with Market(strict_sandbox) as view:
        yield view


@pytest.fixture
def strict_stack(
    deployment_factory: Callable[..., Deployment], strict_sandbox: Any
) -> Callable[..., Deployment]:
    def make(program: Any) -> Deployment:
        return deployment_factory(
            program,
            project="outages",
            config={"dumont:vastUrl": strict_sandbox.url},
            secret_config={"dumont:vastApiKey": strict_sandbox.api_key},
            env={**CLEAN_ENV, "DUMONT_PACING_SCALE": LOOSE_PACING},
            call_timeout=120.0,
        )

    return make


def limits_off(market: Market) -> None:
    """The test's own look at the market is not rate limited (the provider's runs were)."""
    market.fault("rate-limits", {"rate_limits": "off"}, method="PUT")


@cell("GpuInstance", "5xx_burst")
def test_a_burst_of_500s_during_destroy_is_retried_until_every_gpu_is_gone(stack_factory, market):
    stack = stack_factory(gpus(2), project="outages")
    assert stack.up().names("created") == ["gpu-0", "gpu-1"]
    market.arm(method="DELETE", path="/api/v0/instances/*", kind="error", status=500, times=3)

    result = stack.destroy()
    assert result.names("deleted") == ["gpu-0", "gpu-1"]
    assert market.armed() == []  # all three 500s were answered to the provider
    assert stack.provider_logs[-1].count("status=500") == 3
    assert stack.state.resources == {}
    assert_rentals_match(market, stack)
    assert_spend_flat_after(market)


@cell("GpuInstance", "429_storm")
def test_a_429_storm_during_up_ends_with_exactly_the_declared_gpus(strict_stack, strict_market):
    stack = strict_stack(gpus(3))
    result = stack.up()
    assert result.names("created") == ["gpu-0", "gpu-1", "gpu-2"]
    assert refusals(stack) > 0  # the server's limits were stricter than the provider's pacing
    limits_off(strict_market)
    assert_rentals_match(strict_market, stack)

    limits_on = {"rate_limits": STRICT_LIMITS}
    strict_market.fault("rate-limits", limits_on, method="PUT")
    assert stack.destroy().names("deleted") == ["gpu-0", "gpu-1", "gpu-2"]
    limits_off(strict_market)
    assert_rentals_match(strict_market, stack)
    assert_spend_flat_after(strict_market)


def test_a_hanging_show_instance_fails_the_create_and_leaves_nothing_billing(stack_factory, market):
    # Every look at one rental hangs far longer than the create may take.
    market.arm(method="GET", path="/api/v0/instances/*", kind="hang", seconds=60, times=1000)
    stack = stack_factory(gpus(1, create_timeout_seconds=3), project="outages")
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "the marketplace did not answer about contract" in message, message
    assert "within 3 s (create_timeout_seconds)" in message
    assert "was destroyed, so nothing is left billing" in message
    market.fault("faults", method="DELETE")
    assert stack.state.resources == {}
    assert_rentals_match(market, stack)
    assert_spend_flat_after(market)


@cell("GpuInstance", "429_storm")
def test_an_up_refused_as_too_frequent_succeeds_when_run_again_at_once(strict_stack, strict_market):
    # Every attempt to rent is refused as too frequent, more often than the provider retries.
    strict_market.arm(method="PUT", path="/api/v0/asks/*", kind="error", status=429, times=8)
    stack = strict_stack(gpus(1))
    with pytest.raises(DeploymentError) as refused:
        stack.up()
    assert "as too frequent" in str(refused.value), str(refused.value)
    assert stack.state.resources == {}
    limits_off(strict_market)
    assert strict_market.armed() == [] and strict_market.managed() == []

    strict_market.fault("rate-limits", {"rate_limits": STRICT_LIMITS}, method="PUT")
    again = stack.up()  # right away: the server's lock-out after the refusals is waited out
    assert again.names("created") == ["gpu-0"]
    limits_off(strict_market)
    assert_rentals_match(strict_market, stack)
    assert stack.destroy().names("deleted") == ["gpu-0"]
    assert_spend_flat_after(strict_market)
