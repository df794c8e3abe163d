"""Arguments and outputs of ``SnapshotPolicy``: a GPU's workspace snapshotted into an S3 bucket
(or any S3-compatible store) every ``interval_minutes``, kept per retention.

The bucket is created by the policy, or adopted (``adopt_bucket``) when it exists already. The
control plane takes the snapshots between deploys (``<gpu_id>/<time>.tar.gz`` objects) and
applies retention itself; the bucket also gets a lifecycle rule expiring objects after
``retention_days``. Destroying the policy stops the snapshots and keeps the bucket and every
snapshot in it, unless ``force_destroy`` is set.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from dumont_iac.clients.aws.s3 import BUCKET_PATTERN
from dumont_iac.schema import ResourceSchema, arg, computed

GPU_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class SnapshotPolicyArgs(ResourceSchema):
    """Arguments and outputs of a GPU's snapshot policy."""

    resource_name: ClassVar[str] = "SnapshotPolicy"

    gpu_id: str = arg(
        replaces=True,
        pattern=GPU_ID_PATTERN,
        description="The GPU's logical id (pass gpu=<GpuInstance|WarmPool> to set it).",
    )
    gpu_spec: dict[str, Any] | None = arg(
        None, description="The GPU's declared arguments (set from gpu=)."
    )
    bucket: str = arg(
        replaces=True, pattern=BUCKET_PATTERN, description="S3 bucket receiving the snapshots."
    )
    adopt_bucket: bool = arg(
        False,
        replaces=True,
        description="Use an existing bucket instead of creating it (it is never deleted).",
    )
    endpoint_url: str | None = arg(
        None,
        replaces=True,
        pattern=r"^https?://\S+$",
        description="An S3-compatible store's URL (R2, B2, MinIO); unset: AWS S3, or "
        "AWS_ENDPOINT_URL.",
    )
    region: str | None = arg(None, replaces=True, description="The bucket's AWS region.")
    retention_days: int = arg(
        7, ge=0, le=3650, description="Days a snapshot is kept; 0 keeps them forever."
    )
    interval_minutes: Literal[5, 15, 30, 60] = arg(
        15, description="Minutes between two snapshots: 5, 15, 30 or 60."
    )
    keep_at_least: int = arg(
        1, ge=1, le=1000, description="Never fewer snapshots than this, however old."
    )
    keep_at_most: int = arg(100, ge=1, le=1000, description="Never more snapshots than this.")
    force_destroy: bool = arg(
        False,
        description="Destroying the policy also deletes the GPU's snapshots, and the bucket "
        "when the policy created it. Off: bucket and snapshots stay.",
    )

    bucket_created: bool | None = computed(
        description="True when the policy created the bucket (false: adopted)."
    )
    last_snapshot_at: float | None = computed(
        description="When the last snapshot was taken (epoch seconds)."
    )
    last_snapshot_key: str | None = computed(description="Object key of the last snapshot.")
    snapshot_count: int | None = computed(description="Snapshots of the GPU in the bucket.")
    last_error: str | None = computed(description="Why the last snapshot failed, if it did.")

    @model_validator(mode="after")
    def _bounds(self) -> SnapshotPolicyArgs:
        if self.keep_at_least > self.keep_at_most:
            raise ValueError(
                f"keep_at_least ({self.keep_at_least}) must not exceed keep_at_most "
                f"({self.keep_at_most})"
            )
        return self
