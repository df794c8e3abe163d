"""Provider blobs written by earlier versions still load in a fresh provider process and still
create, read and delete: moving or renaming a provider class fails here, not in users' stacks."""

from __future__ import annotations

import base64
from importlib import metadata
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.registry import RESOURCES, ResourceEntry
from dumont_iac.testing import ProviderOperationError, provider_blobs
from dumont_iac.testing.toy import STORE_CONFIG, ToyRecord, ToyRecordProvider

from .frozen import FIXTURES, each_blob

ENTRIES = (ResourceEntry(ToyRecord, "toy_record"), *RESOURCES)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.fixture)
def test_every_resource_has_a_frozen_blob_of_this_release(entry):
    version = metadata.version("dumont-iac")
    blob = FIXTURES / f"{entry.fixture}-{version}.json"
    assert blob.exists(), f"no {blob.name}: run tests/provider_core/fixtures/freeze_providers.py"
    assert provider_blobs.read(blob).resource_type == entry.type_token


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.fixture)
def test_every_resource_has_a_test_taking_each_of_its_frozen_blobs(entry):
    tests = Path(__file__).resolve().parents[1]
    calls = f'each_blob("{entry.fixture}")'
    using = [p for p in tests.rglob("test_*.py") if calls in p.read_text()]
    assert using, f"no test module runs {calls}: add a test_frozen_blob.py for {entry.name}"


@each_blob("toy_record")
def test_a_frozen_blob_loads_creates_reads_and_deletes(frozen, provider_process_factory, toy_store):
    process = provider_process_factory(project="frozen")
    process.configure({STORE_CONFIG: str(toy_store.path)})
    done = provider_blobs.exercise(process, frozen, {"name": "frozen", "size": 2})
    assert done.id and done.read_id == done.id
    assert done.outputs["size"] == 2 and done.outputs["__provider"] == frozen.blob
    assert done.read_id_after_delete == ""
    assert toy_store.records() == []


@each_blob("toy_record")
def test_a_frozen_blob_deletes_a_resource_created_by_the_current_provider(
    frozen, provider_process_factory, toy_store
):
    # A stack deployed with an old version, then destroyed with the new one, mixes both blobs.
    process = provider_process_factory(project="frozen")
    process.configure({STORE_CONFIG: str(toy_store.path)})
    created = provider_blobs.create_with(process, ToyRecordProvider(), frozen, {"name": "mixed"})
    assert toy_store.get(created.id) is not None
    provider_blobs.delete_with(process, frozen, created)
    assert toy_store.get(created.id) is None


def test_freeze_serializes_like_the_sdk_and_write_refuses_to_overwrite(tmp_path):
    frozen = provider_blobs.freeze(ToyRecordProvider(), "pulumi-python:dynamic/x:Y", note="n")
    assert frozen.blob == serialize_provider(ToyRecordProvider())
    assert frozen.provider == "dumont_iac.testing.toy:ToyRecordProvider"
    assert b"dumont_iac.testing.toy" in base64.b64decode(frozen.blob)
    path = provider_blobs.write(frozen, tmp_path / "blob.json")
    assert provider_blobs.read(path) == frozen
    with pytest.raises(FileExistsError, match="record of a released version"):
        provider_blobs.write(frozen, path)


def test_the_command_line_writes_a_fixture(tmp_path, capsys):
    target = tmp_path / "cli.json"
    code = provider_blobs.main(
        [
            "dumont_iac.testing.toy:ToyRecordProvider",
            "pulumi-python:dynamic/dumont-testing:ToyRecord",
            str(target),
        ]
    )
    assert code == 0 and "ToyRecordProvider" in capsys.readouterr().out
    assert provider_blobs.read(target).blob == serialize_provider(ToyRecordProvider())


def test_a_blob_naming_a_moved_class_fails_with_the_import_error(
    provider_process_factory, toy_store
):
    moved = base64.b64encode(
        base64.b64decode(serialize_provider(ToyRecordProvider())).replace(
            b"dumont_iac.testing.toy",
            b"dumont_iac.testing.old",  # same length: a valid pickle
        )
    ).decode()
    process = provider_process_factory()
    process.configure({STORE_CONFIG: str(toy_store.path)})
    frozen = provider_blobs.FrozenProvider("moved", "pulumi-python:dynamic/x:Y", moved, {})
    with pytest.raises(ProviderOperationError, match="No module named 'dumont_iac.testing.old'"):
        provider_blobs.exercise(process, frozen, {"name": "x"})
