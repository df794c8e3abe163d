"""The engine side of ``CpuStandby``: an EC2 VM, and its association with the GPU registered with
the control plane, whose standby agent syncs the GPU to it and fails over onto it.

Identity: the resource id is a logical id (``standby-<12 hex>``) derived from the stack, the
resource name and every argument that replaces the VM. The VM carries it as its
``dumont:standby`` tag (and the GPU's logical id as ``dumont:gpu``), so a create that died after
launching finds its VM by tag and adopts it, and a sweeper finds every VM of a GPU.

Nothing bills after a failed create: the control plane is asked first (its URL and key, before
any VM exists), and a VM whose registration fails is terminated before the error surfaces.
Delete removes the association first (the agent must not fail over onto a VM being
terminated), then terminates the VM and waits until it is.
"""

from __future__ import annotations

import logging
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult

from dumont_iac.clients.aws.ec2 import Ec2, Vm, VmSpec
from dumont_iac.clients.aws.pricing import ebs_hourly, ec2_hourly
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.models.policies import StandbyAssociation
from dumont_iac.control_plane.models.responses import AssociationOut
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import AwsCapacityError, CreateFailed, DumontError, ProviderError
from dumont_iac.models.cpu_standby import RESERVED_TAG_PREFIXES, RESERVED_TAGS, CpuStandbyArgs
from dumont_iac.provider import labels
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.schema import fields_of

log = logging.getLogger("dumont_iac.provider")

STANDBY_PREFIX = "standby"
GPU_TAG = "dumont:gpu"
STANDBY_TAG = "dumont:standby"
TERMINATE_TIMEOUT_SECONDS = 600
UNREGISTERED = "unregistered"
"""``state`` when the control plane has no association for the GPU: the next deploy registers."""


def logical_id_for(args: CpuStandbyArgs) -> str:
    return labels.logical_id_for(args, STANDBY_PREFIX)


class CpuStandbyProvider(SchemaProvider[CpuStandbyArgs]):
    schema = CpuStandbyArgs

    @classmethod
    def cost(cls, args: CpuStandbyArgs, market: MarketplaceClient) -> ResourceCost:
        """The VM at its listed price (spot at its usual discount) plus its volume; the worst
        case is on demand, what a spot VM can cost at most."""
        del market
        rate, basis = ec2_hourly(args.instance_type, args.spot)
        worst, _ = ec2_hourly(args.instance_type, False)
        disk = ebs_hourly(args.disk_size_gb)
        return ResourceCost(
            round(rate + disk, 6),
            round(worst + disk, 6),
            f"EC2 {basis} + {args.disk_size_gb} GB gp3",
        )

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        """As the schema says, and an association the control plane lost is registered again
        (``state`` names why in the plan)."""
        planned = super().diff(id_, olds, news)
        if olds.get("state") != UNREGISTERED or planned.replaces:
            return planned
        return DiffResult(
            changes=True,
            replaces=[],
            stables=[],
            delete_before_replace=True,
        )

    # --- create ----------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        if not args.logical_name:
            raise ProviderError(
                "logical_name is not set: declare standbys with dumont_iac.CpuStandby, which "
                "sets it to project/stack/resource, or give a logical_name unique to it"
            )
        standby_id = logical_id_for(args)
        control = ControlPlaneClient()
        ec2 = Ec2(args.region)
        # Before anything bills: the control plane answers with this key, and no other
        # standby protects the GPU already.
        _refuse_a_second_standby(control, ec2, args.gpu_id, standby_id)
        try:
            vm = ec2.launch(_spec(args, standby_id), identity=(STANDBY_TAG, standby_id))
        except AwsCapacityError as exc:
            raise ProviderError(
                f"CPU standby {args.logical_name} ({standby_id}): {exc} No VM was launched."
            ) from exc
        log.info("CPU standby %s: VM %s (%s)", standby_id, vm.instance_id, vm.state)
        try:
            vm = ec2.wait_running(vm.instance_id, timeout=args.create_timeout_seconds)
            registered = control.put_association(args.gpu_id, _association(args, standby_id, vm))
        except (DumontError, TimeoutError) as exc:
            _terminate_after_failure(ec2, vm.instance_id, standby_id)
            raise CreateFailed(
                f"CPU standby {args.logical_name} ({standby_id}) for GPU {args.gpu_id}: {exc} "
                f"VM {vm.instance_id} was terminated, so nothing is left billing; fix the "
                "cause and run `pulumi up` again."
            ) from exc
        outputs = _outputs(standby_id, vm, registered)
        return CreateResult(standby_id, self.outs(args, **outputs))

    # --- read ------------------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        args = self.args(props)
        ec2 = Ec2(args.region)
        vm = _current(ec2, id_, props.get("ec2_instance_id"))
        if vm is None:
            return self.gone()  # terminated out of band: the next up launches a new one
        registered = ControlPlaneClient().association(args.gpu_id)
        if registered is not None and registered.cpu_instance_name != id_:
            registered = None  # another standby took the GPU over
        inputs = {k: v for k, v in props.items() if k in fields_of(CpuStandbyArgs).arguments}
        # Outputs show the live tags, so the next deploy puts the declared ones back.
        live = args.model_copy(update={"tags": _user_tags(vm.tags)})
        return ReadResult(id_, self.outs(live, **_outputs(id_, vm, registered)), inputs)

    # --- update ----------------------------------------------------------------------------

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self.args(olds), self.args(news)
        ec2 = Ec2(new.region)
        vm = _current(ec2, id_, olds.get("ec2_instance_id"))
        if vm is None:
            raise ProviderError(
                f"CPU standby {id_}: its VM is gone (terminated outside this stack); run "
                "`pulumi refresh` to drop it, then `pulumi up` to launch a new one."
            )
        stale = set(old.tags) | set(_user_tags(vm.tags))
        ec2.set_tags(vm.instance_id, _vm_tags(new, id_), remove=stale - set(new.tags))
        registered = ControlPlaneClient().put_association(new.gpu_id, _association(new, id_, vm))
        vm = ec2.describe(vm.instance_id) or vm
        return UpdateResult(self.outs(new, **_outputs(id_, vm, registered)))

    # --- delete ----------------------------------------------------------------------------

    def delete(self, id_: str, props: dict) -> None:
        """Unregister, terminate every VM carrying the id, and return once they are gone.
        Repeating it is harmless: a missing association or VM counts as done."""
        args = self.args(props)
        ec2 = Ec2(args.region)
        unregistered: Exception | None = None
        try:
            _unregister(ControlPlaneClient(), args.gpu_id, id_)
        except DumontError as exc:
            unregistered = exc  # still terminate: a VM must not bill while the plane is down
        vms = {vm.instance_id for vm in ec2.find_by_tag(STANDBY_TAG, id_)}
        if props.get("ec2_instance_id"):
            vms.add(str(props["ec2_instance_id"]))
        for instance_id in sorted(vms):
            log.info("CPU standby %s: terminating VM %s", id_, instance_id)
            ec2.terminate(instance_id)
        for instance_id in sorted(vms):
            ec2.wait_terminated(instance_id, timeout=TERMINATE_TIMEOUT_SECONDS)
        if unregistered is not None:
            raise ProviderError(
                f"CPU standby {id_}: its VM is terminated, but the control plane still holds "
                f"the association of GPU {args.gpu_id} ({unregistered}); run `pulumi destroy` "
                "again once it answers."
            ) from unregistered


# --- helpers --------------------------------------------------------------------------------


def _spec(args: CpuStandbyArgs, standby_id: str) -> VmSpec:
    return VmSpec(
        instance_type=args.instance_type,
        image_id=args.image_id,
        spot=args.spot,
        subnet_id=args.subnet_id,
        security_group_ids=tuple(args.security_group_ids),
        disk_size_gb=args.disk_size_gb,
        tags=_vm_tags(args, standby_id),
    )


def _vm_tags(args: CpuStandbyArgs, standby_id: str) -> dict[str, str]:
    return {
        **args.tags,
        "Name": args.logical_name or standby_id,
        GPU_TAG: args.gpu_id,
        STANDBY_TAG: standby_id,
    }


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in tags.items()
        if k not in RESERVED_TAGS and not k.lower().startswith(RESERVED_TAG_PREFIXES)
    }


def _association(args: CpuStandbyArgs, standby_id: str, vm: Vm) -> StandbyAssociation:
    body: dict[str, Any] = {
        "cpu_instance_name": standby_id,
        "zone": vm.zone or f"{args.region}a",
        "ip": vm.private_ip,
        "sync_enabled": True,
        "ec2_instance_id": vm.instance_id,
        "region": args.region,
        "sync_interval_seconds": args.sync_interval_seconds,
        "health_check_interval_seconds": args.health_check_interval_seconds,
        "failure_threshold": args.failure_threshold,
        "auto_failover": args.auto_failover,
        "auto_recovery": args.auto_recovery,
        "gpu": args.gpu_spec,
    }
    return StandbyAssociation.model_validate(body)


def _current(ec2: Ec2, standby_id: str, instance_id: object) -> Vm | None:
    """The live VM of the standby: the recorded one, else the newest carrying its tag."""
    if instance_id:
        vm = ec2.describe(str(instance_id))
        if vm is not None and not vm.gone:
            return vm
    found = ec2.find_by_tag(STANDBY_TAG, standby_id)
    return found[0] if found else None


def _refuse_a_second_standby(
    control: ControlPlaneClient, ec2: Ec2, gpu_id: str, standby_id: str
) -> None:
    existing = control.association(gpu_id)
    if existing is None or existing.cpu_instance_name == standby_id:
        return
    other = ec2.describe(existing.ec2_instance_id) if existing.ec2_instance_id else None
    if other is not None and not other.gone:
        raise ProviderError(
            f"GPU {gpu_id} already has a CPU standby ({existing.cpu_instance_name}, VM "
            f"{other.instance_id}); a GPU has one standby: remove the other CpuStandby first."
        )


def _unregister(control: ControlPlaneClient, gpu_id: str, standby_id: str) -> None:
    existing = control.association(gpu_id)
    if existing is not None and existing.cpu_instance_name == standby_id:
        control.delete_association(gpu_id)


def _terminate_after_failure(ec2: Ec2, instance_id: str, standby_id: str) -> None:
    try:
        ec2.terminate(instance_id)
        ec2.wait_terminated(instance_id, timeout=TERMINATE_TIMEOUT_SECONDS)
    except (DumontError, TimeoutError):
        log.exception("CPU standby %s: could not terminate VM %s", standby_id, instance_id)
        raise


def _outputs(standby_id: str, vm: Vm, registered: AssociationOut | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "logical_id": standby_id,
        "ec2_instance_id": vm.instance_id,
        "vm_state": vm.state,
        "private_ip": vm.private_ip,
        "public_ip": vm.public_ip,
        "zone": vm.zone,
        "ami_id": vm.image_id,
        "state": UNREGISTERED,
    }
    if registered is not None:
        values |= {
            "state": registered.state,
            "last_sync_at": registered.last_sync_at,
            "gpu_failed": registered.gpu_failed,
            "failure_reason": registered.failure_reason,
            "last_failover_at": registered.last_failover_at,
            "failovers_last_24h": registered.failovers_last_24h,
        }
    return values
