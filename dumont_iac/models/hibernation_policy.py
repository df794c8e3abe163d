"""Arguments and outputs of ``HibernationPolicy``: a GPU whose utilisation stays under
``idle_threshold_percent`` for ``idle_minutes`` is snapshotted and stopped (paused); paused for
``destroy_after_minutes`` it is destroyed (hibernated), its last snapshot kept. ``dumont-iac
wake GPU_ID`` rents it anew under its declared arguments and restores that snapshot.

The snapshot goes where the GPU's ``SnapshotPolicy`` sends its snapshots: a hibernation policy
needs one for the same GPU, passed as ``snapshots=`` (so it is created after it and destroyed
before it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from dumont_iac.models.snapshot_policy import GPU_ID_PATTERN
from dumont_iac.schema import ResourceSchema, arg, computed


class HibernationPolicyArgs(ResourceSchema):
    """Arguments and outputs of a GPU's hibernation policy."""

    resource_name: ClassVar[str] = "HibernationPolicy"

    gpu_id: str = arg(
        replaces=True,
        pattern=GPU_ID_PATTERN,
        description="The GPU's logical id (pass gpu=<GpuInstance|WarmPool> to set it).",
    )
    gpu_spec: dict[str, Any] | None = arg(
        None, description="The GPU's declared arguments, rented under on wake (set from gpu=)."
    )
    snapshot_policy_id: str | None = arg(
        None,
        description="The GPU's SnapshotPolicy (pass snapshots=<SnapshotPolicy> to set it).",
    )
    idle_threshold_percent: float = arg(
        5.0, ge=0, le=100, description="Under this GPU utilisation (%) the GPU counts as idle."
    )
    idle_minutes: int = arg(3, ge=1, le=10_080, description="Idle this long: paused.")
    destroy_after_minutes: int = arg(
        30, ge=0, le=43_200, description="Paused this long: destroyed; 0 never destroys."
    )

    state: str | None = computed(description="awake, paused or hibernated.")
    state_since: float | None = computed(description="Since when (epoch seconds).")
    snapshot_key: str | None = computed(description="The snapshot a wake restores.")
    reason: str | None = computed(description="Why the GPU is in its state.")
