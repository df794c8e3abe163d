"""The engine side of ``SnapshotPolicy``: the bucket in S3 (created or adopted), and the policy
registered with the control plane, whose agent takes and prunes the snapshots.

Create makes (or adopts) the bucket, puts the retention lifecycle rule on a bucket it created,
and registers the policy; if registering fails, a bucket it created is deleted again (it is
still empty), so a failed create leaves nothing behind. Delete unregisters the policy and keeps
the bucket and its snapshots, unless ``force_destroy``: then the GPU's snapshots are deleted,
and the bucket too when the policy created it.
"""

from __future__ import annotations

import logging
from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from dumont_iac.clients.aws.s3 import S3Store
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.snapshots import SnapshotPolicyOut, SnapshotPolicySpec
from dumont_iac.errors import AwsError, DumontError, ProviderError
from dumont_iac.models.snapshot_policy import SnapshotPolicyArgs
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.schema import fields_of

log = logging.getLogger("dumont_iac.provider")

ID_PREFIX = "snapshots-"


def policy_id_for(gpu_id: str) -> str:
    return ID_PREFIX + gpu_id


def spec_of(args: SnapshotPolicyArgs) -> SnapshotPolicySpec:
    return SnapshotPolicySpec(
        bucket=args.bucket,
        endpoint_url=args.endpoint_url,
        region=args.region,
        retention_days=args.retention_days,
        interval_minutes=args.interval_minutes,
        keep_at_least=args.keep_at_least,
        keep_at_most=args.keep_at_most,
    )


class SnapshotPolicyProvider(SchemaProvider[SnapshotPolicyArgs]):
    schema = SnapshotPolicyArgs

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        s3 = S3Store(args.endpoint_url, args.region)
        owner = policy_id_for(args.gpu_id)
        created = s3.ensure_bucket(args.bucket, adopt=args.adopt_bucket, owner=owner)
        try:
            if created:
                s3.set_retention(args.bucket, args.retention_days)
            registered = ControlPlaneClient().put_snapshot_policy(args.gpu_id, spec_of(args))
        except DumontError as exc:
            if created:
                _delete_empty(s3, args.bucket)
            raise ProviderError(
                f"SnapshotPolicy for GPU {args.gpu_id}: {exc}"
                + (f"; bucket {args.bucket} was deleted again" if created else "")
            ) from exc
        outputs = self.outs(args, **_outputs(registered, created))
        return CreateResult(policy_id_for(args.gpu_id), outputs)

    def read(self, id_: str, props: dict) -> ReadResult:
        args = self.args(props)
        registered = ControlPlaneClient().snapshot_policy(args.gpu_id)
        if registered is None:
            return self.gone()
        inputs = {k: v for k, v in props.items() if k in fields_of(SnapshotPolicyArgs).arguments}
        computed = _outputs(registered, bool(props.get("bucket_created")))
        return ReadResult(id_, self.outs(args, **computed), inputs)

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self.args(olds), self.args(news)
        created = bool(olds.get("bucket_created"))
        if created and old.retention_days != new.retention_days:
            S3Store(new.endpoint_url, new.region).set_retention(new.bucket, new.retention_days)
        registered = ControlPlaneClient().put_snapshot_policy(new.gpu_id, spec_of(new))
        return UpdateResult(self.outs(new, **_outputs(registered, created)))

    def delete(self, id_: str, props: dict) -> None:
        args = self.args(props)
        ControlPlaneClient().delete_snapshot_policy(args.gpu_id)
        if not args.force_destroy:
            log.info("SnapshotPolicy %s: bucket %s and its snapshots kept", id_, args.bucket)
            return
        s3 = S3Store(args.endpoint_url, args.region)
        if props.get("bucket_created"):
            s3.delete_bucket(args.bucket, force=True)
        elif s3.bucket_exists(args.bucket):
            s3.delete_prefix(args.bucket, f"{args.gpu_id}/")


def _outputs(registered: SnapshotPolicyOut, created: bool) -> dict[str, Any]:
    status = registered.status
    return {
        "bucket_created": created,
        "last_snapshot_at": status.last_snapshot_at,
        "last_snapshot_key": status.last_snapshot_key,
        "snapshot_count": status.snapshot_count,
        "last_error": status.last_error,
    }


def _delete_empty(s3: S3Store, bucket: str) -> None:
    try:
        s3.delete_bucket(bucket)
    except AwsError as exc:
        log.warning("could not delete bucket %s after a failed create: %s", bucket, exc)
