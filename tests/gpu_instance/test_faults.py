"""A marketplace that misbehaves during a deploy: every run ends with exactly the rentals the
stack declares, never an orphan that keeps billing and never a second rental of one GPU."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dumont_iac import GpuInstance, GpuInstanceArgs
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.provider.labels import rental_label
from dumont_iac.provider.renting import MAX_OFFERS_TRIED, offer_filter_for, rent_cheapest
from dumont_iac.testing import Deployment, DeploymentError
from dumont_iac.testing.market import Market, assert_rentals_match
from tests.faults.matrix import cell

RTX_3090 = {"image": "ubuntu:22.04", "gpu_models": ["RTX 3090"], "max_price_per_hour": 1.0}


def gpus(count: int, **args: Any) -> Callable[[], None]:
    def program() -> None:
        for n in range(count):
            GpuInstance(f"gpu-{n}", **{**RTX_3090, **args})

    return program


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Background:
    """Runs ``deployment.up()`` in a thread, keeping its result or error."""

    def __init__(self, deployment: Deployment) -> None:
        self.outcome: list[Any] = []
        self.thread = threading.Thread(target=self._run, args=(deployment,), daemon=True)
        self.thread.start()

    def _run(self, deployment: Deployment) -> None:
        try:
            self.outcome.append(deployment.up())
        except BaseException as exc:
            self.outcome.append(exc)

    def join(self) -> Any:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the deploy did not finish"
        return self.outcome[0]


def provider_log(deployment: Deployment) -> str:
    return deployment.provider_logs[-1]


@cell("GpuInstance", "offer_taken")
def test_an_offer_taken_between_search_and_rent_moves_to_the_next(
    stack_factory, gpu_sandbox, market: Market
):
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    wanted = offer_filter_for(GpuInstanceArgs(**RTX_3090))
    first, second = client.search_offers(wanted, cached=False)[:2]
    # The provider's rent of the cheapest offer is held for a moment at the marketplace's door,
    # after the provider searched; meanwhile another tenant takes that offer.
    market.fault(
        "faults", {"method": "PUT", "path": f"/api/v0/asks/{first.id}", "kind": "hang",
                   "seconds": 1.5}
    )  # fmt: skip
    stack = stack_factory(gpus(1), project="faults")
    running = Background(stack)
    wait_until(lambda: market.fault("faults", method="GET")["faults"] == [], "the rent to start")
    market.fault(f"offers/{first.id}/take")
    result = running.join()
    assert result.names("created") == ["gpu-0"]
    (rental,) = market.managed()
    assert rental["machine_id"] == second.machine_id != first.machine_id
    assert f"offer {first.id} was taken before it could be rented" in provider_log(stack)
    assert_rentals_match(market, stack)


def test_a_listing_gone_stale_under_many_takes_is_searched_afresh_before_giving_up(
    gpu_sandbox, market: Market
):
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    args = GpuInstanceArgs(**RTX_3090)
    listed = client.search_offers(offer_filter_for(args), cached=True)  # the shared listing
    stale = {offer.id for offer in listed[:MAX_OFFERS_TRIED]}
    for offer_id in stale:  # other tenants rent them (or a slice of their machine)
        taken = market.http.post(f"/_sandbox/offers/{offer_id}/take")
        assert taken.status_code == 200 or "no_such_ask" in taken.text, taken.text
    contract = rent_cheapest(client, args, rental_label("gpu-0123456789ab", None))
    (rental,) = market.managed()
    assert rental["id"] == contract and market.search({"id": {"in": sorted(stale)}}) == []


@cell("GpuInstance", "dropped_response")
def test_dropped_rent_answers_are_recovered_by_label_not_rented_twice(stack_factory, market):
    market.fault("faults", {"method": "PUT", "path": "/api/v0/asks/*", "kind": "drop", "times": 2})
    stack = stack_factory(gpus(2), project="faults")
    result = stack.up()
    assert result.names("created") == ["gpu-0", "gpu-1"]
    assert market.fault("faults", method="GET")["faults"] == []  # both answers were dropped
    assert provider_log(stack).count("(recovered by label)") == 2
    assert len(market.instances()) == 2
    assert_rentals_match(market, stack)


def test_a_rental_stuck_loading_past_the_create_timeout_is_destroyed(stack_factory, market):
    market.fault("stalls", {"times": 1})
    stack = stack_factory(gpus(1, create_timeout_seconds=2), project="faults")
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "was still 'loading'" in message and "after 2 s (create_timeout_seconds)" in message
    assert "was destroyed, so nothing is left billing" in message
    assert market.instances() == [] and stack.state.resources == {}

    again = stack.up()  # the stall was used up: the next rental loads as usual
    assert again.names("created") == ["gpu-0"]
    assert_rentals_match(market, stack)


@cell("GpuInstance", "provider_killed")
def test_a_provider_killed_mid_create_leaves_rentals_the_rerun_adopts(stack_factory, market):
    market.fault("stalls", {"times": 3})
    stack = stack_factory(gpus(3), project="faults")
    running = Background(stack)
    orphans = wait_until(lambda: len(market.managed()) == 3 and market.managed(), "3 rentals")
    assert {i["actual_status"] for i in orphans} <= {"created", "loading"}
    stack.provider.kill()  # as if the machine running `pulumi up` died
    failed = running.join()
    assert isinstance(failed, DeploymentError) and "exited" in str(failed)
    assert stack.state.resources == {}

    market.fault("stalls", method="DELETE")
    again = stack.up()
    assert again.names("created") == ["gpu-0", "gpu-1", "gpu-2"]
    assert sorted(i["id"] for i in market.instances()) == sorted(i["id"] for i in orphans)
    assert provider_log(stack).count("found by its label") == 3
    assert "rented offer" not in provider_log(stack)
    assert_rentals_match(market, stack)


def test_gpus_that_fail_to_start_are_destroyed_and_the_others_kept(stack_factory, market):
    # One of two GPUs stalls: the deploy fails for it alone; the healthy one stays deployed.
    market.fault("stalls", {"times": 1})
    stack = stack_factory(gpus(2, create_timeout_seconds=3), project="faults")
    with pytest.raises(DeploymentError):
        stack.up()
    assert len(stack.state.resources) == 1
    assert_rentals_match(market, stack)
    assert stack.up().counts["created"] == 1
    assert_rentals_match(market, stack)
