"""HibernationPolicy provider blobs written by released versions still load in a fresh provider
process, register the policy, read it and unregister it. Moving or renaming
``HibernationPolicyProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec
from dumont_iac.control_plane.store.documents import HIBERNATION_POLICY, SNAPSHOT_POLICY
from dumont_iac.provider.hibernation_policy import HibernationPolicyProvider
from dumont_iac.testing import provider_blobs
from dumont_iac.testing.leftovers import leftovers
from tests.provider_core.frozen import each_blob, world_provider

GPU_ID = "gpu-0123456789ab"
GPU_SPEC = {"arguments": {"logical_name": "frozen/ci/train", "image": "ubuntu:22.04",
                          "max_price_per_hour": 0.5}, "label": "train"}  # fmt: skip
ARGS = {"gpu_id": GPU_ID, "gpu_spec": GPU_SPEC, "snapshot_policy_id": f"snapshots-{GPU_ID}"}
# What the policy needs and does not own: the GPU's snapshot policy, registered by the test.
THE_SNAPSHOT_POLICY = {SNAPSHOT_POLICY: [GPU_ID]}


@pytest.fixture
def provider(provider_process_factory, world):
    process = world_provider(provider_process_factory, world)
    control_plane = ControlPlaneClient(world.control_plane.url, world.control_plane_key)
    control_plane.put_snapshot_policy(GPU_ID, SnapshotPolicySpec(bucket="frozen-snapshots"))
    return process


@each_blob("hibernation_policy")
def test_a_frozen_blob_registers_reads_and_unregisters_a_policy(frozen, provider, world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id == f"hibernation-{GPU_ID}" and done.read_id == done.id
    assert done.outputs["state"] == "awake" and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert leftovers(world) == THE_SNAPSHOT_POLICY


@each_blob("hibernation_policy")
def test_a_frozen_blob_unregisters_a_policy_the_current_provider_registered(
    frozen, provider, world
):
    created = provider_blobs.create_with(provider, HibernationPolicyProvider(), frozen, ARGS)
    assert leftovers(world) == {**THE_SNAPSHOT_POLICY, HIBERNATION_POLICY: [GPU_ID]}
    provider_blobs.delete_with(provider, frozen, created)
    assert leftovers(world) == THE_SNAPSHOT_POLICY
