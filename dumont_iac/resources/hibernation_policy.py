"""``HibernationPolicy``: pause a GPU that sits idle, destroy it after a while paused, wake it
with its last snapshot.

    HibernationPolicy("train-hibernation", gpu=train, snapshots=snapshots, idle_minutes=3,
                      destroy_after_minutes=30)

Arguments and outputs: ``dumont_iac.models.hibernation_policy``; what the provider does with
them: ``dumont_iac.provider.hibernation_policy``; the states and wake: ``docs/hibernation.md``.
"""

from __future__ import annotations

from typing import Any

import pulumi

from dumont_iac.models.hibernation_policy import HibernationPolicyArgs
from dumont_iac.provider.hibernation_policy import HibernationPolicyProvider
from dumont_iac.resources.gpu_policy import GpuPolicyResource


class HibernationPolicy(
    GpuPolicyResource[HibernationPolicyArgs], module="dumont", name="HibernationPolicy"
):
    """Hibernation of one GPU. Pass ``gpu=``, ``snapshots=<SnapshotPolicy of that GPU>`` and
    the fields of ``HibernationPolicyArgs``."""

    model = HibernationPolicyArgs
    provider = HibernationPolicyProvider

    def __init__(
        self,
        resource_name: str,
        args: HibernationPolicyArgs | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        snapshots: Any = None,
        **kwargs: Any,
    ) -> None:
        if snapshots is not None:
            kwargs.setdefault("snapshot_policy_id", snapshots.id)
        super().__init__(resource_name, args, opts, **kwargs)
