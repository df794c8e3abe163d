"""Failover of deployed stacks, through the driver, the sandbox, the control plane and moto:
the GPU the stack declares is moved by the control plane, and the stack still sees one GPU
(same id, new contract, no diff), then destroys everything that bills.

``examples/resilient-training`` is the stack with a warm pool, a CPU standby and strategy
``both``; a GPU with only a CPU standby is declared inline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pulumi
import pytest

from dumont_iac import CpuStandby, GpuInstance
from dumont_iac.control_plane.agents.monitor import RUNTIME_KINDS
from dumont_iac.control_plane.store.documents import (
    FAILOVER_GPU,
    FAILOVER_STATE,
    STANDBY,
    STANDBY_STATE,
    WARM_POOL,
)
from dumont_iac.testing import Deployment
from dumont_iac.testing.failover import FailoverWorld
from tests.cpu_standby.conftest import billing
from tests.warm_pool.helpers import hold_lease

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resilient-training"


@pytest.fixture
def lab(world) -> Iterator[FailoverWorld]:
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    with FailoverWorld(world) as lab:
        yield lab


@pytest.fixture
def stack_of(deployment_factory, world) -> Callable[..., Deployment]:
    def make(program: Any) -> Deployment:
        env = {**world.exports(), "DUMONT_PACING_SCALE": "0"}
        return deployment_factory(program, stack="ci", env=env, call_timeout=120.0)

    return make


def gpu_only_with_standby() -> None:
    gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0, label="train")
    CpuStandby("train-standby", gpu=gpu, sync_interval_seconds=10)
    pulumi.export("gpu_id", gpu.id)


def _outputs(stack: Deployment, name: str) -> dict[str, Any]:
    return stack.state.by_name(name).outputs


def _nothing_left(lab: FailoverWorld, gpu_id: str) -> None:
    """No rental, no volume, no running VM, no control-plane record of the GPU; spend flat."""
    assert lab.market.instances() == [] and lab.market.volumes() == []
    assert billing(lab.world.aws.url) == []
    for kind in (WARM_POOL, STANDBY, FAILOVER_GPU):
        assert lab.store.documents.get(lab.user_id, kind, gpu_id) is None, kind
    for kind in RUNTIME_KINDS:  # the agents' own records follow within a tick
        lab.wait(kind, lambda k=kind: lab.store.documents.get(lab.user_id, k, gpu_id) is None, 30)
    credit = lab.market.user().credit
    lab.world.marketplace.clock.advance(3_600)
    assert lab.market.user().credit == credit


def test_a_failed_primary_moves_to_its_standby_and_the_stack_sees_the_same_gpu(lab, stack_of):
    stack = stack_of(EXAMPLE)
    stack.up()
    pool_id, before = stack.state.by_name("trainer").id, _outputs(stack, "trainer")
    started = lab.now()
    lab.fault(f"instances/{int(before['contract_id'])}/fail")
    lab.wait("the failover", lambda: lab.events(pool_id, "action.succeeded"), 300)
    (serving,) = lab.events(pool_id, "failover.serving")
    assert serving["at"] - started < 60, f"a standby served after {serving['at'] - started:.0f} s"

    refreshed = stack.refresh()
    after = _outputs(stack, "trainer")
    assert not refreshed.deleted and stack.state.by_name("trainer").id == pool_id
    assert after["contract_id"] != before["contract_id"]
    assert after["contract_id"] == before["standby_contract_ids"][0]
    assert (after["machine_id"], after["volume_id"]) == (before["machine_id"], before["volume_id"])
    assert not stack.preview().changed
    assert not stack.up().changed

    stack.destroy()
    _nothing_left(lab, pool_id)


def test_a_lost_machine_falls_back_to_the_cpu_standby_and_the_gpu_follows(lab, stack_of):
    stack = stack_of(EXAMPLE)
    stack.up()
    pool_id, before = stack.state.by_name("trainer").id, _outputs(stack, "trainer")
    lab.fault(f"machines/{int(before['machine_id'])}/fail")
    lab.wait("the failover", lambda: lab.events(pool_id, "action.succeeded"), 900)

    stack.refresh()
    after = _outputs(stack, "trainer")
    assert stack.state.by_name("trainer").id == pool_id
    assert after["machine_id"] != before["machine_id"] and after["status"] == "running"
    assert after["state"] == "degraded" and "without same-host standbys" in after["degraded_reason"]
    assert _outputs(stack, "trainer-standby")["state"] == "syncing"
    assert not stack.up().changed

    stack.destroy()
    _nothing_left(lab, pool_id)


def test_cpu_standby_takes_over_and_gives_back_with_the_workspace(lab, stack_of):
    stack = stack_of(gpu_only_with_standby)
    gpu_id = stack.up().outputs["gpu_id"]
    first = _outputs(stack, "train")
    contract, machine = int(first["contract_id"]), int(first["machine_id"])
    written = lab.http.put(f"/_sandbox/instances/{contract}/workspace/ckpt/step-100.txt",
                           json={"content": "loss=0.42\n"})  # fmt: skip
    assert written.status_code == 200, written.text
    lab.wait(
        "a sync with the file",
        lambda: (
            (s := lab.store.documents.get(lab.user_id, STANDBY_STATE, gpu_id))
            and s.get("synced_files") == 1
        ),
        300,
    )
    lab.fault(f"machines/{machine}/fail")
    lab.wait("the recovery", lambda: lab.events(gpu_id, "recovery.succeeded"), 900)

    stack.refresh()
    now = _outputs(stack, "train")
    assert stack.state.by_name("train").id == gpu_id
    assert int(now["contract_id"]) != contract and int(now["machine_id"]) != machine
    new_contract = int(now["contract_id"])
    restored = lab.http.get(f"/_sandbox/instances/{new_contract}/workspace/ckpt/step-100.txt")
    assert restored.json()["content"] == "loss=0.42\n"
    standby = _outputs(stack, "train-standby")
    assert standby["state"] == "syncing" and standby["gpu_failed"] is False
    assert not stack.up().changed

    stack.destroy()
    _nothing_left(lab, gpu_id)


def test_mid_failover_refresh_and_up_neither_drop_nor_rent_the_gpu_again(lab, stack_of):
    stack = stack_of(gpu_only_with_standby)
    gpu_id = stack.up().outputs["gpu_id"]
    hold_lease(lab.world, gpu_id)  # another replica is recovering it, and takes its time
    lab.market.destroy(int(_outputs(stack, "train")["contract_id"]))
    moving = {"phase": "recovering", "since": lab.now(), "reason": "its machine is offline"}
    lab.store.documents.put(lab.user_id, FAILOVER_STATE, moving, key=gpu_id)

    refreshed = stack.refresh()
    assert not refreshed.deleted
    assert _outputs(stack, "train")["status"] == "recovering"
    again = stack.up()
    assert not again.created and not again.replaced
    assert lab.market.instances() == []  # nothing rented twice

    lab.store.documents.delete(lab.user_id, FAILOVER_STATE, gpu_id)  # the recovery gave up
    assert stack.refresh().names("deleted") == ["train"]  # now it is gone, and says so
    stack.destroy()
    assert billing(lab.world.aws.url) == []
