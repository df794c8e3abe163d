"""``HibernationPolicy``: pause a GPU that sits idle, destroy it after a while paused, wake it
with its last snapshot.

    HibernationPolicy("train-hibernation", gpu=train, snapshots=snapshots, idle_minutes=3,
                      destroy_after_minutes=30)

Arguments and outputs: ``dumont_iac.models.hibernation_policy``; what the provider does with
them: ``dumont_iac.provider.hibernation_policy``; the states and wake: ``docs/hibernation.md``.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.models.hibernation_policy import HibernationPolicyArgs
from dumont_iac.provider.hibernation_policy import HibernationPolicyProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.gpu_reference import TakesGpu


class HibernationPolicy(
    TakesGpu, DumontResource[HibernationPolicyArgs], module="dumont", name="HibernationPolicy"
):
    """Hibernation of one GPU. Pass ``gpu=<GpuInstance|WarmPool>``, ``snapshots=<its
    SnapshotPolicy>`` and the policy's fields."""

    model = HibernationPolicyArgs
    provider = HibernationPolicyProvider

    @classmethod
    def program_arguments(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        values = super().program_arguments(kwargs)
        if "snapshots" in values:
            values = dict(values)
            values["snapshot_policy_id"] = values.pop("snapshots").id  # created after it
        return values
