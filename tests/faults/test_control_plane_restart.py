"""The control plane restarted (same port, same database) while its agents are mid-action: a
failover, a budget's stop, a hibernation's pause. The action completes exactly once, the
stack ends holding exactly what it declares, and a destroy leaves nothing billing.

A marketplace call of the action is held (a sandbox ``hang``), so the restart lands while the
action runs; the restart is graceful: the old control plane finishes what it holds under its
lease, the new one takes what was requested and not yet taken, and neither does it twice.
"""

from __future__ import annotations

from typing import Any

from dumont_iac import Budget, GpuInstance
from dumont_iac.control_plane.budgets import state as budget_state
from dumont_iac.control_plane.store.documents import GPU_HOLD, HIBERNATION_IDLE
from dumont_iac.testing import Deployment
from dumont_iac.testing.failover import FailoverWorld
from dumont_iac.testing.leftovers import leftovers

from .matrix import cell
from .stacks import (
    BUCKET,
    GPU,
    assert_as_declared,
    assert_nothing_left,
    every_resource,
    hibernation_policy,
)

HELD_SECONDS = 2.0  # real seconds a held call waits: two sandbox minutes at the test speed
# The waits below are bounds in sandbox seconds (a real second is a sandbox minute here): wide,
# because a loaded machine delays the agents' ticks in real time, and each returns at once.


def _hold(lab: FailoverWorld, method: str, path: str) -> None:
    """The next ``method path`` call to the marketplace waits before it is served."""
    lab.fault("faults", {"method": method, "path": path, "kind": "hang",
                         "seconds": HELD_SECONDS})  # fmt: skip


def _held(lab: FailoverWorld) -> bool | None:
    """True once every armed hold was reached (a call is waiting in it, or went through)."""
    armed = lab.http.get("/_sandbox/faults").json()["faults"]
    return True if not armed else None


def _restart(lab: FailoverWorld) -> None:
    before = lab.world.control_plane
    after = lab.world.restart_control_plane()
    assert after is not before and after.url == before.url
    assert after.settings.db == before.settings.db


def _let_it_look(lab: FailoverWorld) -> None:
    """A minute of sandbox time, in which the new control plane's agents tick a dozen times."""
    until = lab.now() + 60
    lab.wait("a sandbox minute", lambda: lab.now() >= until or None, 120)


def _outputs(stack: Deployment, name: str) -> dict[str, Any]:
    return stack.state.by_name(name).outputs


def _once(lab: FailoverWorld, gpu_id: str, *kinds: str) -> None:
    for kind in kinds:
        assert len(lab.events(gpu_id, kind)) == 1, (kind, lab.events(gpu_id))


@cell("GpuInstance", "control_plane_restart")
@cell("GpuFleet", "control_plane_restart")
@cell("WarmPool", "control_plane_restart")
@cell("CpuStandby", "control_plane_restart")
def test_a_restart_mid_failover_completes_each_failover_once(
    lab: FailoverWorld, stack_of: Any
) -> None:
    stack = stack_of(every_resource)
    stack.up()
    pool_id, gpu_id = stack.state.by_name("pool").id, stack.state.by_name("gpu").id
    pool, gpu = _outputs(stack, "pool"), _outputs(stack, "gpu")
    _hold(lab, "PUT", "/api/v0/instances/*")  # the pool's standby started
    _hold(lab, "PUT", "/api/v0/asks/*")  # a GPU rented (the recovery, a replacement standby)
    lab.fault(f"instances/{int(pool['contract_id'])}/fail")
    lab.fault(f"instances/{int(gpu['contract_id'])}/fail")

    def running() -> bool | None:
        actions = [a for g in (pool_id, gpu_id) for a in lab.store.actions.of_gpu(lab.user_id, g)]
        return True if any(a.state == "running" for a in actions) and _held(lab) else None

    lab.wait("a failover held mid-way", running, 1800)
    _restart(lab)
    lab.wait("the pool's failover", lambda: lab.events(pool_id, "action.succeeded"), 900)
    lab.wait("the GPU's recovery", lambda: lab.events(gpu_id, "action.succeeded"), 900)
    _let_it_look(lab)  # the new control plane looks again: both healthy, nothing redone

    for gpu_id_, moved in ((pool_id, "failover.promoted"), (gpu_id, "recovery.succeeded")):
        (action,) = lab.store.actions.of_gpu(lab.user_id, gpu_id_)
        assert (action.state, action.attempts) == ("succeeded", 1), action
        _once(lab, gpu_id_, "action.started", "action.succeeded", moved)
    stack.refresh()
    assert _outputs(stack, "pool")["contract_id"] == pool["standby_contract_ids"][0]
    assert _outputs(stack, "gpu")["contract_id"] != gpu["contract_id"]
    assert_as_declared(lab, stack)

    stack.destroy()
    assert_nothing_left(lab)


def gpu_under_a_gpu_hours_quota() -> None:
    GpuInstance("gpu", **GPU)
    Budget("budget", limit_usd=5_000, max_gpu_hours_per_month=2, action="stop")


@cell("Budget", "control_plane_restart")
def test_a_restart_mid_budget_stop_stops_the_gpu_once(lab: FailoverWorld, stack_of: Any) -> None:
    stack = stack_of(gpu_under_a_gpu_hours_quota)
    stack.up()
    gpu_id, contract = stack.state.by_name("gpu").id, int(_outputs(stack, "gpu")["contract_id"])
    budget_id = int(_outputs(stack, "budget")["budget_id"])

    def counted() -> bool | None:
        # Spend accrues at the rate the previous tick saw: the GPU must be seen running first.
        spend = budget_state.spend_of(lab.store, lab.user_id, budget_id)
        return True if spend and spend["gpus_running"] == 1 else None

    lab.wait("the budget counting the running GPU", counted, 900)
    _hold(lab, "PUT", "/api/v0/instances/*")  # the budget's stop
    lab.world.marketplace.clock.advance(3 * 3600)  # three GPU-hours: over the quota
    lab.wait("the stop held mid-way", lambda: _held(lab), 1800)
    _restart(lab)
    lab.wait("the GPU stopped", lambda: not lab.running(contract) or None, 900)
    _let_it_look(lab)  # the new control plane watches the spend again
    log = lab.world.control_plane.app.state.events

    def acted() -> list[Any] | None:
        return log.query(lab.user_id, kind="budget.action", limit=50) or None

    (stopped,) = lab.wait("the budget's action recorded", acted, 600)
    assert stopped.public()["data"]["done"] == [f"stopped contract {contract}"]
    assert lab.store.documents.get(lab.user_id, GPU_HOLD, gpu_id)["reason"] == "budget"

    stack.refresh()
    held = _outputs(stack, "gpu")
    assert (held["status"], held["status_message"]) == ("held", f"budget {budget_id}: stop")
    assert held["contract_id"] == contract  # stopped, not replaced
    assert_as_declared(lab, stack)
    stack.destroy()
    assert_nothing_left(lab)


@cell("SnapshotPolicy", "control_plane_restart")
@cell("HibernationPolicy", "control_plane_restart")
def test_a_restart_mid_pause_pauses_once_with_its_snapshot(
    lab: FailoverWorld, stack_of: Any
) -> None:
    stack = stack_of(hibernation_policy)
    stack.up()
    gpu_id, contract = stack.state.by_name("gpu").id, int(_outputs(stack, "gpu")["contract_id"])
    idle = lab.http.put(f"/_sandbox/instances/{contract}/utilization", json={"gpu_util": 0})
    assert idle.status_code == 200, idle.text
    lab.wait("idle noticed", lambda: lab.store.documents.get(lab.user_id, HIBERNATION_IDLE,
                                                             gpu_id), 900)  # fmt: skip
    _hold(lab, "PUT", "/api/v0/instances/*")  # the pause's stop, after its snapshot
    lab.world.marketplace.clock.advance(61 * 60)  # idle for longer than idle_minutes
    lab.wait("the pause held mid-way", lambda: _held(lab), 1800)
    _restart(lab)
    lab.wait("the pause", lambda: lab.events(gpu_id, "hibernation.paused"), 900)
    _let_it_look(lab)  # the new control plane looks at it again

    (paused,) = lab.events(gpu_id, "hibernation.paused")
    key = paused["data"]["snapshot_key"]
    taken = [e["data"].get("key") for e in lab.events(gpu_id, "snapshot.taken")]
    assert taken.count(key) == 1, taken  # its snapshot written once, and kept
    assert BUCKET in leftovers(lab.world).get("buckets", [])
    assert not lab.running(contract)

    stack.refresh()
    assert _outputs(stack, "gpu-sleep")["state"] == "paused"
    assert_as_declared(lab, stack)
    stack.destroy()
    assert_nothing_left(lab)
