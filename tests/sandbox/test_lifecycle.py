"""Instances over sandbox time: the lifecycle, stop and start, outbids, machine failures,
and billing, with a clock the tests move by hand."""

from __future__ import annotations

import pytest

from dumont_iac.sandbox.marketplace.errors import InsufficientBalance, InvalidArgs, InvalidPrice
from dumont_iac.sandbox.marketplace.lifecycle import (
    CREATED_SECONDS,
    OUT_OF_CREDIT_MSG,
    REBOOT_SECONDS,
    TRANSITIONS,
    Live,
    advance,
    loading_seconds,
)
from dumont_iac.sandbox.marketplace.store import Store

from .frozen_store import IMAGE

HOUR = 3600.0


def machine_offers(store: Store, machine_id: int) -> list[dict]:
    return store.search_offers({"machine_id": {"eq": machine_id}, "limit": 100})


def largest_slice(store: Store, machine_id: int) -> int:
    """The largest slice offered: 8 when the whole machine is free, 0 when none of it is."""
    return max((o["num_gpus"] for o in machine_offers(store, machine_id)), default=0)


def eight_gpu_slice(store: Store, size: int, skip: int = 0) -> dict:
    machine = store.search_offers(
        {"num_gpus": {"eq": 8}, "order": [["machine_id", "asc"]], "limit": 100}
    )[skip]["machine_id"]
    return next(o for o in machine_offers(store, machine) if o["num_gpus"] == size)


def status(store: Store, user: int, instance_id: int) -> str:
    row = store.get_instance(user, instance_id)
    assert row is not None
    return row["actual_status"]


def running(store: Store, user: int, size: int = 1, **body: object) -> tuple[int, dict]:
    offer = eight_gpu_slice(store, size)
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, **body})["new_contract"]
    store.clock.advance(CREATED_SECONDS + 61)
    assert status(store, user, instance_id) == "running"
    return instance_id, offer


def credit(store: Store, user: int) -> float:
    return store.current_user(user)["credit"]


def test_created_then_loading_then_running(store: Store, user: int) -> None:
    offer = eight_gpu_slice(store, 1)
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, "env": {"-p 8000:8000": "1"}})[
        "new_contract"
    ]
    pull = loading_seconds(IMAGE, instance_id)
    assert status(store, user, instance_id) == "created"
    store.clock.advance(CREATED_SECONDS - 1)
    assert status(store, user, instance_id) == "created"
    store.clock.advance(1)
    assert status(store, user, instance_id) == "loading"
    store.clock.advance(pull - 1)
    assert status(store, user, instance_id) == "loading"
    store.clock.advance(1)
    row = store.get_instance(user, instance_id)
    assert row["actual_status"] == "running" and row["intended_status"] == "running"
    assert row["cur_state"] == "running" and "Error" not in row["status_msg"]
    assert set(row["ports"]) == {"22/tcp", "8000/tcp"}
    assert all(p[0]["HostPort"].isdigit() for p in row["ports"].values())


def test_a_long_jump_passes_every_step_at_once(store: Store, user: int) -> None:
    offer = eight_gpu_slice(store, 1)
    instance_id = store.rent(user, offer["id"], {"image": "alpine"})["new_contract"]
    store.clock.advance(10 * HOUR)
    assert status(store, user, instance_id) == "running"


def test_loading_time_is_stable_and_heavier_for_big_images() -> None:
    assert loading_seconds(IMAGE, 7) == loading_seconds(IMAGE, 7)
    heavy = [loading_seconds("nvidia/cuda:12.4-devel", i) for i in range(50)]
    slim = [loading_seconds("alpine:3", i) for i in range(50)]
    assert all(40 <= s <= 60 for s in heavy) and all(20 <= s <= 60 for s in slim)
    assert min(slim) < 40
    assert all(5 <= loading_seconds(IMAGE, i, restart=True) <= 15 for i in range(50))
    assert set(TRANSITIONS) == {"created", "loading", "rebooting"}


def test_stop_releases_the_gpus_and_start_takes_them_back(store: Store, user: int) -> None:
    instance_id, offer = running(store, user, size=8)
    machine = offer["machine_id"]
    assert largest_slice(store, machine) == 0

    store.manage_instance(user, instance_id, {"state": "stopped"})
    row = store.get_instance(user, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "stopped")
    assert row["ports"] is None and row["disk_space"] == 10
    assert largest_slice(store, machine) == 8

    store.manage_instance(user, instance_id, {"state": "running"})
    assert status(store, user, instance_id) == "loading"
    assert largest_slice(store, machine) == 0
    store.clock.advance(15)
    assert status(store, user, instance_id) == "running"


def test_a_start_waits_while_someone_else_holds_the_gpus(store: Store, user: int) -> None:
    instance_id, offer = running(store, user, size=8)
    machine = offer["machine_id"]
    store.manage_instance(user, instance_id, {"state": "stopped"})
    other = store.create_user("other-tenant-key", 100.0)
    (eight,) = [o for o in machine_offers(store, machine) if o["num_gpus"] == 8]
    theirs = store.rent(other, eight["id"], {"image": "alpine"})["new_contract"]

    assert store.manage_instance(user, instance_id, {"state": "running"}) == {"success": True}
    row = store.get_instance(user, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "running")
    assert "Scheduling" in row["status_msg"]
    store.clock.advance(HOUR)
    assert status(store, user, instance_id) == "stopped"

    store.destroy(other, theirs)
    store.clock.advance(1)
    assert status(store, user, instance_id) == "loading"
    store.clock.advance(15)
    assert status(store, user, instance_id) == "running"


def test_renting_in_the_stopped_state(store: Store, user: int) -> None:
    offer = eight_gpu_slice(store, 8)
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, "target_state": "stopped"})[
        "new_contract"
    ]
    store.clock.advance(HOUR)
    row = store.get_instance(user, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "stopped")
    assert largest_slice(store, offer["machine_id"]) == 8


def test_an_outbid_instance_stops_and_keeps_its_data(store: Store, user: int) -> None:
    offer = eight_gpu_slice(store, 2)
    bid = offer["min_bid"] + 0.01
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, "price": bid, "disk": 40})[
        "new_contract"
    ]
    store.clock.advance(HOUR)
    assert status(store, user, instance_id) == "running"

    winning = store.outbid(instance_id)["winning_bid"]
    assert winning > bid
    row = store.get_instance(user, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "running")
    assert "outbid" in row["status_msg"] and row["disk_space"] == 40
    # The winner holds the two GPUs: the whole machine is not offered again.
    assert largest_slice(store, offer["machine_id"]) == 4
    store.clock.advance(10 * HOUR)
    assert status(store, user, instance_id) == "stopped"

    with pytest.raises(InvalidPrice):
        store.change_bid(user, instance_id, {"client_id": "me", "price": offer["min_bid"] / 3})
    store.change_bid(user, instance_id, {"client_id": "me", "price": winning / 2 + bid / 2})
    assert status(store, user, instance_id) == "stopped"  # still below the winning bid
    store.change_bid(user, instance_id, {"client_id": "me", "price": winning + 0.05})
    assert status(store, user, instance_id) == "loading"
    store.clock.advance(15)
    row = store.get_instance(user, instance_id)
    assert row["actual_status"] == "running" and row["dph_base"] == pytest.approx(winning + 0.05)


def test_a_winning_bid_by_default(store: Store, user: int) -> None:
    offer = eight_gpu_slice(store, 1)
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, "price": offer["min_bid"]})[
        "new_contract"
    ]
    winning = store.outbid(instance_id)["winning_bid"]
    store.change_bid(user, instance_id, {"client_id": "me", "price": None})
    assert store.get_instance(user, instance_id)["dph_base"] > winning


def test_only_interruptible_instances_are_outbid(store: Store, user: int) -> None:
    instance_id, _ = running(store, user)
    with pytest.raises(InvalidArgs, match="on-demand"):
        store.outbid(instance_id)
    with pytest.raises(InvalidArgs, match="on-demand"):
        store.change_bid(user, instance_id, {"price": 1.0})


def test_a_failed_machine_takes_its_instances_offline_for_good(store: Store, user: int) -> None:
    instance_id, offer = running(store, user, size=2)
    machine = offer["machine_id"]
    assert store.fail_machine(machine)["instances_offline"] == 1
    row = store.get_instance(user, instance_id)
    assert row["actual_status"] == "offline" and "offline" in row["status_msg"]
    assert machine_offers(store, machine) == []
    assert store.search_volume_offers({"machine_id": {"eq": machine}}) == []

    before = credit(store, user)
    store.clock.advance(5 * HOUR)
    assert status(store, user, instance_id) == "offline"
    assert credit(store, user) == pytest.approx(before)  # an offline machine does not bill
    start = store.manage_instance(user, instance_id, {"state": "running"})
    assert start["success"] is False and "offline" in start["msg"]

    store.recover_machine(machine)
    assert largest_slice(store, machine) == 8
    store.clock.advance(HOUR)
    assert status(store, user, instance_id) == "offline"
    assert store.destroy(user, instance_id) == {"success": True}
    with pytest.raises(InvalidArgs):
        store.fail_machine(1)


def test_reboot(store: Store, user: int) -> None:
    instance_id, _ = running(store, user)
    assert store.reboot(user, instance_id) == {"success": True}
    assert status(store, user, instance_id) == "rebooting"
    store.clock.advance(REBOOT_SECONDS)
    assert status(store, user, instance_id) == "running"
    store.manage_instance(user, instance_id, {"state": "stopped"})
    refused = store.reboot(user, instance_id)
    assert refused["success"] is False and "stopped" in refused["msg"]


# --- billing ----------------------------------------------------------------------------------


def test_credit_falls_by_gpu_time_while_running_and_storage_from_creation(
    store: Store, user: int
) -> None:
    offer = eight_gpu_slice(store, 2)
    instance_id = store.rent(user, offer["id"], {"image": IMAGE, "disk": 100})["new_contract"]
    storage_rate = 100 * offer["storage_cost"] / 720
    startup = CREATED_SECONDS + loading_seconds(IMAGE, instance_id)
    store.clock.advance(10 * HOUR)
    expected = storage_rate * 10 + offer["dph_base"] * (10 * HOUR - startup) / HOUR
    assert 1000.0 - credit(store, user) == pytest.approx(expected, rel=1e-9)


def test_a_stopped_instance_bills_storage_only(store: Store, user: int) -> None:
    instance_id, offer = running(store, user, size=1, disk=200)
    store.manage_instance(user, instance_id, {"state": "stopped"})
    before = credit(store, user)
    store.clock.advance(24 * HOUR)
    assert before - credit(store, user) == pytest.approx(200 * offer["storage_cost"] / 720 * 24)


def test_volumes_bill_storage(store: Store, user: int) -> None:
    offer = store.search_volume_offers({"limit": 1})[0]
    store.create_volume(user, {"id": offer["id"], "size": 72})
    store.clock.advance(30 * 24 * HOUR)
    assert 1000.0 - credit(store, user) == pytest.approx(72 * offer["storage_cost"])


def test_running_out_of_credit_stops_instances_and_storage_keeps_billing(store: Store) -> None:
    poor = store.create_user("poor-user-key", 2.0)
    offer = eight_gpu_slice(store, 8, skip=1)
    instance_id = store.rent(poor, offer["id"], {"image": IMAGE})["new_contract"]
    hours_to_zero = 2.0 / (offer["dph_base"] + 10 * offer["storage_cost"] / 720)
    store.clock.advance(hours_to_zero * HOUR + 10 * HOUR)

    row = store.get_instance(poor, instance_id)
    assert (row["actual_status"], row["intended_status"]) == ("stopped", "stopped")
    assert row["status_msg"] == OUT_OF_CREDIT_MSG
    assert largest_slice(store, offer["machine_id"]) == 8
    left = credit(store, poor)
    assert left < 0  # storage billed after the stop
    assert left == pytest.approx(-10 * (10 * offer["storage_cost"] / 720), abs=1e-3)
    with pytest.raises(InsufficientBalance):
        store.manage_instance(poor, instance_id, {"state": "running"})


# --- the pure lifecycle function ----------------------------------------------------------------


def test_advance_steps_and_bills_in_time_order() -> None:
    live = Live(id=1, user_id=7, actual="created", intended="running", since=0.0,
                gpu_rate=3.6, storage_rate=0.36, loading_seconds=100.0)  # fmt: skip
    credits = {7: 10.0}
    outcome = advance([live], {}, credits, start=0.0, end=1000.0)
    assert live.actual == "running" and live.since == 105.0 and live.changed
    # storage for 1000 s, GPU for the 895 s running
    assert outcome.charges[7] == pytest.approx(0.36 * 1000 / 3600 + 3.6 * 895 / 3600)
    assert credits[7] == pytest.approx(10.0 - outcome.charges[7])


def test_advance_stops_at_the_moment_credit_runs_out() -> None:
    live = Live(id=1, user_id=7, actual="running", intended="running", since=0.0,
                gpu_rate=36.0, storage_rate=0.0)  # fmt: skip
    credits = {7: 1.0}
    outcome = advance([live], {7: 3.6}, credits, start=0.0, end=3600.0)
    assert outcome.out_of_credit == {7}
    assert live.actual == "stopped" and live.intended == "stopped"
    assert live.since == pytest.approx(1.0 / 39.6 * 3600)
    # volumes keep billing after the stop
    assert credits[7] == pytest.approx(-3.6 * (3600 - live.since) / 3600)
