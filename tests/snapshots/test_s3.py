"""The S3 client against moto's server: buckets created or adopted, the retention rule, objects
in and out, and a bucket deleted with everything in it."""

from __future__ import annotations

import boto3
import pytest

from dumont_iac.clients.aws.s3 import S3Store, check_bucket_name
from dumont_iac.errors import AwsError, AwsNotFound, InvalidValue


def test_bucket_objects_and_forced_delete(moto_url):
    store = S3Store(moto_url)
    assert store.ensure_bucket("snaps", owner="policy-a") is True
    assert store.ensure_bucket("snaps", owner="policy-a") is True  # a rerun of the same create
    with pytest.raises(AwsError, match="already exists.*adopt_bucket=True"):
        store.ensure_bucket("snaps", owner="policy-b")  # not this one's: never counted as ours
    store.put("snaps", "gpu-1/b.tar.gz", b"two")
    store.put("snaps", "gpu-1/a.tar.gz", b"one")
    store.put("snaps", "gpu-2/a.tar.gz", b"other")
    assert [o.key for o in store.list("snaps", "gpu-1/")] == ["gpu-1/a.tar.gz", "gpu-1/b.tar.gz"]
    assert store.get("snaps", "gpu-1/b.tar.gz") == b"two"
    assert store.size("snaps", "gpu-1/a.tar.gz") == 3 and store.size("snaps", "nope") is None
    store.delete("snaps", ["gpu-1/a.tar.gz"])
    assert store.delete_prefix("snaps", "gpu-2/") == 1
    assert [o.key for o in store.list("snaps")] == ["gpu-1/b.tar.gz"]
    with pytest.raises(AwsError):
        store.delete_bucket("snaps")  # not empty
    store.delete_bucket("snaps", force=True)
    assert not store.bucket_exists("snaps")
    store.delete_bucket("snaps", force=True)  # gone already: done


def test_retention_rule_is_put_changed_and_removed(moto_url):
    store = S3Store(moto_url)
    store.ensure_bucket("kept")
    assert store.retention_days("kept") == 0
    store.set_retention("kept", 7)
    rules = boto3.client("s3", endpoint_url=moto_url).get_bucket_lifecycle_configuration(
        Bucket="kept"
    )["Rules"]
    assert rules[0]["Expiration"] == {"Days": 7} and rules[0]["Status"] == "Enabled"
    store.set_retention("kept", 30)
    assert store.retention_days("kept") == 30
    store.set_retention("kept", 0)
    assert store.retention_days("kept") == 0


def test_adopting_needs_an_existing_bucket(moto_url):
    store = S3Store(moto_url)
    with pytest.raises(AwsNotFound, match="does not exist.*adopt_bucket"):
        store.ensure_bucket("missing", adopt=True)
    boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket="theirs")
    assert store.ensure_bucket("theirs", adopt=True) is False
    with pytest.raises(AwsError, match="already exists.*adopt_bucket=True"):
        store.ensure_bucket("theirs")


def test_bad_bucket_names_are_refused_with_the_rule():
    for name in ("A", "Upper-Case", "-dash", "a..b", "x" * 64):
        with pytest.raises(InvalidValue, match="lower-case letters"):
            check_bucket_name(name)


def test_an_unreachable_endpoint_is_an_aws_error_naming_it(moto_url):
    store = S3Store("http://127.0.0.1:9", attempts=1)
    with pytest.raises(AwsError, match="cannot reach"):
        store.list("snaps")
