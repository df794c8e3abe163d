"""One small stack per row of the fault matrix, and what every cell checks at its end.

Each stack is the resource under test with what it needs (a policy needs a GPU to protect).
``assert_as_declared`` looks at the whole world, not at the provider's word: the marketplace
holds exactly the rentals and volumes the state declares, EC2 bills exactly the declared
standby VMs, S3 holds exactly the declared buckets, the control plane holds exactly the
declared registrations, and after a refresh the program plans no change.
``assert_nothing_left`` is the same after a destroy, with the spend flat an hour later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dumont_iac import (
    Budget,
    CpuStandby,
    GpuFleet,
    GpuInstance,
    HibernationPolicy,
    SnapshotPolicy,
    WarmPool,
)
from dumont_iac.control_plane.store.documents import (
    FAILOVER_GPU,
    HIBERNATION_POLICY,
    SNAPSHOT_POLICY,
    STANDBY,
    WARM_POOL,
)
from dumont_iac.testing import Deployment
from dumont_iac.testing.failover import FailoverWorld
from dumont_iac.testing.leftovers import leftovers
from dumont_iac.testing.market import Market, assert_rentals_match

GPU = {"image": "ubuntu:22.04", "max_price_per_hour": 2.0, "disk_gb": 10}
BUCKET = "fault-matrix-snapshots"


def _gpu() -> GpuInstance:
    return GpuInstance("gpu", **GPU)


def gpu_instance() -> None:
    _gpu()


def gpu_fleet() -> None:
    GpuFleet("fleet", count=2, **GPU)


def warm_pool() -> None:
    WarmPool("pool", standbys=1, volume_size_gb=20, **GPU)


def cpu_standby() -> None:
    CpuStandby("gpu-standby", gpu=_gpu())


def budget() -> None:
    _gpu()
    Budget("budget", limit_usd=5_000, action="stop")


def snapshot_policy() -> None:
    SnapshotPolicy("gpu-snapshots", gpu=_gpu(), bucket=BUCKET, force_destroy=True)


def hibernation_policy() -> None:
    gpu = _gpu()
    snapshots = SnapshotPolicy("gpu-snapshots", gpu=gpu, bucket=BUCKET, force_destroy=True)
    HibernationPolicy("gpu-sleep", gpu=gpu, snapshots=snapshots, idle_minutes=60)


def every_resource() -> None:
    """One stack holding every row, for a fault that reaches them all in one deploy."""
    gpu = _gpu()
    GpuFleet("fleet", count=2, **GPU)
    WarmPool("pool", standbys=1, volume_size_gb=20, **GPU)
    CpuStandby("gpu-standby", gpu=gpu)
    snapshots = SnapshotPolicy("gpu-snapshots", gpu=gpu, bucket=BUCKET, force_destroy=True)
    HibernationPolicy("gpu-sleep", gpu=gpu, snapshots=snapshots, idle_minutes=60)
    Budget("budget", limit_usd=20_000, action="stop")


STACKS: dict[str, Callable[[], None]] = {
    "GpuInstance": gpu_instance,
    "GpuFleet": gpu_fleet,
    "WarmPool": warm_pool,
    "CpuStandby": cpu_standby,
    "Budget": budget,
    "SnapshotPolicy": snapshot_policy,
    "HibernationPolicy": hibernation_policy,
}
"""The stack of each row of the matrix."""

# What each resource registers with the control plane, under the protected GPU's id.
REGISTERS = {
    "WarmPool": WARM_POOL,
    "CpuStandby": STANDBY,
    "FailoverPolicy": FAILOVER_GPU,
    "SnapshotPolicy": SNAPSHOT_POLICY,
    "HibernationPolicy": HIBERNATION_POLICY,
}


def _of_type(stack: Deployment, name: str) -> list[Any]:
    return [r for r in stack.state.resources.values() if r.type.endswith(f":{name}")]


def _contracts(stack: Deployment) -> list[int]:
    held = [int(r.outputs["contract_id"]) for r in _of_type(stack, "GpuInstance")]
    for fleet in _of_type(stack, "GpuFleet"):
        held += [int(member["contract_id"]) for member in fleet.outputs["members"]]
    for pool in _of_type(stack, "WarmPool"):
        held += [int(pool.outputs["contract_id"])]
        held += [int(c) for c in pool.outputs.get("standby_contract_ids", [])]
    return held


def declared(stack: Deployment) -> dict[str, list[Any]]:
    """What the stack's state says the world holds, in the shape of ``leftovers``."""
    found: dict[str, list[Any]] = {
        "rentals": sorted(_contracts(stack)),
        "volumes": sorted(int(r.outputs["volume_id"]) for r in _of_type(stack, "WarmPool")),
        "vms": sorted(r.outputs["ec2_instance_id"] for r in _of_type(stack, "CpuStandby")),
        "buckets": sorted({r.outputs["bucket"] for r in _of_type(stack, "SnapshotPolicy")}),
        "budgets": sorted(int(r.outputs["budget_id"]) for r in _of_type(stack, "Budget")),
    }
    for name, kind in REGISTERS.items():
        gpu_ids = {
            r.id if name == "WarmPool" else r.outputs["gpu_id"] for r in _of_type(stack, name)
        }
        found[kind] = sorted(gpu_ids)
    return {kind: held for kind, held in found.items() if held}


def assert_as_declared(lab: FailoverWorld, stack: Deployment, *, refresh: bool = True) -> None:
    """The world holds exactly what the stack's state declares, and nothing else bills."""
    with Market(lab.world.marketplace) as market:
        assert_rentals_match(market, stack)  # one rental per logical id, no orphan
    assert leftovers(lab.world) == declared(stack)
    if refresh:  # the state agrees with the world: after a refresh, the program changes nothing
        stack.refresh()
        planned = stack.preview().counts
        assert planned["unchanged"] == sum(planned.values()), planned


def assert_nothing_left(lab: FailoverWorld) -> None:
    """After a destroy: no rental, volume, VM, bucket or registration; the spend stays flat."""
    assert leftovers(lab.world) == {}
    credit = lab.market.user().credit
    lab.world.marketplace.clock.advance(3_600)
    assert lab.market.user().credit == credit
