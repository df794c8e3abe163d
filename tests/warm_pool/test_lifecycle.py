"""WarmPools deployed, refreshed, failed over (by hand, as the control plane does it), changed
and destroyed through the engine-protocol driver, every effect checked on the sandbox and the
control plane."""

from __future__ import annotations

from dumont_iac.provider.labels import rental_label, standby_id
from dumont_iac.testing.market import assert_nothing_bills, assert_rentals_match

from .helpers import (
    hold_lease,
    outputs,
    pool,
    registered_pools,
    relabel,
    set_config,
    take_free_gpus,
    write_agent_state,
)


def test_up_places_a_primary_and_stopped_standbys_on_one_machine_with_one_volume(
    pool_stack, market, control_plane, world
):
    stack = pool_stack(pool(standbys=2, label="train"))
    assert stack.up().names("created") == ["train"]
    pool_id = stack.state.by_name("train").id
    assert pool_id.startswith("pool-")
    out = outputs(stack)
    rentals = {i["label"]: i for i in market.managed()}
    primary = rentals[f"train | dumont:{pool_id}"]
    standbys = [rentals[f"train | dumont:{standby_id(pool_id, k)}"] for k in (1, 2)]
    assert len(rentals) == 3 and primary["actual_status"] == "running"
    assert [s["actual_status"] for s in standbys] == ["stopped", "stopped"]
    assert {r["machine_id"] for r in rentals.values()} == {out["machine_id"]}
    (volume,) = market.volumes()
    assert volume["machine_id"] == out["machine_id"] and volume["id"] == out["volume_id"]
    assert sorted(volume["instances"]) == sorted(r["id"] for r in rentals.values())
    assert volume["disk_space"] == 50
    assert out["contract_id"] == primary["id"]
    assert out["standby_contract_ids"] == [s["id"] for s in standbys]
    assert out["standbys_ready"] == 2 and out["state"] == "active"
    assert out.get("degraded_reason") is None
    assert out["ssh_command"] == f"ssh -p {primary['ssh_port']} root@{primary['ssh_host']}"
    registered = control_plane.warm_pool_registration(pool_id)
    assert registered is not None and registered.host_machine_id == out["machine_id"]
    assert registered.volume_id == out["volume_id"] and registered.standbys == 2
    assert registered.gpu["arguments"]["gpu_models"] == ["RTX 3090"]
    assert control_plane.warm_pool(pool_id).state == "active"
    assert_rentals_match(market, stack)
    for key in (world.control_plane_key, world.marketplace.api_key):
        assert not stack.state.contains_text(key)
        assert all(key not in log for log in stack.provider_logs)

    assert not stack.refresh().changed
    again = stack.up()
    assert not again.changed

    stack.destroy()
    assert control_plane.warm_pool_registration(pool_id) is None
    assert registered_pools(world) == {}
    assert_nothing_bills(market)
    assert stack.state.resources == {}


def test_a_promoted_standby_is_the_same_pool_with_a_new_contract_and_nothing_to_deploy(
    pool_stack, market, world
):
    stack = pool_stack(pool(standbys=2))
    stack.up()
    pool_id, before = stack.state.by_name("train").id, outputs(stack)
    first, second = before["standby_contract_ids"]
    # What the control plane does on failover: the standby takes the primary's marker, the
    # dead primary is destroyed.
    relabel(market, first, rental_label(pool_id, None))
    market.destroy(before["contract_id"])
    write_agent_state(world, pool_id, state="active", failover_count=1, last_failover_at=1.0e9,
                      primary_contract_id=first, standby_contract_ids=[second])  # fmt: skip

    stack.refresh()
    after = outputs(stack)
    assert stack.state.by_name("train").id == pool_id
    assert after["contract_id"] == first and after["machine_id"] == before["machine_id"]
    assert after["standby_contract_ids"] == [second] and after["failover_count"] == 1
    assert after["volume_id"] == before["volume_id"]
    assert "1 of 2 standbys" in after["degraded_reason"]
    assert not stack.preview().changed
    again = stack.up()
    assert not again.changed and again.names("unchanged") == ["train"]
    assert sorted(i["id"] for i in market.managed()) == sorted([first, second])


def test_while_the_control_plane_fails_over_the_pool_stays_and_shows_failover(
    pool_stack, market, world
):
    stack = pool_stack(pool())
    stack.up()
    pool_id, before = stack.state.by_name("train").id, outputs(stack)
    hold_lease(world, pool_id)  # the failover runs on another replica, and takes its time
    market.destroy(before["contract_id"])  # the primary is gone, no standby promoted yet
    write_agent_state(world, pool_id, state="failover")
    stack.refresh()
    during = outputs(stack)
    assert stack.state.by_name("train").id == pool_id
    assert during["state"] == "failover" and during["status"] == "failover"
    assert during["machine_id"] == before["machine_id"]
    assert not stack.preview().changed  # a dead primary never replaces the pool
    stack.destroy()
    assert_nothing_bills(market)


def test_standbys_change_in_place_while_the_machine_has_room_and_replace_when_not(
    pool_stack, market, control_plane
):
    stack = pool_stack(pool(standbys=2))
    stack.up()
    pool_id, before = stack.state.by_name("train").id, outputs(stack)
    first = before["standby_contract_ids"][0]
    set_config(stack, standbys=1)
    assert stack.up().names("updated") == ["train"]
    assert outputs(stack)["standby_contract_ids"] == [first]
    assert len(market.managed()) == 2
    set_config(stack, standbys=2)
    assert stack.up().names("updated") == ["train"]
    grown = outputs(stack)
    assert grown["contract_id"] == before["contract_id"] and grown["standbys_ready"] == 2
    assert grown["standby_contract_ids"][0] == first
    assert {i["machine_id"] for i in market.managed()} == {before["machine_id"]}
    assert control_plane.warm_pool_registration(pool_id).standbys == 2

    # Another renter takes every free GPU of the machine: a third standby could never start
    # there, so the pool is placed anew on a machine with room.
    take_free_gpus(market, before["machine_id"])
    set_config(stack, standbys=3)
    assert stack.up().names("replaced") == ["train"]
    moved = outputs(stack)
    assert moved["machine_id"] != before["machine_id"] and moved["standbys_ready"] == 3
    assert {i["machine_id"] for i in market.managed()} == {moved["machine_id"]}
    assert_rentals_match(market, stack)
    (volume,) = market.volumes()
    assert volume["machine_id"] == moved["machine_id"]
