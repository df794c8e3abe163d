"""CPU-standby failover: the standby VM serves while a new GPU is rented, then gives back.

Between failures the standby manager syncs the GPU's workspace to the standby every
``sync_interval_seconds`` (``sync``). On GPU loss the standby becomes active (``activate``):
the dead contract is destroyed so it stops billing, and the standby holds the last synced
workspace. With auto-recovery, a new GPU is rented under the constraints the GPU was
registered with (``recover``), labelled with the GPU's marker (so it *is* the logical GPU),
the workspace restored onto it, and the association goes back to syncing.

The standby's copy of the workspace is kept in the control plane's store (as the VM's disk
would hold it): moto's EC2 runs no VM to hold files.
"""

from __future__ import annotations

import base64
from typing import Any

from dumont_iac.clients.aws import session
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.clients.marketplace.workspace import workspaces_for
from dumont_iac.control_plane.failover.context import CannotFailOver, GpuContext
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.store.documents import STANDBY, STANDBY_COPY, STANDBY_STATE
from dumont_iac.errors import AwsNotFound, DumontError
from dumont_iac.provider.labels import rental_label
from dumont_iac.provider.renting import rent_cheapest, settle

SERVING = frozenset({"pending", "running"})
RECOVERY_TIMEOUT = 600.0  # real seconds a new GPU gets to reach running


def association(ctx: GpuContext) -> dict[str, Any]:
    found = ctx.doc(STANDBY)
    if found is None:
        raise CannotFailOver("cpu standby: no standby VM is associated with this GPU")
    return found


def vm_state(ctx: GpuContext, found: dict[str, Any]) -> str:
    """The EC2 state of the association's VM ("running", "terminated" ...; "unknown")."""
    instance_id = found.get("ec2_instance_id")
    if not instance_id:
        return "unknown"
    ec2 = session.client("ec2", found.get("region"), access=ctx.aws)
    try:
        with session.translated("DescribeInstances"):
            answer = ec2.describe_instances(InstanceIds=[instance_id])
    except AwsNotFound:
        return "terminated"
    for reservation in answer.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            return str(instance["State"]["Name"])
    return "terminated"


def sync(ctx: GpuContext, contract: Instance) -> dict[str, Any]:
    """Copy the GPU's workspace to its standby; the new standby state."""
    workspaces = workspaces_for(ctx.market)
    if workspaces is None:
        return ctx.merge(
            STANDBY_STATE, state="syncing", sync_note="workspace sync needs SSH access to the "
            "GPU, which this control plane does not drive on the real marketplace",
        )  # fmt: skip
    files = workspaces.read(contract.id)
    ctx.merge(STANDBY_COPY, files={k: base64.b64encode(v).decode() for k, v in files.items()},
              contract_id=contract.id, synced_at=ctx.now())  # fmt: skip
    return ctx.merge(
        STANDBY_STATE,
        state="syncing",
        last_sync_at=ctx.now(),
        synced_files=len(files),
        synced_bytes=sum(len(v) for v in files.values()),
    )


def activate(ctx: GpuContext, failed: Instance | None, reason: str) -> dict[str, Any]:
    """The standby serves the GPU's workload; the dead contract stops billing."""
    found = association(ctx)
    state = vm_state(ctx, found)
    if state not in SERVING:
        ctx.merge(STANDBY_STATE, state="error", failure_reason=f"standby VM is {state}")
        raise CannotFailOver(
            f"cpu standby: its VM {found.get('ec2_instance_id')} is {state}; run `pulumi up` "
            "to recreate it"
        )
    if failed is not None:
        ctx.market.destroy(failed.id)
    ctx.merge(STANDBY_STATE, state="failover_active", gpu_failed=True, failure_reason=reason,
              active_since=ctx.now())  # fmt: skip
    ctx.record("standby.active", f"CPU standby {found.get('ec2_instance_id')} serves the GPU")
    return {"strategy": "cpu_standby", "standby": found.get("ec2_instance_id")}


def recover(ctx: GpuContext) -> dict[str, Any]:
    """Rent a new GPU under the registered constraints; restore; back to syncing."""
    found = association(ctx)
    spec = GpuSpec.model_validate(found["gpu"])
    args = spec.args()
    ctx.merge(STANDBY_STATE, state="recovering")
    try:
        contract = rent_cheapest(ctx.market, args, rental_label(ctx.gpu_id, spec.label))
        settle(ctx.market, contract, "running", RECOVERY_TIMEOUT, "recovery")
    except DumontError as exc:
        ctx.merge(STANDBY_STATE, state="failover_active", failure_reason=f"recovery: {exc}")
        raise
    restored = _restore(ctx, contract)
    ctx.merge(STANDBY_STATE, state="syncing", gpu_failed=False, failure_reason=None,
              recovered_at=ctx.now())  # fmt: skip
    ctx.record("recovery.succeeded", f"GPU recovered on contract {contract}",
               contract_id=contract, restored_files=restored)  # fmt: skip
    return {"recovered_contract_id": contract, "restored_files": restored}


def _restore(ctx: GpuContext, contract_id: int) -> int:
    copy = ctx.doc(STANDBY_COPY)
    workspaces = workspaces_for(ctx.market)
    if not copy or workspaces is None:
        return 0
    files = {k: base64.b64decode(v) for k, v in copy.get("files", {}).items()}
    workspaces.write(contract_id, files)
    return len(files)
