"""WarmPool provider blobs written by released versions still load in a fresh provider process,
place and register a pool, read it, and delete it with no rental, volume or registration left.
Moving or renaming ``WarmPoolProvider`` would break every deployed stack; it fails here first."""

from __future__ import annotations

import pytest

from dumont_iac.control_plane.store.documents import WARM_POOL
from dumont_iac.provider.warm_pool import WarmPoolProvider
from dumont_iac.testing import provider_blobs
from dumont_iac.testing.leftovers import leftovers
from tests.provider_core.frozen import each_blob, world_provider

from .helpers import RTX_3090

ARGS = {**RTX_3090, "logical_name": "frozen/ci/pool", "standbys": 1, "volume_size_gb": 10}


@pytest.fixture
def provider(provider_process_factory, world):
    return world_provider(provider_process_factory, world)


@each_blob("warm_pool")
def test_a_frozen_blob_places_reads_and_deletes_a_pool(frozen, provider, world):
    done = provider_blobs.exercise(provider, frozen, ARGS)
    assert done.id.startswith("pool-") and done.read_id == done.id
    assert done.outputs["status"] == "running" and done.outputs["standbys_ready"] == 1
    assert done.outputs["__provider"] == frozen.blob and done.read_id_after_delete == ""
    assert leftovers(world) == {}


@each_blob("warm_pool")
def test_a_frozen_blob_deletes_a_pool_the_current_provider_placed(frozen, provider, world):
    created = provider_blobs.create_with(provider, WarmPoolProvider(), frozen, ARGS)
    outputs = created.outputs
    assert leftovers(world) == {
        "rentals": sorted([outputs["contract_id"], *outputs["standby_contract_ids"]]),
        "volumes": [outputs["volume_id"]],
        WARM_POOL: [created.id],
    }
    provider_blobs.delete_with(provider, frozen, created)
    assert leftovers(world) == {}
