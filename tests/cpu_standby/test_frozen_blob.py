"""CpuStandby provider blobs written by released versions still load in a fresh provider
process, launch and register a standby, read it, and delete it with nothing left on EC2 or the
control plane. Moving or renaming ``CpuStandbyProvider`` would break every deployed stack; it
fails here first."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.testing import provider_blobs

from .conftest import billing

FIXTURES = sorted(
    (Path(__file__).resolve().parents[1] / "provider_core" / "fixtures").glob("cpu_standby-*.json")
)
ARGS = {"gpu_id": "gpu-0123456789ab", "logical_name": "frozen/ci/standby"}


def test_there_is_a_frozen_cpu_standby_blob():
    assert FIXTURES, "run tests/provider_core/fixtures/freeze_providers.py"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_frozen_blob_launches_reads_and_deletes_a_standby(
    fixture, provider_process_factory, world
):
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    frozen = provider_blobs.read(fixture)
    process = provider_process_factory(project="frozen", env=world.exports())
    process.configure({})
    done = provider_blobs.exercise(process, frozen, ARGS)
    assert done.id.startswith("standby-") and done.read_id == done.id
    assert done.outputs["vm_state"] == "running" and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    process.delete(frozen.urn("frozen", project="frozen"), done.id, done.outputs)  # repeated
    assert billing(world.aws.url) == []
    control = ControlPlaneClient(world.control_plane.url, world.control_plane_key)
    assert control.association(ARGS["gpu_id"]) is None
