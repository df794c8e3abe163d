"""Every resource the package declares, in one place: the public names, the resource reference
(``docs/resources.md``) and the frozen provider blobs are all derived from this list.

Adding a resource is its model (``models/``), its provider (``provider/``), its short program
module (``resources/``) and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.budget import Budget
from dumont_iac.resources.cpu_standby import CpuStandby
from dumont_iac.resources.failover_policy import FailoverPolicy
from dumont_iac.resources.gpu_fleet import GpuFleet
from dumont_iac.resources.gpu_instance import GpuInstance
from dumont_iac.resources.hibernation_policy import HibernationPolicy
from dumont_iac.resources.snapshot_policy import SnapshotPolicy
from dumont_iac.resources.warm_pool import WarmPool


@dataclass(frozen=True)
class ResourceEntry:
    resource: type[DumontResource[Any]]
    fixture: str
    """File stem of its frozen provider blobs (``<fixture>-<version>.json``)."""

    @property
    def name(self) -> str:
        return self.resource.__name__

    @property
    def model(self) -> type[Any]:
        return self.resource.model

    @property
    def provider(self) -> type[Any]:
        return self.resource.provider

    @property
    def type_token(self) -> str:
        """The resource type in URNs and state: ``pulumi-python:dynamic/<module>:<name>``."""
        return f"pulumi-python:{self.resource._resource_type_name}"


RESOURCES: tuple[ResourceEntry, ...] = (
    ResourceEntry(GpuInstance, "gpu_instance"),
    ResourceEntry(GpuFleet, "gpu_fleet"),
    ResourceEntry(WarmPool, "warm_pool"),
    ResourceEntry(CpuStandby, "cpu_standby"),
    ResourceEntry(FailoverPolicy, "failover_policy"),
    ResourceEntry(SnapshotPolicy, "snapshot_policy"),
    ResourceEntry(HibernationPolicy, "hibernation_policy"),
    ResourceEntry(Budget, "budget"),
)
"""In the order the reference documents them."""


def public_names() -> dict[str, Any]:
    """What ``dumont_iac`` exports for the resources: each class and its arguments model."""
    names: dict[str, Any] = {}
    for entry in RESOURCES:
        names[entry.name] = entry.resource
        names[entry.model.__name__] = entry.model
    return names
