"""A marketplace that misbehaves while a fleet is deployed: every run ends with exactly the
members the stack declares (no orphan that keeps billing, no member rented twice), and a rerun
adopts members it finds by label."""

from __future__ import annotations

import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.provider.renting import offer_filter_for
from dumont_iac.testing import DeploymentError
from dumont_iac.testing.market import Market, assert_rentals_match
from tests.faults.matrix import cell
from tests.gpu_instance.test_faults import Background, wait_until

from .helpers import RTX_3090, contracts, fleet, provider_log, set_config


@cell("GpuFleet", "offer_taken")
def test_offers_taken_between_search_and_rent_move_those_members_to_other_offers(
    stack_factory, gpu_sandbox, market: Market
):
    client = MarketplaceClient(gpu_sandbox.url, gpu_sandbox.api_key, pacing_scale=0)
    offers = client.search_offers(offer_filter_for(GpuFleetArgs(**RTX_3090, count=3)))
    by_machine = {offer.machine_id: offer for offer in reversed(offers)}
    first, second = sorted(by_machine.values(), key=lambda o: offers.index(o))[:2]
    # The rents of the two cheapest offers are held at the marketplace's door after the
    # provider searched; meanwhile another tenant takes both.
    for offer in (first, second):
        market.arm(method="PUT", path=f"/api/v0/asks/{offer.id}", kind="hang", seconds=1.5)
    stack = stack_factory(fleet(count=3), project="fleet-faults")
    running = Background(stack)
    wait_until(lambda: market.armed() == [], "both rents to start")
    market.take(first.id)
    market.take(second.id)
    result = running.join()
    assert result.names("created") == ["workers"]
    log = provider_log(stack)
    for offer in (first, second):
        assert f"offer {offer.id} was taken before it could be rented" in log
    assert len(market.instances()) == 3
    assert_rentals_match(market, stack)


@cell("GpuFleet", "dropped_response")
def test_dropped_rent_answers_are_recovered_by_label_not_rented_twice(stack_factory, market):
    market.arm(method="PUT", path="/api/v0/asks/*", kind="drop", times=2)
    stack = stack_factory(fleet(count=3), project="fleet-faults")
    assert stack.up().names("created") == ["workers"]
    assert market.armed() == []  # both answers were dropped
    assert provider_log(stack).count("(recovered by label)") == 2
    assert len(market.instances()) == 3
    assert_rentals_match(market, stack)


def test_a_member_stuck_loading_is_destroyed_and_the_fleet_settles_for_min_count(
    stack_factory, market
):
    market.fault("stalls", {"times": 1})
    stack = stack_factory(
        fleet(count=3, min_count=2, create_timeout_seconds=2), project="fleet-faults"
    )
    assert stack.up().names("created") == ["workers"]
    outputs = stack.state.by_name("workers").outputs
    assert outputs["running_count"] == 2 and len(contracts(stack)) == 2
    (missing,) = outputs["missing_members"]
    assert "was still 'loading'" in missing["reason"]
    assert "after 2 s (create_timeout_seconds)" in missing["reason"]
    assert len(market.instances()) == 2  # the stuck rental was destroyed
    assert_rentals_match(market, stack)

    again = stack.up()  # the stall was used up: the missing member is rented now
    assert again.names("updated") == ["workers"]
    assert (
        len(contracts(stack)) == 3
        and stack.state.by_name("workers").outputs["missing_members"] == []
    )
    assert_rentals_match(market, stack)


def test_fewer_members_than_min_count_destroys_every_member_and_fails(stack_factory, market):
    market.fault("stalls", {"times": 2})
    stack = stack_factory(
        fleet(count=3, min_count=2, create_timeout_seconds=2), project="fleet-faults"
    )
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "1 of 3 members ran, fewer than min_count 2" in message
    assert "was still 'loading'" in message and "nothing is left billing" in message
    assert market.instances() == [] and stack.state.resources == {}

    assert stack.up().names("created") == ["workers"]  # the stalls were used up
    assert_rentals_match(market, stack)


def test_members_without_a_matching_offer_are_listed_missing_with_the_reason(stack_factory, market):
    # Antarctica has no offers: member 1, spread there, cannot be rented.
    stack = stack_factory(
        fleet(count=2, min_count=1, regions=["EU", "AQ"], spread_regions=True, gpu_models=[]),
        project="fleet-faults",
    )
    assert stack.up().names("created") == ["workers"]
    outputs = stack.state.by_name("workers").outputs
    assert sorted(contracts(stack)) == [0]
    (missing,) = outputs["missing_members"]
    assert int(missing["index"]) == 1 and "no offer satisfies" in missing["reason"]
    assert len(market.instances()) == 1
    assert_rentals_match(market, stack)


@cell("GpuFleet", "provider_killed")
def test_a_provider_killed_mid_create_leaves_members_the_rerun_adopts(stack_factory, market):
    market.fault("stalls", {"times": 3})
    stack = stack_factory(fleet(count=3), project="fleet-faults")
    running = Background(stack)
    orphans = wait_until(lambda: len(market.managed()) == 3 and market.managed(), "3 rentals")
    assert {i["actual_status"] for i in orphans} <= {"created", "loading"}
    stack.provider.kill()  # as if the machine running `pulumi up` died
    failed = running.join()
    assert isinstance(failed, DeploymentError) and "exited" in str(failed)
    assert stack.state.resources == {}

    market.fault("stalls", method="DELETE")
    again = stack.up()
    assert again.names("created") == ["workers"]
    assert sorted(contracts(stack).values()) == sorted(i["id"] for i in orphans)
    assert provider_log(stack).count("found by its label") == 3
    assert "rented offer" not in provider_log(stack)
    assert_rentals_match(market, stack)


def test_a_scale_up_short_of_min_count_destroys_what_it_added(stack_factory, market):
    stack = stack_factory(fleet(count=2, create_timeout_seconds=2), project="fleet-faults")
    stack.up()
    before = contracts(stack)
    market.fault("stalls", {"times": 2})
    set_config(stack, count=4, min_count=3)
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    assert "2 of 4 members would run, fewer than min_count 3" in str(failed.value)
    assert "the fleet keeps its 2" in str(failed.value)
    assert contracts(stack) == before
    assert sorted(i["id"] for i in market.instances()) == sorted(before.values())
    assert_rentals_match(market, stack)


def test_a_scale_up_that_meets_min_count_keeps_what_ran_and_lists_the_rest(stack_factory, market):
    stack = stack_factory(fleet(count=2, create_timeout_seconds=2), project="fleet-faults")
    stack.up()
    before = contracts(stack)
    market.fault("stalls", {"times": 1})
    set_config(stack, count=4, min_count=3)
    assert stack.up().names("updated") == ["workers"]
    outputs = stack.state.by_name("workers").outputs
    after = contracts(stack)
    assert len(after) == 3 and {i: after[i] for i in before} == before
    (missing,) = outputs["missing_members"]
    assert int(missing["index"]) not in after and "was still 'loading'" in missing["reason"]
    assert len(market.instances()) == 3
    assert_rentals_match(market, stack)
