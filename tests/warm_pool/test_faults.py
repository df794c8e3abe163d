"""What a WarmPool does when the outside world fails it: a GPU that never runs, a machine
without room, a marketplace that refuses rentals, another renter taking the machine's GPUs
mid-placement, no control plane. Each ends with nothing billing and an error that says why."""

from __future__ import annotations

import logging

import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.models.warm_pool import WarmPoolArgs
from dumont_iac.provider import pool_placement
from dumont_iac.provider.labels import rental_label, standby_id
from dumont_iac.provider.pool_rentals import pool_rentals
from dumont_iac.provider.warm_pool import pool_id_for
from dumont_iac.testing import DeploymentError
from dumont_iac.testing.market import assert_nothing_bills, assert_rentals_match

from .helpers import (
    RTX_3090,
    pool,
    registered_pools,
    take_free_gpus,
)


def test_a_primary_that_never_runs_removes_the_whole_pool_and_registers_nothing(
    pool_stack, market, world
):
    market.fault("stalls", {"times": 1})
    stack = pool_stack(pool(standbys=2, create_timeout_seconds=3))
    with pytest.raises(DeploymentError, match=r"nothing was left billing") as failed:
        stack.up()
    assert "was still 'loading'" in str(failed.value)
    assert registered_pools(world) == {}
    assert_nothing_bills(market)


def test_a_marketplace_refusing_rentals_leaves_no_volume_behind(pool_stack, market):
    market.arm(method="PUT", path="/api/v0/asks/*", kind="error", status=503, times=3)
    stack = pool_stack(pool())
    with pytest.raises(DeploymentError, match=r"nothing was left billing"):
        stack.up()
    assert_nothing_bills(market)


def test_no_machine_with_room_for_every_standby_is_a_clear_error_naming_standbys(
    pool_stack, market
):
    stack = pool_stack(pool(standbys=7, gpu_count=2))
    with pytest.raises(DeploymentError, match=r"no machine has 16 free GPUs") as failed:
        stack.up()
    assert "standbys=7" in str(failed.value) and "lower standbys" in str(failed.value)
    assert_nothing_bills(market)


def test_without_a_control_plane_nothing_is_rented_and_the_error_names_the_setting(
    pool_stack, market
):
    stack = pool_stack(pool(), env={"DUMONT_API_URL": "http://127.0.0.1:9"})
    with pytest.raises(DeploymentError, match=r"DUMONT_API_URL") as failed:
        stack.up()
    assert "dumont:apiUrl" in str(failed.value) and "Nothing was rented" in str(failed.value)
    assert_nothing_bills(market)


def test_gpus_taken_mid_placement_move_the_pool_to_the_next_machine(
    world, market, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="dumont_iac.provider")
    for name, value in world.exports().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DUMONT_PACING_SCALE", "0")
    args = _args(standbys=1)
    pool_id = pool_id_for(args)
    client = MarketplaceClient()
    candidates = pool_placement.hosts(client, args)
    crowded = candidates[0].machine_id
    # Between the search and the rentals another renter takes all but one GPU's worth of
    # the first machine: the primary gets the last of them, the standby finds none.
    take_free_gpus(market, crowded, leave=1)
    placement = pool_placement.place_on_first(client, args, pool_id, candidates)
    assert placement.machine_id != crowded
    assert f"machine {crowded} lost room (its GPUs were taken before standby 1" in caplog.text
    held = pool_rentals(client.instances(), pool_id)
    assert held.primary is not None and held.primary.machine_id == placement.machine_id
    assert [i.machine_id for i in held.standbys.values()] == [placement.machine_id]
    assert not any(i["machine_id"] == crowded for i in market.instances())
    assert [v["machine_id"] for v in market.volumes()] == [placement.machine_id]


def _args(**changes: object) -> WarmPoolArgs:
    return WarmPoolArgs.model_validate({**RTX_3090, "logical_name": "pool/ci/train", **changes})


def test_what_an_interrupted_deploy_left_is_removed_before_the_pool_is_placed(
    pool_stack, market, world
):
    pool_id = pool_id_for(_args(logical_name="pool/dev/train"))
    client = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    (offer_id,) = market.cheap_offer_ids(1)
    left = client.rent(offer_id, RentRequest(image="ubuntu:22.04", target_state="stopped"),
                       label=rental_label(standby_id(pool_id, 1), None)).instance_id  # fmt: skip
    stack = pool_stack(pool())
    stack.up()
    assert stack.state.by_name("train").id == pool_id
    assert left not in {i["id"] for i in market.instances()}
    assert_rentals_match(market, stack)
    assert len(market.volumes()) == 1
