"""The marketplace failing while every resource is deployed at once (``every_resource``).

Each fault reaches every row in one deploy: the rentals of the GPU, the fleet and the pool
meet it themselves, and the policies, the standby and the budget meet it through the GPU
their stack holds. A deploy that survives the fault must end exactly as declared; one that
fails must say what happened and what to do, and the next ``up`` (what a user runs) must
converge. Either way the destroy leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dumont_iac import GpuInstanceArgs
from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.provider.renting import offer_filter_for
from dumont_iac.testing import Deployment, DeploymentError
from dumont_iac.testing.failover import FailoverWorld
from dumont_iac.testing.market import Market
from tests.faults import stacks
from tests.faults.matrix import RESOURCES, cell
from tests.faults.stacks import assert_as_declared, assert_nothing_left, every_resource
from tests.gpu_instance.test_faults import Background, wait_until
from tests.gpu_instance.test_outages import LOOSE_PACING, STRICT_LIMITS, limits_off, refusals
from tests.warm_pool.helpers import take_free_gpus

ASKS = "/api/v0/asks/*"


def every_row(fault: str) -> Callable[[Any], Any]:
    """The marks of a test proving ``fault`` for every row of the matrix."""

    def mark(test: Any) -> Any:
        for resource in RESOURCES:
            test = cell(resource, fault)(test)
        return test

    return mark


@pytest.fixture
def market(lab: FailoverWorld):
    with Market(lab.world.marketplace) as view:
        yield view


def provider_log(stack: Deployment) -> str:
    return "\n".join(stack.provider_logs)


def ends_as_declared_then_leaves_nothing(lab: FailoverWorld, stack: Deployment) -> None:
    assert_as_declared(lab, stack)
    assert stack.destroy().counts["deleted"] == len(RESOURCES)
    assert_nothing_left(lab)


def failed_then_converges(lab: FailoverWorld, stack: Deployment) -> None:
    """What the failed deploy kept is exactly what its state declares; the next ``up``
    creates the rest, and the stack's destroy leaves nothing."""
    assert_as_declared(lab, stack, refresh=False)
    kept = len(stack.state.resources)
    assert stack.up().counts["created"] == len(RESOURCES) - kept
    ends_as_declared_then_leaves_nothing(lab, stack)


def take_if_listed(market: Market, offer_id: int) -> None:
    """Another tenant rents the offer, unless a rental on its machine already re-listed it."""
    taken = market.http.post(f"/_sandbox/offers/{int(offer_id)}/take")
    assert taken.status_code == 200 or "no_such_ask" in taken.text, taken.text


@every_row("offer_taken")
def test_offers_taken_between_search_and_rent_leave_every_resource_as_declared(
    lab, stack_of, market
):
    cheapest = {
        offer.id
        for args in (GpuInstanceArgs(**stacks.GPU), GpuFleetArgs(**stacks.GPU, count=2))
        for offer in lab.market.search_offers(offer_filter_for(args), cached=False)[:3]
    }
    # Every rent is held at the marketplace's door after the provider searched; meanwhile
    # another tenant takes the cheapest offers, then every free GPU of the pool's machine.
    market.arm(method="PUT", path=ASKS, kind="hang", seconds=2, times=1000)
    stack = stack_of(every_resource)
    running = Background(stack)
    wait_until(lambda: market.armed()[0]["remaining"] < 1000, "the first rent", timeout=30)
    for offer_id in cheapest:
        take_if_listed(market, offer_id)
    (volume,) = wait_until(lab.market.volumes, "the pool's volume", timeout=30)
    assert volume.machine_id is not None
    take_free_gpus(market, volume.machine_id)
    market.fault("faults", method="DELETE")
    result = running.join()
    assert not isinstance(result, BaseException), result
    assert result.counts["created"] == len(RESOURCES)
    log = provider_log(stack)
    assert log.count("was taken before it could be rented") >= 3, log
    assert f"machine {volume.machine_id} lost room (its GPUs were taken" in log
    ends_as_declared_then_leaves_nothing(lab, stack)


@every_row("dropped_response")
def test_answers_dropped_after_the_marketplace_acted_are_recovered_never_acted_on_twice(
    lab, stack_of, market
):
    # The marketplace rents and creates the pool's volume, and the answers are lost on the way
    # back; later it destroys, and those answers are lost too.
    market.arm(method="PUT", path=ASKS, kind="drop", times=3)
    market.arm(method="PUT", path="/api/v0/volumes", kind="drop")
    stack = stack_of(every_resource)
    assert stack.up().counts["created"] == len(RESOURCES)
    assert market.armed() == []
    log = provider_log(stack)
    assert log.count("(recovered by label)") == 3 and "(recovered by name)" in log, log
    assert_as_declared(lab, stack)

    market.arm(method="DELETE", path="/api/v0/instances/*", kind="drop", times=3)
    market.arm(method="DELETE", path="/api/v0/volumes", kind="drop")
    assert stack.destroy().counts["deleted"] == len(RESOURCES)
    assert market.armed() == []
    assert_nothing_left(lab)


# Each kind of call fails twice: one fewer than the fewest tries any call gets (a rent's
# three, each after looking its label up), wherever the failures land among parallel calls.
UP_CALLS = [("POST", "/api/v0/bundles"), ("PUT", ASKS), ("GET", "/api/v0/instances"),
            ("GET", "/api/v0/instances/*"), ("POST", "/api/v0/volumes/search"),
            ("PUT", "/api/v0/volumes")]  # fmt: skip
DESTROY_CALLS = [("DELETE", "/api/v0/instances/*"), ("DELETE", "/api/v0/volumes")]


@every_row("5xx_burst")
def test_bursts_of_5xx_on_every_kind_of_call_are_outlasted_and_nothing_is_made_twice(
    lab, stack_of, market
):
    for method, path in UP_CALLS:
        market.arm(method=method, path=path, kind="error", status=503, times=2)
    stack = stack_of(every_resource)
    assert stack.up().counts["created"] == len(RESOURCES)
    assert market.armed() == [], market.armed()  # every burst was answered
    assert provider_log(stack).count("status=503") >= 2 * len(UP_CALLS) - 2  # some: agents'
    assert_as_declared(lab, stack)

    for method, path in DESTROY_CALLS:
        market.arm(method=method, path=path, kind="error", status=500, times=2)
    assert stack.destroy().counts["deleted"] == len(RESOURCES)
    assert market.armed() == []
    assert_nothing_left(lab)


@every_row("429_storm")
def test_a_storm_of_429s_from_a_strict_marketplace_ends_with_the_stack_as_declared(
    lab, stack_of, market
):
    strict = {"rate_limits": STRICT_LIMITS}
    market.fault("rate-limits", strict, method="PUT")
    stack = stack_of(every_resource, env={"DUMONT_PACING_SCALE": LOOSE_PACING})
    assert stack.up().counts["created"] == len(RESOURCES)
    assert refusals(stack) > 0  # the marketplace's limits were stricter than the pacing
    limits_off(market)
    assert_as_declared(lab, stack)

    market.fault("rate-limits", strict, method="PUT")
    assert stack.destroy().counts["deleted"] == len(RESOURCES)
    assert refusals(stack) > 0
    limits_off(market)
    assert_nothing_left(lab)


@every_row("hang")
def test_a_marketplace_that_hangs_on_every_look_at_a_rental_fails_the_gpus_then_up_converges(
    lab, stack_of, market, monkeypatch
):
    # The stack's GPUs give up after 3 s; every look at one rental hangs far longer.
    monkeypatch.setitem(stacks.GPU, "create_timeout_seconds", 3)
    market.arm(method="GET", path="/api/v0/instances/*", kind="hang", seconds=10, times=1000)
    stack = stack_of(every_resource)
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    market.fault("faults", method="DELETE")
    assert all("left billing" in str(e) for e in failed.value.errors), failed.value.errors
    message = str(failed.value)
    assert "the marketplace did not answer about contract" in message, message
    assert "within 3 s (create_timeout_seconds)" in message
    assert "Deploy again once it answers, or raise create_timeout_seconds" in message
    assert "nothing is left billing" in message
    failed_then_converges(lab, stack)


@every_row("provider_killed")
def test_a_provider_killed_mid_deploy_leaves_rentals_the_next_up_adopts(lab, stack_of, market):
    market.fault("stalls", {"times": 5})  # the rentals stay loading: the deploy is mid-way
    stack = stack_of(every_resource)
    running = Background(stack)
    wait_until(lambda: len(market.managed()) == 5, "every rental", timeout=60)
    stack.provider.kill()  # as if the machine running `pulumi up` died
    failed = running.join()
    assert isinstance(failed, DeploymentError), failed
    assert "exited" in str(failed)
    left = {i["id"] for i in market.managed()}
    market.fault("stalls", method="DELETE")
    # The rerun (what a user does) finds what the dead provider rented instead of renting anew.
    kept = len(stack.state.resources)
    assert stack.up().counts["created"] == len(RESOURCES) - kept
    log = provider_log(stack)
    assert log.count("found by its label") >= 3, log  # the GPU and both fleet members
    ends_as_declared_then_leaves_nothing(lab, stack)
    assert left  # what the kill left was either adopted above or removed, never kept billing


@every_row("sandbox_restart")
def test_a_marketplace_restarting_mid_deploy_leaves_the_stack_as_declared(lab, stack_of, market):
    market.fault("stalls", {"times": 5})  # the rentals stay loading: the deploy is mid-way
    stack = stack_of(every_resource)
    running = Background(stack)
    wait_until(lambda: len(market.managed()) == 5, "every rental", timeout=60)
    lab.world.marketplace.restart()
    market.fault("stalls", method="DELETE")
    result = running.join()
    assert not isinstance(result, BaseException), result
    ends_as_declared_then_leaves_nothing(lab, stack)
