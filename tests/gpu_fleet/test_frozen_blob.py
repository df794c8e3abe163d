"""GpuFleet provider blobs written by released versions still load in a fresh provider process,
create and read a fleet, and delete it with nothing left on the marketplace. Moving or renaming
``GpuFleetProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.provider.gpu_fleet import GpuFleetProvider
from dumont_iac.testing import provider_blobs
from tests.gpu_instance.helpers import CLEAN_ENV

FIXTURES = sorted(
    (Path(__file__).resolve().parents[1] / "provider_core" / "fixtures").glob("gpu_fleet-*.json")
)
ARGS = {
    "image": "ubuntu:22.04",
    "logical_name": "frozen/ci/fleet",
    "max_price_per_hour": 1.0,
    "count": 2,
}


def test_there_is_a_frozen_gpu_fleet_blob():
    assert FIXTURES, "run tests/provider_core/fixtures/freeze_providers.py"


@pytest.fixture
def provider(provider_process_factory, gpu_sandbox):
    process = provider_process_factory(project="frozen", env=CLEAN_ENV)
    process.configure(
        {"dumont:vastUrl": gpu_sandbox.url, "dumont:vastApiKey": gpu_sandbox.api_key},
        ["dumont:vastApiKey"],
    )
    return process


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_frozen_blob_creates_reads_and_deletes_a_fleet(fixture, provider, market):
    frozen = provider_blobs.read(fixture)
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("fleet-") and done.read_id == done.id
    assert done.outputs["running_count"] == 2 and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert market.instances() == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_frozen_blob_deletes_a_fleet_created_by_the_current_provider(fixture, provider, market):
    frozen = provider_blobs.read(fixture)
    urn = frozen.urn("mixed", project="frozen")
    current = serialize_provider(GpuFleetProvider())
    inputs = provider.check(urn, {}, {"__provider": current, **ARGS}).inputs
    id_, outputs = provider.create(urn, inputs)
    held = sorted(int(m["contract_id"]) for m in outputs["members"])
    assert sorted(int(i["id"]) for i in market.managed()) == held
    provider.delete(urn, id_, {**outputs, "__provider": frozen.blob})
    assert market.instances() == []
