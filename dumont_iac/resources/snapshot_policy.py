"""``SnapshotPolicy``: a GPU's workspace snapshotted into an S3 bucket on schedule.

    snapshots = SnapshotPolicy("train-snapshots", gpu=train, bucket="ml-snapshots",
                               interval_minutes=15, retention_days=7)

Arguments and outputs: ``dumont_iac.models.snapshot_policy``; what the provider does with them:
``dumont_iac.provider.snapshot_policy``; how snapshots are taken: ``docs/snapshots.md``.
"""

from __future__ import annotations

from dumont_iac.models.snapshot_policy import SnapshotPolicyArgs
from dumont_iac.provider.snapshot_policy import SnapshotPolicyProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.gpu_reference import TakesGpu


class SnapshotPolicy(
    TakesGpu, DumontResource[SnapshotPolicyArgs], module="dumont", name="SnapshotPolicy"
):
    """Snapshots of one GPU. Pass ``gpu=<GpuInstance|WarmPool>`` and the policy's fields."""

    model = SnapshotPolicyArgs
    provider = SnapshotPolicyProvider
