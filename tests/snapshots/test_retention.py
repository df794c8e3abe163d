"""Which snapshots retention removes, how keys carry their time, and what the archive holds."""

from __future__ import annotations

import pytest

from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec
from dumont_iac.control_plane.snapshots import (
    DAY,
    pack,
    snapshot_key,
    taken_at,
    to_prune,
    unpack,
)
from dumont_iac.models.snapshot_policy import SnapshotPolicyArgs
from dumont_iac.schema import check

NOW = 1_800_000_000.0
GPU = "gpu-0123456789ab"


def keys(*days_ago: float) -> list[str]:
    return [snapshot_key(GPU, NOW - d * DAY) for d in days_ago]


def policy(**fields) -> SnapshotPolicySpec:
    return SnapshotPolicySpec.model_validate({"bucket": "snaps", **fields})


def test_a_key_names_its_gpu_and_its_time_to_the_millisecond():
    key = snapshot_key(GPU, NOW + 0.25)
    assert key == f"{GPU}/20270115T080000.250Z.tar.gz"
    assert taken_at(key) == NOW + 0.25
    assert taken_at(f"{GPU}/notes.txt") is None
    assert sorted(keys(3, 1, 2)) == keys(3, 2, 1)  # keys sort by age


def test_older_than_retention_go_but_keep_at_least_holds():
    old = keys(9, 8, 7.5, 1, 0)
    assert to_prune(old, policy(retention_days=7, keep_at_least=1), NOW) == old[:3]
    everything_old = keys(9, 8, 7.5)
    kept_two = to_prune(everything_old, policy(retention_days=7, keep_at_least=2), NOW)
    assert kept_two == everything_old[:1]  # the two newest stay, however old


def test_keep_at_most_caps_the_count_and_retention_zero_keeps_age():
    many = keys(*range(10, 0, -1))
    assert to_prune(many, policy(retention_days=0, keep_at_most=4), NOW) == many[:6]
    assert to_prune(many, policy(retention_days=0), NOW) == []


def test_the_archive_round_trips_binary_files_and_paths():
    files = {"a.txt": b"hi", "deep/dir/w.bin": bytes(range(256)), "empty": b""}
    assert unpack(pack(files)) == files


def test_policy_arguments_are_checked_with_the_field_named():
    ok = {"gpu_id": GPU, "bucket": "snaps"}
    assert check(SnapshotPolicyArgs, {}, ok).failures in (None, [])
    for bad, field in (
        ({"interval_minutes": 10}, "interval_minutes"),
        ({"bucket": "Not_A_Bucket"}, "bucket"),
        ({"retention_days": -1}, "retention_days"),
        ({"keep_at_least": 5, "keep_at_most": 2}, "keep_at_least"),
    ):
        failures = check(SnapshotPolicyArgs, {}, {**ok, **bad}).failures
        assert failures, bad
        assert any(field in (f.property or "") + f.reason for f in failures), failures
    with pytest.raises(ValueError, match="keep_at_least"):
        policy(keep_at_least=3, keep_at_most=2)
