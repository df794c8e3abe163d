"""GpuInstance provider blobs written by released versions still load in a fresh provider
process, create and read a GPU, and delete it with nothing left on the marketplace. Moving or
renaming ``GpuInstanceProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.testing import provider_blobs

from .helpers import CLEAN_ENV

FIXTURES = sorted(
    (Path(__file__).resolve().parents[1] / "provider_core" / "fixtures").glob("gpu_instance-*.json")
)
ARGS = {"image": "ubuntu:22.04", "logical_name": "frozen/ci/gpu", "max_price_per_hour": 1.0}


def test_there_is_a_frozen_gpu_instance_blob():
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
def test_a_frozen_blob_creates_reads_and_deletes_a_gpu(fixture, provider, market):
    frozen = provider_blobs.read(fixture)
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("gpu-") and done.read_id == done.id
    assert done.outputs["status"] == "running" and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert market.instances() == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_frozen_blob_deletes_a_gpu_created_by_the_current_provider(fixture, provider, market):
    frozen = provider_blobs.read(fixture)
    urn = frozen.urn("mixed", project="frozen")
    current = serialize_provider(GpuInstanceProvider())
    inputs = provider.check(urn, {}, {"__provider": current, **ARGS}).inputs
    id_, outputs = provider.create(urn, inputs)
    assert [int(i["id"]) for i in market.managed()] == [int(outputs["contract_id"])]
    provider.delete(urn, id_, {**outputs, "__provider": frozen.blob})
    assert market.instances() == []
