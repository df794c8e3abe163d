"""What belongs to a budget's scope, and what it bills per hour now.

A rental is in scope when its label's ``dumont:<id>`` marker is one of the budget's ids, or a
fleet member (``<id>-<n>``) or warm-pool standby (``<id>.standby-<k>``) of one; a volume the
same way; an EC2 VM when its ``dumont:gpu`` tag is one of the ids. A budget with no ids covers
everything that carries a marker.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from dumont_iac.clients.aws.pricing import ec2_hourly
from dumont_iac.clients.aws.tagged_vms import TaggedVm
from dumont_iac.clients.marketplace.models import HOURS_PER_MONTH as STORAGE_HOURS
from dumont_iac.clients.marketplace.models import Instance, Volume
from dumont_iac.provider.labels import STANDBY_SUFFIX, logical_id_of

GPU_BILLING = ("running",)  # GPU time bills while running; the disk bills from creation


def covers(ids: Collection[str], marker: str | None) -> bool:
    if not marker:
        return False
    if not ids:
        return True
    return any(
        marker == i or marker.startswith(i + STANDBY_SUFFIX) or _member(i, marker) for i in ids
    )


def _member(fleet_id: str, marker: str) -> bool:
    rest = marker[len(fleet_id) + 1 :] if marker.startswith(fleet_id + "-") else ""
    return rest.isdigit()


@dataclass
class Billing:
    """What is in scope right now, and its rate in $/h."""

    rentals: list[Instance] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    vms: list[TaggedVm] = field(default_factory=list)

    @property
    def running_gpus(self) -> int:
        return sum(r.num_gpus or 0 for r in self.rentals if _gpus_bill(r))

    def rate_per_hour(self) -> float:
        rate = sum(rental_rate(r) for r in self.rentals)
        rate += sum((v.size_gb or 0.0) * (v.storage_cost or 0.0) / STORAGE_HOURS
                    for v in self.volumes)  # fmt: skip
        rate += sum(ec2_hourly(vm.instance_type, vm.spot)[0] for vm in self.vms
                    if vm.state in ("pending", "running"))  # fmt: skip
        return rate

    def markers(self) -> set[str]:
        return {m for r in self.rentals if (m := logical_id_of(r.label))}


def in_scope(
    ids: Collection[str],
    rentals: list[Instance],
    volumes: list[Volume],
    vms: list[TaggedVm],
) -> Billing:
    return Billing(
        rentals=[r for r in rentals if covers(ids, logical_id_of(r.label))],
        volumes=[v for v in volumes if covers(ids, logical_id_of(v.label))],
        vms=[vm for vm in vms if covers(ids, vm.gpu_id)],
    )


def rental_rate(rental: Instance) -> float:
    """Running: what the marketplace bills (``dph_total``, GPUs and disk); stopped: the disk."""
    if _gpus_bill(rental):
        return rental.dph_total or 0.0
    return storage_rate(rental)


def storage_rate(rental: Instance) -> float:
    if rental.storage_cost is not None and rental.disk_space is not None:
        return rental.disk_space * rental.storage_cost / STORAGE_HOURS
    return max((rental.dph_total or 0.0) - (rental.dph_base or 0.0), 0.0)


def _gpus_bill(rental: Instance) -> bool:
    return rental.actual_status in GPU_BILLING
