"""State written by every earlier schema version migrates: the same program then shows no
change, and the provider reads, updates and deletes with it. One fixture per resource version
in ``fixtures/state/`` (``<resource>-v<version>.json``): outputs as that version stored them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac import errors, schema
from dumont_iac.registry import RESOURCES, ResourceEntry
from dumont_iac.testing.toy import STORE_CONFIG, ToyRecord, ToyRecordArgs, ToyRecordProvider

from .frozen import STATE

ENTRIES = {e.type_token: e for e in (ResourceEntry(ToyRecord, "toy_record"), *RESOURCES)}
FIXTURES = sorted(STATE.glob("*.json"))


def load(path: Path) -> tuple[ResourceEntry, dict, dict]:
    data = json.loads(path.read_text())
    return ENTRIES[data["resource_type"]], data["outputs"], data["migrated_inputs"]


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=lambda e: e.fixture)
def test_every_schema_version_of_every_resource_has_an_old_state_fixture(entry):
    for version in range(1, entry.model.schema_version + 1):
        assert (STATE / f"{entry.fixture}-v{version}.json").exists(), (entry.name, version)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_old_state_migrates_to_the_current_version_and_the_same_program_shows_no_change(fixture):
    entry, outputs, inputs = load(fixture)
    migrated = schema.migrate(entry.model, outputs)
    assert migrated[schema.SCHEMA_VERSION_KEY] == entry.model.schema_version
    checked = schema.check(entry.model, {}, inputs)
    assert checked.failures == []
    # Every stored argument keeps its meaning (3.0 == 3: numbers arrive as floats); arguments
    # added since are absent from the state and take their defaults.
    stored = schema.arguments_of(entry.model, migrated)
    assert stored and stored == {name: checked.inputs[name] for name in stored}
    assert not schema.diff(entry.model, migrated, checked.inputs).changes
    # The provider's own diff migrates too, so the engine sees no change either.
    assert not entry.provider().diff("id", outputs, checked.inputs).changes


def test_state_from_a_newer_version_is_refused_with_what_to_do():
    with pytest.raises(errors.ProviderError, match=r"newer dumont-iac \(schema version 9; .* 2\)"):
        schema.migrate(ToyRecordArgs, {"name": "a", "schema_version": 9.0})


def test_a_schema_that_skips_a_migration_is_refused_when_declared():
    class Skips(ToyRecordArgs):
        schema_version = 3

    with pytest.raises(errors.SchemaDeclarationError, match="no migration from version 2"):
        schema.fields_of(Skips)


@pytest.mark.contract
def test_the_provider_process_updates_reads_and_deletes_with_version_1_state(
    provider_process_factory, toy_store
):
    _, old_outputs, inputs = load(STATE / "toy_record-v1.json")
    process = provider_process_factory(project="migrate")
    process.configure({STORE_CONFIG: str(toy_store.path)})
    blob = serialize_provider(ToyRecordProvider())
    urn = "urn:pulumi:fixture::migrate::pulumi-python:dynamic/dumont-testing:ToyRecord::old"
    news = process.check(urn, {}, {"__provider": blob, **inputs}).inputs
    record_id, _ = process.create(urn, news)
    olds = {**old_outputs, "record_id": record_id, "__provider": blob}

    assert process.diff(urn, record_id, olds, news).changes is False
    updated = process.update(urn, record_id, olds, {**news, "size": 4})
    assert updated["schema_version"] == 2 and updated["labels"] == inputs["labels"]
    assert "tags" not in updated
    read = process.read(urn, record_id, olds)
    assert read.outputs["schema_version"] == 2 and read.outputs["size"] == 4
    process.delete(urn, record_id, olds)
    assert toy_store.get(record_id) is None
