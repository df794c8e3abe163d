"""GpuFleet provider blobs written by released versions still load in a fresh provider process,
create and read a fleet, and delete it with nothing left on the marketplace. Moving or renaming
``GpuFleetProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.provider.gpu_fleet import GpuFleetProvider
from dumont_iac.testing import provider_blobs
from tests.provider_core.frozen import each_blob, marketplace_provider

ARGS = {
    "image": "ubuntu:22.04",
    "logical_name": "frozen/ci/fleet",
    "max_price_per_hour": 1.0,
    "count": 2,
}


@pytest.fixture
def provider(provider_process_factory, gpu_sandbox):
    return marketplace_provider(provider_process_factory, gpu_sandbox)


@each_blob("gpu_fleet")
def test_a_frozen_blob_creates_reads_and_deletes_a_fleet(frozen, provider, market):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("fleet-") and done.read_id == done.id
    assert done.outputs["running_count"] == 2 and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert market.instances() == []


@each_blob("gpu_fleet")
def test_a_frozen_blob_deletes_a_fleet_created_by_the_current_provider(frozen, provider, market):
    created = provider_blobs.create_with(provider, GpuFleetProvider(), frozen, ARGS)
    held = sorted(int(m["contract_id"]) for m in created.outputs["members"])
    assert sorted(int(i["id"]) for i in market.managed()) == held
    provider_blobs.delete_with(provider, frozen, created)
    assert market.instances() == []
