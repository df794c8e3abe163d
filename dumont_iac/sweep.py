"""Find and destroy everything the library created for a scope of rentals, so that a test run
(or an abandoned stack) leaves nothing billing.

A scope is either a label prefix (the user's part of a rental label starts with it: a test run
labels its resources ``ci-run-42/...``) or every managed rental (``all_managed``). A rental is
in scope only when its label carries a ``dumont:`` marker: unmarked rentals are never touched.
From the rentals in scope follow the rest:

- the GPU ids (a warm pool's standbys belong to the pool's logical GPU),
- the control plane's registrations of those GPUs (a standby association whose GPU label is in
  scope counts too, so a VM whose GPU is already gone is still found),
- EC2 VMs tagged ``dumont:gpu`` with one of those ids (or the ``dumont:standby`` name of an
  association in scope); any VM with either tag for ``all_managed``,
- marketplace volumes named by a marker of a rental in scope, or attached to one,
- with ``buckets``: S3 buckets whose ``dumont-iac:owner`` tag names a snapshot policy of one of
  those GPUs (any owner tag for ``all_managed``): snapshots are data, so only when asked.

Registrations go first, so no agent fails over onto what is being destroyed; then VMs, rentals
(waited for until the marketplace lists none), volumes and buckets. The scope is then looked up
again: whatever is still found is what could not be destroyed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.clients.aws.ec2 import Ec2, Vm
from dumont_iac.clients.aws.s3 import OWNER_TAG, S3Store
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.errors import DumontError, InvalidValue
from dumont_iac.provider.labels import STANDBY_SUFFIX, logical_id_of, user_label_of
from dumont_iac.provider.snapshot_policy import policy_id_for

GPU_TAG = "dumont:gpu"
STANDBY_TAG = "dumont:standby"
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Scope:
    """Which marked rentals to sweep: those whose user label starts with ``label_prefix``, or
    every marked rental with ``all_managed``."""

    label_prefix: str | None = None
    all_managed: bool = False

    def __post_init__(self) -> None:
        if bool(self.label_prefix) == self.all_managed:
            raise InvalidValue(
                f"sweep scope: give a label prefix (got {self.label_prefix!r}) or all_managed, "
                "exactly one of them."
            )

    def covers(self, label: str | None) -> bool:
        if logical_id_of(label) is None:
            return False
        return self.all_managed or (user_label_of(label) or "").startswith(self.label_prefix or "")

    def __str__(self) -> str:
        return "every managed rental" if self.all_managed else f"label prefix {self.label_prefix!r}"


@dataclass(frozen=True)
class Found:
    kind: str  # registration, vm, rental, volume, bucket
    id: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.id}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Plan:
    registrations: list[Found] = field(default_factory=list)
    vms: list[Found] = field(default_factory=list)
    rentals: list[Found] = field(default_factory=list)
    volumes: list[Found] = field(default_factory=list)
    buckets: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # parts not looked at, and why

    def items(self) -> list[Found]:
        return [*self.registrations, *self.vms, *self.rentals, *self.volumes, *self.buckets]


@dataclass
class SweepResult:
    planned: Plan
    left: list[tuple[Found, str]]  # what is still there, and why


@dataclass
class Sweeper:
    """``control_plane`` None: no control plane configured; ``ec2`` None: AWS not configured;
    ``s3`` None: buckets are left alone."""

    market: MarketplaceClient
    scope: Scope
    control_plane: ControlPlaneClient | None = None
    ec2: Ec2 | None = None
    s3: S3Store | None = None
    timeout: float = 300.0
    _errors: dict[Found, str] = field(default_factory=dict)

    # --- look ------------------------------------------------------------------------------

    def plan(self) -> Plan:
        plan = Plan()
        instances = [i for i in self.market.instances() if self.scope.covers(i.label)]
        logical_ids = {logical_id_of(i.label) or "" for i in instances}
        gpu_ids = {lid.split(STANDBY_SUFFIX, 1)[0] for lid in logical_ids}
        plan.rentals = [
            Found("rental", str(i.id), f"{i.label}, {i.actual_status or 'provisioning'}")
            for i in instances
        ]
        standby_names: set[str] = set()
        if self.control_plane is None:
            plan.skipped.append("control-plane registrations: no control plane configured")
        else:
            for association in self.control_plane.associations().associations:
                label = (association.gpu or {}).get("label")
                in_scope = self.scope.all_managed or (
                    label is not None and label.startswith(self.scope.label_prefix or "")
                )
                if in_scope or association.gpu_id in gpu_ids:
                    gpu_ids.add(association.gpu_id)
                    standby_names.add(association.cpu_instance_name)
        if self.ec2 is None:
            plan.skipped.append("EC2 VMs: AWS is not configured")
        else:
            for tag in (GPU_TAG, STANDBY_TAG):
                for vm in self._tagged(tag):
                    wanted = self.scope.all_managed or (
                        vm.tags.get(GPU_TAG) in gpu_ids or vm.tags.get(STANDBY_TAG) in standby_names
                    )
                    if wanted and vm.instance_id not in {f.id for f in plan.vms}:
                        if vm.tags.get(GPU_TAG):
                            gpu_ids.add(vm.tags[GPU_TAG])
                        plan.vms.append(Found("vm", vm.instance_id, _vm_detail(vm.tags, vm.state)))
        if self.control_plane is not None:
            plan.registrations = _registrations(self.control_plane, gpu_ids)
        rental_ids = {i.id for i in instances}
        for volume in self.market.volumes():
            marker = logical_id_of(volume.name) or logical_id_of(volume.label)
            attached = bool(rental_ids & set(volume.instances or []))
            if (marker and (self.scope.all_managed or marker in logical_ids)) or attached:
                plan.volumes.append(Found("volume", str(volume.id), volume.name or ""))
        if self.s3 is None:
            plan.skipped.append("S3 buckets: not asked (give --buckets to delete snapshot buckets)")
        else:
            owners = {policy_id_for(g) for g in gpu_ids}
            for bucket in self.s3.bucket_names():
                owner = self.s3.owner_of(bucket)
                if owner and (self.scope.all_managed or owner in owners):
                    plan.buckets.append(Found("bucket", bucket, f"{OWNER_TAG}={owner}"))
        return plan

    def _tagged(self, tag: str) -> list[Vm]:
        assert self.ec2 is not None
        return self.ec2.find_by_tag_key(tag)

    # --- destroy ---------------------------------------------------------------------------

    def sweep(self) -> SweepResult:
        planned = self.plan()
        if self.control_plane is not None:
            cp = self.control_plane
            for item in planned.registrations:
                self._try(item, _forget_gpu, cp, item.id)
        if self.ec2 is not None:
            ec2 = self.ec2
            for item in planned.vms:
                self._try(item, ec2.terminate, item.id)
        for item in planned.rentals:
            self._try(item, self.market.destroy, int(item.id))
        self._wait_rentals_gone({int(f.id) for f in planned.rentals})
        for item in planned.volumes:
            self._try(item, self.market.delete_volume, int(item.id))
        if self.s3 is not None:
            s3 = self.s3
            for item in planned.buckets:
                self._try(item, s3.delete_bucket, item.id, force=True)
        left = [
            (f, self._errors.get(f, "still there after the sweep")) for f in self.plan().items()
        ]
        return SweepResult(planned, left)

    def _try(self, item: Found, action: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        try:
            action(*args, **kwargs)
        except DumontError as exc:
            self._errors[item] = str(exc)

    def _wait_rentals_gone(self, contract_ids: set[int]) -> None:
        deadline = time.monotonic() + self.timeout
        while contract_ids:
            listed = {i.id for i in self.market.instances()}
            contract_ids &= listed
            if not contract_ids or time.monotonic() >= deadline:
                return
            time.sleep(POLL_SECONDS)


def _registrations(cp: ControlPlaneClient, gpu_ids: set[str]) -> list[Found]:
    """The GPUs of ``gpu_ids`` the control plane holds anything for, naming what it holds."""
    with_settings = {g.gpu_id for g in cp.gpus_with_settings()}
    associated = {a.gpu_id for a in cp.associations().associations}
    found = []
    for gpu_id in sorted(gpu_ids):
        kinds = [
            kind
            for kind, held in (
                ("warm pool", lambda g=gpu_id: cp.warm_pool_registration(g) is not None),
                ("cpu standby", lambda g=gpu_id: g in associated),
                ("snapshot policy", lambda g=gpu_id: cp.snapshot_policy(g) is not None),
                ("hibernation policy", lambda g=gpu_id: cp.hibernation_policy(g) is not None),
                ("failover settings", lambda g=gpu_id: g in with_settings),
            )
            if held()
        ]
        if kinds:
            found.append(Found("registration", gpu_id, ", ".join(kinds)))
    return found


def _forget_gpu(cp: ControlPlaneClient, gpu_id: str) -> None:
    """Every registration of one GPU; each delete of one already gone counts as done."""
    cp.delete_warm_pool(gpu_id)
    cp.delete_association(gpu_id)
    cp.delete_snapshot_policy(gpu_id)
    cp.delete_hibernation_policy(gpu_id)
    cp.delete_gpu_settings(gpu_id)


def _vm_detail(tags: dict[str, str], state: str) -> str:
    shown = [f"{k}={tags[k]}" for k in (GPU_TAG, STANDBY_TAG, "Name") if k in tags]
    return ", ".join([*shown, state])
