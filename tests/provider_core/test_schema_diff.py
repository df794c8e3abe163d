"""diff() derived from a schema declaration: update in place versus replace, per field."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN, wrap_rpc_secret

from dumont_iac.schema import PROVIDER_KEY, ResourceSchema, arg, check, computed, diff
from dumont_iac.testing.toy import ToyRecordArgs, ToyRecordProvider

PRIOR_OUTPUTS = {
    PROVIDER_KEY: "old-blob",
    "name": "a",
    "zone": "zone-a",
    "size": 1.0,  # numbers come back from the engine as floats
    "color": "red",
    "labels": {"team": "ml"},
    "record_id": "r1",
    "revision": 3.0,
    "access_token": "tok",
    "schema_version": 1.0,
}


def news(**changes):
    inputs = check(ToyRecordArgs, {}, {"name": "a", "labels": {"team": "ml"}}).inputs
    return {PROVIDER_KEY: "new-blob", **inputs, **changes}


def test_same_arguments_are_no_change_even_with_a_new_provider_blob_and_new_outputs():
    result = diff(ToyRecordArgs, PRIOR_OUTPUTS, news())
    assert result.changes is False
    assert result.replaces == []


@pytest.mark.parametrize(
    "change", [{"size": 2}, {"color": "blue"}, {"labels": {}}, {"labels": {"team": "cv"}}]
)
def test_an_in_place_field_change_is_an_update(change):
    result = diff(ToyRecordArgs, PRIOR_OUTPUTS, news(**change))
    assert result.changes is True
    assert result.replaces == []
    assert result.delete_before_replace is False


@pytest.mark.parametrize("change", [{"name": "b"}, {"zone": "zone-b"}])
def test_a_replacing_field_change_lists_the_field(change):
    result = diff(ToyRecordArgs, PRIOR_OUTPUTS, news(**change))
    assert result.changes is True
    assert result.replaces == list(change)


def test_every_changed_replacing_field_is_listed_alongside_updates():
    result = diff(ToyRecordArgs, PRIOR_OUTPUTS, news(name="b", zone="zone-b", size=5))
    assert result.changes is True and result.replaces == ["name", "zone"]


@pytest.mark.parametrize("unknown", [Unknown(), UNKNOWN], ids=["Unknown", "sentinel"])
def test_an_unknown_value_counts_as_a_change_and_replaces_for_a_replacing_field(unknown):
    assert diff(ToyRecordArgs, PRIOR_OUTPUTS, news(name=unknown)).replaces == ["name"]
    result = diff(ToyRecordArgs, PRIOR_OUTPUTS, news(labels={"team": unknown}))
    assert result.changes is True and result.replaces == []


def test_computed_outputs_and_secret_markers_are_not_compared():
    olds = {**PRIOR_OUTPUTS, "revision": 99.0, "labels": wrap_rpc_secret({"team": "ml"})}
    assert diff(ToyRecordArgs, olds, news()).changes is False


def test_an_argument_removed_from_the_program_is_a_change():
    olds = {**PRIOR_OUTPUTS, "labels": {"team": "ml", "extra": "x"}}
    assert diff(ToyRecordArgs, olds, news()).changes is True


def test_an_argument_added_by_a_newer_schema_is_no_change_at_its_default():
    # State written before `zone` (replacing) and `labels` existed: no replacement on upgrade.
    olds = {k: v for k, v in PRIOR_OUTPUTS.items() if k not in ("zone", "labels")}
    assert diff(ToyRecordArgs, olds, news(labels={})).changes is False
    assert diff(ToyRecordArgs, olds, news(zone="zone-b", labels={})).replaces == ["zone"]


class DiskArgs(ResourceSchema):
    delete_before_replace: ClassVar[bool] = True

    device: str = arg(replaces=True, description="Device path; only one disk per device.")
    size_gb: int = arg(10, description="Size.")
    serial: str | None = computed(description="Serial number.")


def test_delete_before_replace_is_declared_by_the_resource_for_every_diff():
    # The engine may replace on an in-place change too (replace_on_changes, --replace).
    olds = {"device": "/dev/a", "size_gb": 10.0, "serial": "s"}
    assert diff(DiskArgs, olds, {"device": "/dev/b", "size_gb": 10}).delete_before_replace is True
    assert diff(DiskArgs, olds, {"device": "/dev/a", "size_gb": 20}).delete_before_replace is True
    assert diff(ToyRecordArgs, PRIOR_OUTPUTS, news(name="b")).delete_before_replace is False


def test_the_provider_diff_always_answers_true_or_false():
    provider = ToyRecordProvider()
    for change in ({}, {"size": 9}, {"name": "z"}):
        assert provider.diff("r1", PRIOR_OUTPUTS, news(**change)).changes in (True, False)
