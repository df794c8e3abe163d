"""A GPU's snapshot policy as the ``SnapshotPolicy`` resource registers it, and what the
snapshot agent reports back about it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dumont_iac.clients.aws.s3 import BUCKET_PATTERN
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, Body

Bucket = Annotated[str, StringConstraints(pattern=BUCKET_PATTERN)]
EndpointUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,300}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")]
INTERVALS = (5, 15, 30, 60)

POLICY_EXAMPLE: dict[str, Any] = {
    "bucket": "ml-snapshots",
    "endpoint_url": None,
    "region": "us-east-1",
    "retention_days": 7,
    "interval_minutes": 15,
    "keep_at_least": 1,
    "keep_at_most": 100,
}


class SnapshotPolicySpec(Body):
    """Where a GPU's snapshots go, how often one is taken and how long they are kept."""

    bucket: Bucket
    endpoint_url: EndpointUrl | None = Field(
        default=None, description="An S3-compatible store's URL; null: AWS S3."
    )
    region: Region | None = None
    retention_days: int = Field(default=7, ge=0, le=3650, description="0 keeps them forever.")
    interval_minutes: Literal[5, 15, 30, 60] = 15
    keep_at_least: int = Field(default=1, ge=1, le=1000)
    keep_at_most: int = Field(default=100, ge=1, le=1000)

    model_config = ConfigDict(json_schema_extra={"examples": [POLICY_EXAMPLE]})

    @model_validator(mode="after")
    def _bounds(self) -> SnapshotPolicySpec:
        if self.keep_at_least > self.keep_at_most:
            raise ValueError(
                f"keep_at_least ({self.keep_at_least}) must not exceed keep_at_most "
                f"({self.keep_at_most})"
            )
        return self


class SnapshotStatus(BaseModel):
    """What the snapshot agent last did for a GPU."""

    last_snapshot_at: float | None = None
    last_snapshot_key: str | None = None
    last_snapshot_bytes: int | None = None
    snapshot_count: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


class SnapshotPolicyOut(SnapshotPolicySpec):
    model_config = ConfigDict(extra="ignore", strict=False)

    gpu_id: str
    status: SnapshotStatus


SNAPSHOT_POLICY_OUT_EXAMPLE: dict[str, Any] = {
    "gpu_id": GPU_ID_EXAMPLE,
    **POLICY_EXAMPLE,
    "status": {
        "last_snapshot_at": 1_800_000_900.0,
        "last_snapshot_key": f"{GPU_ID_EXAMPLE}/20270115T080000.000Z.tar.gz",
        "last_snapshot_bytes": 10240,
        "snapshot_count": 3,
        "last_error": None,
        "last_error_at": None,
    },
}
