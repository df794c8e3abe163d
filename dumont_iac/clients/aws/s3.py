"""S3 (or any S3-compatible store) for snapshot buckets: create or adopt a bucket, a lifecycle
rule for retention, objects in and out, and a bucket deleted with everything in it.

    store = S3Store(endpoint_url=None)          # AWS, or AWS_ENDPOINT_URL (moto in the sandbox)
    store.ensure_bucket("ml-snapshots")         # True when this call created it
    store.put("ml-snapshots", "gpu-0123456789ab/20260101T000000.000Z.tar.gz", data)

Every call goes through ``session.translated``: a caller only ever sees ``AwsError``.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dumont_iac.clients.aws import session
from dumont_iac.errors import AwsError, AwsNotFound, InvalidValue

# S3's own naming rules (lower case, 3 to 63 characters, no leading or trailing dot or dash).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
RETENTION_RULE_ID = "dumont-retention"
OWNER_TAG = "dumont-iac:owner"  # on buckets this library created, naming what created them
_DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


def check_bucket_name(name: str, field: str = "bucket") -> str:
    if not re.match(BUCKET_PATTERN, name or "") or ".." in name:
        raise InvalidValue(
            f"{field}: {name!r} is not a valid bucket name; use 3 to 63 lower-case letters, "
            "digits, dots or dashes, starting and ending with a letter or digit."
        )
    return name


class S3Store:
    """One S3 endpoint: AWS itself (``endpoint_url`` None) or an S3-compatible store.
    ``access`` says where AWS is and who calls it when not from the environment."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        region: str | None = None,
        *,
        access: session.AwsAccess | None = None,
        attempts: int | None = None,
    ) -> None:
        self.region = session.region_or_default(region)
        self.endpoint_url = endpoint_url or (access.endpoint_url if access else None)
        self._client = session.shared_client(
            "s3", self.region, endpoint_url, access, attempts=attempts
        )

    # --- buckets ---------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        try:
            with session.translated("HeadBucket"):
                self._client.head_bucket(Bucket=bucket)
        except AwsNotFound:
            return False
        return True

    def ensure_bucket(self, bucket: str, *, adopt: bool = False, owner: str = "") -> bool:
        """Create the bucket (True), or with ``adopt`` take over one that exists (False).

        A created bucket is tagged with ``owner``: a bucket that exists already and carries the
        same tag is this owner's from an interrupted create (True again); any other existing
        bucket is refused, so a bucket made by someone else is never counted as ours (and
        never deleted with it)."""
        check_bucket_name(bucket)
        exists = self.bucket_exists(bucket)
        if adopt:
            if not exists:
                raise AwsNotFound(
                    f"S3 bucket {bucket!r} does not exist at {self._where()}; create it, or "
                    "leave adopt_bucket off to have the policy create it.",
                    operation="HeadBucket",
                    code="NoSuchBucket",
                )
            return False
        if exists:
            if owner and self.owner_of(bucket) == owner:
                return True
            raise AwsError(
                f"S3 bucket {bucket!r} already exists at {self._where()}; set adopt_bucket=True "
                "to use it (it is then never deleted), or choose another name.",
                operation="CreateBucket",
                code="BucketAlreadyExists",
            )
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            with session.translated("CreateBucket"):
                self._client.create_bucket(**kwargs)
        except AwsError as exc:
            if exc.code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                raise AwsError(
                    f"S3 bucket {bucket!r} already exists ({exc.code}); bucket names are "
                    "global: set adopt_bucket=True if it is yours, or choose another name.",
                    operation="CreateBucket",
                    code=exc.code,
                ) from exc
            raise
        if owner:
            with session.translated("PutBucketTagging"):
                self._client.put_bucket_tagging(
                    Bucket=bucket, Tagging={"TagSet": [{"Key": OWNER_TAG, "Value": owner}]}
                )
        return True

    def bucket_names(self) -> builtins.list[str]:
        """Every bucket the caller owns at this endpoint."""
        with session.translated("ListBuckets"):
            answer = self._client.list_buckets()
        return [str(b["Name"]) for b in answer.get("Buckets", [])]

    def owner_of(self, bucket: str) -> str | None:
        """The ``OWNER_TAG`` a bucket was created with, if any."""
        try:
            with session.translated("GetBucketTagging"):
                tags = self._client.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
        except AwsError:
            return None  # no tags at all answers an error (NoSuchTagSet)
        return next((t["Value"] for t in tags if t.get("Key") == OWNER_TAG), None)

    def set_retention(self, bucket: str, days: int) -> None:
        """Expire objects ``days`` after they were written; 0 keeps them (no rule)."""
        if days <= 0:
            try:
                with session.translated("DeleteBucketLifecycle"):
                    self._client.delete_bucket_lifecycle(Bucket=bucket)
            except AwsNotFound:
                return
            return
        rule = {
            "ID": RETENTION_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": int(days)},
        }
        with session.translated("PutBucketLifecycleConfiguration"):
            self._client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": [rule]}
            )

    def retention_days(self, bucket: str) -> int:
        """The expiry of the retention rule, 0 when there is none."""
        try:
            with session.translated("GetBucketLifecycleConfiguration"):
                rules = self._client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except AwsError as exc:
            if exc.code in ("NoSuchLifecycleConfiguration", "NoSuchBucket"):
                return 0
            raise
        for rule in rules:
            if rule.get("ID") == RETENTION_RULE_ID:
                return int(rule.get("Expiration", {}).get("Days", 0))
        return 0

    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        """Delete the bucket; ``force`` deletes every object in it first. Gone already: done."""
        try:
            if force:
                self.delete_prefix(bucket, "")
            with session.translated("DeleteBucket"):
                self._client.delete_bucket(Bucket=bucket)
        except AwsNotFound:
            return

    # --- objects ---------------------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        """One PUT: the object exists whole, or not at all."""
        extra = {"ContentType": content_type} if content_type else {}
        with session.translated("PutObject"):
            self._client.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def get(self, bucket: str, key: str) -> bytes:
        with session.translated("GetObject"):
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
            data: bytes = body.read()
        return data

    def size(self, bucket: str, key: str) -> int | None:
        try:
            with session.translated("HeadObject"):
                return int(self._client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except AwsNotFound:
            return None

    def list(self, bucket: str, prefix: str = "") -> list[StoredObject]:
        """Every object under ``prefix``, oldest key first (keys sort by time here)."""
        found: list[StoredObject] = []
        with session.translated("ListObjectsV2"):
            pages = self._client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(StoredObject(item["Key"], int(item["Size"]), item["LastModified"]))
        return sorted(found, key=lambda o: o.key)

    def delete(self, bucket: str, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _DELETE_BATCH]]
            with session.translated("DeleteObjects"):
                answer = self._client.delete_objects(
                    Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
                )
            failed = answer.get("Errors") or []
            if failed:
                first = failed[0]
                raise AwsError(
                    f"AWS DeleteObjects: {len(failed)} object(s) not deleted, first "
                    f"{first.get('Key')!r}: {first.get('Code')}: {first.get('Message')}",
                    operation="DeleteObjects",
                    code=str(first.get("Code") or ""),
                )

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under ``prefix``; how many were deleted."""
        keys = [o.key for o in self.list(bucket, prefix)]
        self.delete(bucket, keys)
        return len(keys)

    def _where(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region})"
