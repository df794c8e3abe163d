"""CpuStandby provider blobs written by released versions still load in a fresh provider
process, launch and register a standby, read it, and delete it with nothing left on EC2 or the
control plane. Moving or renaming ``CpuStandbyProvider`` would break every deployed stack; it
fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.provider.cpu_standby import CpuStandbyProvider
from dumont_iac.testing import provider_blobs
from dumont_iac.testing.leftovers import leftovers
from tests.provider_core.frozen import each_blob, world_provider

ARGS = {"gpu_id": "gpu-0123456789ab", "logical_name": "frozen/ci/standby"}


@pytest.fixture
def provider(provider_process_factory, world):
    return world_provider(provider_process_factory, world)


@each_blob("cpu_standby")
def test_a_frozen_blob_launches_reads_and_deletes_a_standby(frozen, provider, world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("standby-") and done.read_id == done.id
    assert done.outputs["vm_state"] == "running" and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    provider.delete(frozen.urn("frozen", project="frozen"), done.id, done.outputs)  # repeated
    assert leftovers(world) == {}


@each_blob("cpu_standby")
def test_a_frozen_blob_deletes_a_standby_launched_by_the_current_provider(frozen, provider, world):
    created = provider_blobs.create_with(provider, CpuStandbyProvider(), frozen, ARGS)
    assert set(leftovers(world)) == {"vms", "standby"}
    provider_blobs.delete_with(provider, frozen, created)
    assert leftovers(world) == {}
