"""The control plane's failover engine against the sandbox world: warm pools promote a
same-host standby, CPU standbys take over and give back, ``both`` falls back, safeguards hold.

Pools and standbys are placed by hand here (``dumont_iac.testing.failover``); the resources that
place them in a deployment are tested with the driver in their own files.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dumont_iac.control_plane.store.documents import (
    FAILOVER_GPU,
    STANDBY_STATE,
    WARM_POOL_STATE,
)
from dumont_iac.provider.labels import logical_id_of, standby_index
from dumont_iac.testing.failover import FailoverWorld

POOL = "pool-0123456789ab"
GPU = "gpu-0123456789ab"


@pytest.fixture
def engine(world) -> Iterator[FailoverWorld]:
    with FailoverWorld(world) as engine:
        yield engine


def _carrier(engine: FailoverWorld, marker: str):
    found = [i for i in engine.market.instances() if logical_id_of(i.label) == marker]
    return max(found, key=lambda i: i.id) if found else None


def test_a_failed_primary_is_replaced_by_its_same_host_standby_within_60_sandbox_seconds(engine):
    placed = engine.place_pool(POOL)
    failed_at = engine.now()
    engine.fault(f"instances/{placed['primary']}/fail")

    def promoted():
        now = _carrier(engine, POOL)
        moved = now and now.id != placed["primary"] and now.actual_status == "running"
        return now if moved else None

    serving = engine.wait("a standby to serve the GPU", promoted, 120)
    took = engine.now() - failed_at
    assert serving.id == placed["standbys"][0]
    assert serving.machine_id == placed["machine"]
    assert took < 60, f"the warm-pool failover took {took:.0f} sandbox seconds"
    # It kept the pool's volume, and the dead primary stopped billing.
    volumes = {v.id: v for v in engine.market.volumes()}
    assert serving.id in (volumes[placed["volume"]].instances or [])
    assert engine.market.instance(placed["primary"]) is None
    kinds = [e["kind"] for e in engine.events(POOL)]
    assert kinds.index("failover.detected") < kinds.index("failover.promoted")


def test_a_promoted_pool_rents_a_replacement_standby_or_reads_degraded(engine):
    placed = engine.place_pool(POOL)
    engine.fault(f"instances/{placed['primary']}/fail")
    state = engine.wait(
        "the pool to settle",
        lambda: (
            (s := engine.store.documents.get(engine.user_id, WARM_POOL_STATE, POOL))
            and s.get("state") in ("active", "degraded")
            and s
        ),
        180,
    )
    spares = [
        i
        for i in engine.market.instances()
        if standby_index(POOL, logical_id_of(i.label)) is not None
    ]
    if state["state"] == "active":
        assert len(spares) == 1 and spares[0].machine_id == placed["machine"]
        assert spares[0].intended_status == "stopped"
    else:
        assert spares == [] and "no replacement standby" in state["error_message"]


def test_a_pool_whose_standby_gpus_were_taken_says_so_and_leaves_them_stopped(engine):
    placed = engine.place_pool(POOL, standbys=2)
    engine.fault(f"instances/{placed['standbys'][0]}/take_gpus")  # the host has none free now
    engine.fault(f"instances/{placed['primary']}/fail")
    failed = engine.wait("the outcome", lambda: engine.events(POOL, "action.failed"), 300)
    assert "taken by another tenant" in failed[0]["message"]
    for contract in placed["standbys"]:
        standby = engine.market.instance(contract)
        assert standby is not None and standby.intended_status == "stopped"  # not waiting for GPUs
        assert standby.actual_status == "stopped"


def test_cpu_standby_takes_over_when_the_machine_fails_and_gives_back(engine):
    placed = engine.place_standby(GPU)
    engine.wait(
        "a first sync",
        lambda: (engine.store.documents.get(engine.user_id, STANDBY_STATE, GPU) or {}).get(
            "last_sync_at"
        ),
        120,
    )
    engine.fault(f"machines/{placed['machine']}/fail")
    recovered = engine.wait(
        "a new GPU elsewhere",
        lambda: (
            (c := _carrier(engine, GPU))
            and c.id != placed["contract"]
            and c.actual_status == "running"
            and c
        ),
        600,
    )
    assert recovered.machine_id != placed["machine"]
    state = engine.wait(
        "the association to sync again",
        lambda: (
            (s := engine.store.documents.get(engine.user_id, STANDBY_STATE, GPU))
            and s.get("state") == "syncing"
            and not s.get("gpu_failed")
            and s
        ),
        120,
    )
    assert state["failure_reason"] is None
    kinds = [e["kind"] for e in engine.events(GPU)]
    assert "standby.active" in kinds and "recovery.succeeded" in kinds
    assert engine.market.instance(placed["contract"]) is None  # the dead contract is gone


@pytest.mark.parametrize("loss", ["machine", "standby_gpus_taken"])
def test_both_falls_back_to_the_cpu_standby_when_the_pool_cannot_take_over(engine, loss):
    placed = engine.place_pool(POOL)
    engine.associate(POOL)
    if loss == "machine":
        engine.fault(f"machines/{placed['machine']}/fail")
    else:
        engine.fault(f"instances/{placed['standbys'][0]}/take_gpus")
        engine.fault(f"instances/{placed['primary']}/fail")
    engine.wait("the failover's outcome", lambda: engine.events(POOL, "action.succeeded"), 900)
    moved = _carrier(engine, POOL)
    assert moved is not None and moved.actual_status == "running"
    assert moved.machine_id != placed["machine"] or loss != "machine"
    assert moved.id not in (placed["primary"], *placed["standbys"])  # a new GPU, not a standby
    kinds = [e["kind"] for e in engine.events(POOL)]
    assert "standby.active" in kinds and "recovery.succeeded" in kinds
    pool = engine.store.documents.get(engine.user_id, WARM_POOL_STATE, POOL)
    assert pool["state"] == "degraded" and "without same-host standbys" in pool["error_message"]
    why = "the whole machine failed" if loss == "machine" else "taken by another tenant"
    assert why in pool["error_message"]
    leftovers = [i.id for i in engine.market.instances() if i.id in placed["standbys"]]
    assert leftovers == []  # the lost pool's standbys bill nothing


def test_a_flapping_gpu_fails_over_no_more_than_its_limit(engine):
    placed = engine.place_pool(POOL, standbys=3)
    engine.store.documents.put(engine.user_id, FAILOVER_GPU, {
        "use_global_settings": False, "max_failovers_per_day": 1,
        "min_seconds_between_failovers": 0,
    }, key=POOL)  # fmt: skip
    engine.fault(f"instances/{placed['primary']}/fail")
    engine.wait("the first failover", lambda: engine.events(POOL, "action.succeeded"), 180)
    first = _carrier(engine, POOL)
    engine.fault(f"instances/{first.id}/fail")
    engine.wait(
        "the refusal",
        lambda: [e for e in engine.events(POOL, "failover.refused")] or None,
        120,
    )
    assert _carrier(engine, POOL).id == first.id  # still on the failed contract: not moved
    succeeded = [e for e in engine.events(POOL, "action.succeeded")]
    assert len(succeeded) == 1


@pytest.mark.parametrize("rebid", [True, False])
def test_an_outbid_gpu_is_bid_back_under_its_cap_before_it_fails_over(engine, rebid):
    placed = engine.place_standby(GPU, gpu={"interruptible": True, "max_price_per_hour": 5.0})
    engine.store.documents.put(engine.user_id, FAILOVER_GPU, {
        "use_global_settings": False, "rebid_before_failover": rebid,
    }, key=GPU)  # fmt: skip
    outbid = engine.fault(f"instances/{placed['contract']}/outbid")
    assert outbid["winning_bid"] < 5.0
    if rebid:
        engine.wait("the GPU back", lambda: engine.running(placed["contract"]), 300)
        (event,) = engine.events(GPU, "failover.rebid")
        assert event["data"]["bid"] > outbid["winning_bid"]
        assert engine.events(GPU, "action.requested") == []  # no failover was needed
        assert engine.events(GPU, "failover.detected") == []
    else:
        engine.wait("the failover", lambda: engine.events(GPU, "action.succeeded"), 900)
        assert engine.events(GPU, "failover.rebid") == []
        moved = _carrier(engine, GPU)
        assert moved is not None and moved.id != placed["contract"]
