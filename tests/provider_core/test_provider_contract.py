"""Contract tests: the real ``python -m pulumi.dynamic`` server, driven over gRPC as the engine
drives it, running the toy provider unpickled from a blob serialized by the SDK."""

from __future__ import annotations

import importlib
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.testing import UNKNOWN, ProviderOperationError, ProviderProcess
from dumont_iac.testing.toy import STORE_CONFIG, ToyRecordProvider

BLOB = serialize_provider(ToyRecordProvider())
URN = "urn:pulumi:dev::contract::pulumi-python:dynamic/dumont-testing:ToyRecord::rec"


@pytest.fixture
def provider(provider_process_factory, toy_store) -> ProviderProcess:
    process = provider_process_factory(project="contract")
    process.configure({STORE_CONFIG: str(toy_store.path)})
    return process


def checked(provider: ProviderProcess, **args) -> dict:
    outcome = provider.check(URN, {}, {"__provider": BLOB, "name": "rec", **args})
    assert outcome.failures == []
    return outcome.inputs


def test_configure_passes_stack_config_to_the_provider(provider, toy_store):
    # The provider finds its store only through the configured toy:storePath.
    record_id, _ = provider.create(URN, checked(provider))
    assert [r["id"] for r in toy_store.records()] == [record_id]


def test_without_config_the_provider_says_what_is_missing(provider_process_factory):
    process = provider_process_factory(project="contract", env={"DUMONT_TOY_STORE": ""})
    process.configure({})
    with pytest.raises(ProviderOperationError) as caught:
        process.create(URN, checked(process))
    assert caught.value.operation == "Create"
    assert caught.value.message == (
        "ToyError: no store: set the stack config toy:storePath or $DUMONT_TOY_STORE"
    )
    assert "Traceback" in caught.value.traceback


def test_check_returns_failures_naming_each_field(provider):
    outcome = provider.check(URN, {}, {"__provider": BLOB, "name": "", "size": 0, "colour": "red"})
    failures = dict(outcome.failures)
    assert set(failures) == {"name", "size", "colour"}
    assert failures["size"] == "Input should be greater than or equal to 1; got 0"


def test_check_fills_defaults_coerces_and_keeps_the_blob(provider):
    inputs = checked(provider, size=20)
    assert inputs == {
        "__provider": BLOB,
        "name": "rec",
        "zone": "zone-a",
        "size": 20,
        "color": "red",
        "labels": {},
    }


def test_check_with_unknowns_passes_and_keeps_them_unknown(provider):
    outcome = provider.check(URN, {}, {"__provider": BLOB, "name": UNKNOWN, "size": UNKNOWN})
    assert outcome.failures == []
    assert outcome.inputs["name"] == UNKNOWN and outcome.inputs["size"] == UNKNOWN
    assert outcome.inputs["color"] == "red"


def test_diff_tells_update_from_replace(provider):
    inputs = checked(provider)
    _, outputs = provider.create(URN, inputs)
    same = provider.diff(URN, "id", outputs, {**inputs, "__provider": BLOB})
    assert (same.changes, same.replaces) == (False, [])
    update = provider.diff(URN, "id", outputs, {**inputs, "size": 2})
    assert (update.changes, update.replaces) == (True, [])
    replace = provider.diff(URN, "id", outputs, {**inputs, "name": "other"})
    assert (replace.changes, replace.replaces) == (True, ["name"])
    unknown = provider.diff(URN, "id", outputs, {**inputs, "zone": UNKNOWN})
    assert (unknown.changes, unknown.replaces) == (True, ["zone"])


def test_create_returns_id_and_full_outputs(provider, toy_store):
    record_id, outputs = provider.create(URN, checked(provider, size=3, labels={"a": "b"}))
    assert record_id
    assert outputs["record_id"] == record_id
    assert outputs["size"] == 3 and outputs["labels"] == {"a": "b"}
    assert outputs["revision"] == 1 and outputs["schema_version"] == 2
    assert outputs["access_token"].startswith("tok-")
    assert outputs["__provider"] == BLOB
    assert toy_store.get(record_id)["size"] == 3


def test_update_changes_the_record_and_returns_every_output(provider, toy_store):
    inputs = checked(provider)
    record_id, outputs = provider.create(URN, inputs)
    updated = provider.update(URN, record_id, outputs, {**inputs, "size": 7, "color": "blue"})
    assert updated["size"] == 7 and updated["color"] == "blue"
    assert updated["revision"] == 2
    assert updated["access_token"] == outputs["access_token"]  # computed outputs kept
    assert toy_store.get(record_id)["color"] == "blue"


def test_read_reports_live_values_and_inputs(provider, toy_store):
    inputs = checked(provider)
    record_id, outputs = provider.create(URN, inputs)
    toy_store.update(record_id, {"size": 9, "color": "green", "labels": {}})
    read = provider.read(URN, record_id, outputs, inputs)
    assert read.id == record_id
    assert read.outputs["size"] == 9 and read.outputs["revision"] == 2
    assert read.inputs is not None and read.inputs["color"] == "green"


def test_read_of_a_gone_resource_returns_an_empty_id(provider, toy_store):
    inputs = checked(provider)
    record_id, outputs = provider.create(URN, inputs)
    toy_store.delete(record_id)
    assert provider.read(URN, record_id, outputs, inputs).id == ""


def test_delete_removes_the_record(provider, toy_store):
    inputs = checked(provider)
    record_id, outputs = provider.create(URN, inputs)
    provider.delete(URN, record_id, outputs, inputs)
    assert toy_store.get(record_id) is None


def test_a_failing_operation_raises_the_providers_own_message(provider):
    inputs = checked(provider, labels={"toy/fail": "create"})
    with pytest.raises(
        ProviderOperationError, match="create refused because the label toy/fail=create"
    ):
        provider.create(URN, inputs)


def test_a_dead_provider_process_is_reported_with_its_exit_code(provider):
    inputs = checked(provider)
    provider.kill()
    with pytest.raises(ProviderOperationError, match=r"the provider process exited with code -9"):
        provider.create(URN, inputs)


def test_provider_stderr_is_captured_and_shown_in_errors(
    provider_process_factory, tmp_path, monkeypatch
):
    # A provider module of the program directory, as a user's own provider would be.
    (tmp_path / "noisy_provider.py").write_text(
        "import sys\n"
        "from pulumi.dynamic import ResourceProvider\n"
        "class NoisyProvider(ResourceProvider):\n"
        "    def create(self, props):\n"
        "        print('noisy: about to fail', file=sys.stderr, flush=True)\n"
        "        raise RuntimeError('create failed on purpose')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "noisy_provider", raising=False)
    blob = serialize_provider(importlib.import_module("noisy_provider").NoisyProvider())
    process = provider_process_factory(cwd=tmp_path)
    process.configure({})
    with pytest.raises(ProviderOperationError) as caught:
        process.create(URN, {"__provider": blob})
    assert caught.value.message == "RuntimeError: create failed on purpose"
    assert "noisy: about to fail" in caught.value.stderr
    assert "noisy: about to fail" in str(caught.value)


def test_a_provider_that_cannot_start_is_reported(tmp_path):
    process = ProviderProcess(python=str(tmp_path / "no-such-python"))
    with pytest.raises(FileNotFoundError):
        process.start()
    broken = ProviderProcess(env={"PYTHONPATH": ""}, python="/bin/false")
    with pytest.raises(ProviderOperationError, match="exited with code 1"):
        broken.start()
    assert not broken.running


def test_calls_have_a_deadline(provider_process_factory, toy_store):
    process = provider_process_factory()
    process.configure({STORE_CONFIG: str(toy_store.path)})
    process.call_timeout = 0.001
    with pytest.raises(ProviderOperationError, match=r"no answer within 0.001s"):
        process.check(URN, {}, {"__provider": BLOB, "name": "rec"})


def test_calls_after_stop_are_refused_rather_than_restarting(provider_process_factory):
    process = provider_process_factory()
    process.stop()
    assert not process.running and process.pid is None
    with pytest.raises(ProviderOperationError, match="not running"):
        process.configure({})
