"""FailoverPolicy provider blobs written by released versions still load in a fresh provider
process, put a GPU's failover settings on the control plane, read them and remove them.
Moving or renaming ``FailoverPolicyProvider`` would break every deployed stack; it fails here
first."""

from __future__ import annotations

import pytest

from dumont_iac.control_plane.store.documents import FAILOVER_GPU
from dumont_iac.provider.failover_policy import FailoverPolicyProvider
from dumont_iac.testing import provider_blobs
from dumont_iac.testing.leftovers import leftovers
from tests.provider_core.frozen import each_blob, world_provider

GPU_ID = "gpu-0123456789ab"
ARGS = {"gpu_id": GPU_ID, "strategy": "cpu_standby", "failure_threshold": 4}


@pytest.fixture
def provider(provider_process_factory, world):
    return world_provider(provider_process_factory, world)


@each_blob("failover_policy")
def test_a_frozen_blob_puts_reads_and_removes_a_gpus_failover_settings(frozen, provider, world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id == GPU_ID and done.read_id == done.id
    assert done.outputs["effective_strategy"] == "cpu_standby"
    assert done.outputs["__provider"] == frozen.blob and done.read_id_after_delete == ""
    assert leftovers(world) == {}


@each_blob("failover_policy")
def test_a_frozen_blob_removes_settings_the_current_provider_put(frozen, provider, world):
    created = provider_blobs.create_with(provider, FailoverPolicyProvider(), frozen, ARGS)
    assert leftovers(world) == {FAILOVER_GPU: [GPU_ID]}
    provider_blobs.delete_with(provider, frozen, created)
    assert leftovers(world) == {}
