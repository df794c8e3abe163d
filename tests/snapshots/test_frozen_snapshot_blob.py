"""SnapshotPolicy provider blobs written by released versions still load in a fresh provider
process, create the bucket and register the policy, read it, and delete it with no bucket or
registration left (``force_destroy``). Moving or renaming ``SnapshotPolicyProvider`` would break
every deployed stack; it fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.control_plane.store.documents import SNAPSHOT_POLICY
from dumont_iac.provider.snapshot_policy import SnapshotPolicyProvider
from dumont_iac.testing import provider_blobs
from dumont_iac.testing.leftovers import leftovers
from tests.provider_core.frozen import each_blob, world_provider

GPU_ID = "gpu-0123456789ab"
ARGS = {"gpu_id": GPU_ID, "bucket": "frozen-snapshots", "force_destroy": True}


@pytest.fixture
def provider(provider_process_factory, world):
    return world_provider(provider_process_factory, world)


@each_blob("snapshot_policy")
def test_a_frozen_blob_creates_reads_and_deletes_a_snapshot_policy(frozen, provider, world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id == f"snapshots-{GPU_ID}" and done.read_id == done.id
    assert done.outputs["bucket_created"] is True and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert leftovers(world) == {}


@each_blob("snapshot_policy")
def test_a_frozen_blob_deletes_a_policy_the_current_provider_created(frozen, provider, world):
    created = provider_blobs.create_with(provider, SnapshotPolicyProvider(), frozen, ARGS)
    assert leftovers(world) == {"buckets": [ARGS["bucket"]], SNAPSHOT_POLICY: [GPU_ID]}
    provider_blobs.delete_with(provider, frozen, created)
    assert leftovers(world) == {}
