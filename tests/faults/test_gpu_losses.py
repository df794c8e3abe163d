"""GPUs lost after ``up``, on the whole stack at once: machines that fail and bids that lose.

What protects a GPU acts between deploys (a warm pool promotes its same-host standby, a CPU
standby serves while a new GPU is rented elsewhere, an outbid GPU is bid back under its cap);
what nothing protects is shown by the next ``refresh`` and replaced by the next ``up``. Either
way the stack ends holding exactly what it declares, its registrations intact, and a destroy
leaves nothing billing.
"""

from __future__ import annotations

from typing import Any

from dumont_iac import GpuInstance
from dumont_iac.testing import Deployment
from dumont_iac.testing.failover import FailoverWorld

from .matrix import for_every_row
from .stacks import GPU, assert_as_declared, assert_nothing_left, every_resource


def every_resource_and_a_bare_gpu() -> None:
    """Every row, and a GPU that nothing protects (the stack's own GPU has a CPU standby)."""
    every_resource()
    GpuInstance("bare", **GPU)


def _outputs(stack: Deployment, name: str) -> dict[str, Any]:
    return stack.state.by_name(name).outputs


def _fleet_member(stack: Deployment) -> dict[str, Any]:
    member: dict[str, Any] = _outputs(stack, "fleet")["members"][0]
    return member


def _deployed(stack_of: Any) -> tuple[Deployment, dict[str, str], list[dict[str, Any]]]:
    """The stack up: its GPUs' ids, and the outputs of the GPU, the pool, the bare GPU and
    a fleet member."""
    stack = stack_of(every_resource_and_a_bare_gpu)
    stack.up()
    ids = {name: stack.state.by_name(name).id for name in ("gpu", "pool", "bare")}
    outputs = [_outputs(stack, name) for name in ("gpu", "pool", "bare")]
    return stack, ids, [*outputs, _fleet_member(stack)]


@for_every_row("machine_failure")
def test_failed_machines_are_failed_over_or_replaced_and_the_stack_ends_as_declared(
    lab: FailoverWorld, stack_of: Any
) -> None:
    stack, ids, (gpu, pool, bare, member) = _deployed(stack_of)
    # Each GPU's hardware fails (out of service until its machine is repaired): the pool's
    # primary, the GPU the CPU standby protects, the bare GPU and a fleet member.
    failed = [int(o["contract_id"]) for o in (pool, gpu, bare, member)]
    for contract in failed:
        lab.fault(f"instances/{contract}/fail")
    lab.wait("the pool's failover", lambda: lab.events(ids["pool"], "action.succeeded"), 900)
    lab.wait("the GPU's recovery", lambda: lab.events(ids["gpu"], "recovery.succeeded"), 900)

    refreshed = stack.refresh()
    assert not refreshed.deleted
    assert _outputs(stack, "bare")["status"] == "exited"
    moved = _outputs(stack, "gpu")
    assert int(moved["contract_id"]) not in failed and moved["status"] == "running", moved
    assert stack.state.by_name("gpu").id == ids["gpu"]  # the same GPU, on a new contract
    promoted = _outputs(stack, "pool")
    assert promoted["contract_id"] == pool["standby_contract_ids"][0]
    assert promoted["machine_id"] == pool["machine_id"]

    again = stack.up()  # what nothing protects is replaced; what failed over is left alone
    assert "bare" in again.names("replaced")
    assert not set(again.names("replaced")) & {"gpu", "pool"}
    assert _outputs(stack, "bare")["status"] == "running"
    assert int(_outputs(stack, "bare")["contract_id"]) not in failed
    assert int(_fleet_member(stack)["contract_id"]) not in failed
    assert_as_declared(lab, stack)

    stack.destroy()
    assert_nothing_left(lab)


@for_every_row("outbid")
def test_outbid_gpus_are_bid_back_or_left_stopped_and_the_stack_ends_as_declared(
    lab: FailoverWorld, stack_of: Any
) -> None:
    stack, ids, (gpu, pool, bare, member) = _deployed(stack_of)
    protected = {"gpu": int(gpu["contract_id"]), "pool": int(pool["contract_id"])}
    for contract in (*protected.values(), int(bare["contract_id"]), int(member["contract_id"])):
        lab.fault(f"instances/{contract}/outbid")

    # A protected GPU is won back on the same contract with a bid under its price cap.
    for name, contract in protected.items():
        lab.wait(f"{name} bid back", lambda c=contract: lab.running(c), 900)
        (rebid,) = lab.events(ids[name], "failover.rebid")
        assert rebid["data"]["bid"] <= GPU["max_price_per_hour"]
        assert lab.events(ids[name], "action.requested") == []  # no failover was needed

    refreshed = stack.refresh()
    assert not refreshed.deleted
    for name in ("bare", "fleet"):  # nothing protects these: they stay outbid, and say so
        assert name in refreshed.names("updated")
    left = _outputs(stack, "bare")
    assert left["status"] == "stopped" and left["outbid_by"] > left["price_per_hour"]
    again = stack.up()
    assert not again.created and not again.replaced  # an outbid is a policy's business
    assert any("was outbid" in warning for warning in again.warnings), again.warnings
    assert_as_declared(lab, stack)
    assert {int(_outputs(stack, name)["contract_id"]) for name in protected} == set(
        protected.values()
    )

    stack.destroy()
    assert_nothing_left(lab)
