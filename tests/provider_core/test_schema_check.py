"""check() derived from a schema declaration: failures, defaults, coercion, unknowns."""

from __future__ import annotations

import asyncio

import pulumi
import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from dumont_iac.schema import (
    PROVIDER_KEY,
    InvalidArgumentsError,
    ResourceSchema,
    SchemaDeclarationError,
    arg,
    check,
    computed,
    fields_of,
    resource_properties,
    validate_arguments,
)
from dumont_iac.testing.toy import ToyRecordArgs, ToyRecordProvider


class VaultArgs(ResourceSchema):
    path: str = arg(replaces=True, description="Where the secret lives.")
    password: str = arg(secret=True, min_length=12, description="The secret itself.")
    copies: int = arg(1, ge=1, le=3, description="How many copies.")
    ports: list[int] = arg(default_factory=list, description="Ports.")
    handle: str | None = computed(description="Handle assigned on creation.")


def failures_of(result) -> dict[str, str]:
    return {f.property: f.reason for f in result.failures}


def test_valid_inputs_get_defaults_and_lose_the_provider_blob():
    result = check(ToyRecordArgs, {}, {PROVIDER_KEY: "blob", "name": "a"})
    assert result.failures == []
    assert result.inputs == {
        "name": "a",
        "zone": "zone-a",
        "size": 1,
        "color": "red",
        "labels": {},
    }


def test_numbers_arriving_as_floats_become_ints():
    result = check(
        VaultArgs, {}, {"path": "p", "password": "x" * 12, "copies": 2.0, "ports": [22.0]}
    )
    assert result.failures == []
    assert result.inputs["copies"] == 2 and type(result.inputs["copies"]) is int
    assert result.inputs["ports"] == [22] and type(result.inputs["ports"][0]) is int


def test_a_fractional_number_for_an_int_field_fails_naming_field_and_value():
    failures = failures_of(check(ToyRecordArgs, {}, {"name": "a", "size": 2.5}))
    assert list(failures) == ["size"]
    assert "valid integer" in failures["size"] and "got 2.5" in failures["size"]


def test_each_failure_names_the_field_the_value_and_what_is_allowed():
    news = {"name": "", "size": 5000.0, "color": "pink", "labels": {"team": 7}}
    failures = failures_of(check(ToyRecordArgs, {}, news))
    assert set(failures) == {"name", "size", "color", "labels.team"}
    assert "at least 1 character" in failures["name"] and "got ''" in failures["name"]
    assert "less than or equal to 1000" in failures["size"] and "got 5000" in failures["size"]
    assert "'red', 'green' or 'blue'" in failures["color"] and "got 'pink'" in failures["color"]
    assert "valid string" in failures["labels.team"] and "got 7" in failures["labels.team"]


def test_missing_required_argument_is_reported_with_its_description():
    failures = failures_of(check(ToyRecordArgs, {}, {}))
    assert failures == {"name": "is required (Record name.)"}


def test_nested_list_positions_appear_in_the_property_path():
    failures = failures_of(
        check(VaultArgs, {}, {"path": "p", "password": "x" * 12, "ports": [22, "ssh"]})
    )
    assert list(failures) == ["ports[1]"]


def test_unknown_and_computed_properties_are_rejected_by_name():
    failures = failures_of(
        check(ToyRecordArgs, {}, {"name": "a", "colour": "red", "record_id": "r1"})
    )
    assert failures["colour"] == (
        "is not an argument of ToyRecord; allowed: color, labels, name, size, zone"
    )
    assert failures["record_id"] == "is computed by the provider and cannot be set"


def test_a_secret_value_never_appears_in_a_failure():
    failures = failures_of(check(VaultArgs, {}, {"path": "p", "password": "hunter2"}))
    assert "hunter2" not in failures["password"]
    assert "<secret>" in failures["password"] and "at least 12" in failures["password"]


@pytest.mark.parametrize("unknown", [Unknown(), UNKNOWN], ids=["Unknown", "sentinel"])
def test_unknown_values_during_preview_pass_and_are_kept(unknown):
    result = check(ToyRecordArgs, {}, {"name": unknown, "size": unknown, "labels": {"a": unknown}})
    assert result.failures == []
    assert result.inputs["name"] is unknown and result.inputs["size"] is unknown
    assert result.inputs["labels"] == {"a": unknown}
    assert result.inputs["color"] == "red"  # defaults still filled around the unknowns


def test_known_values_are_still_validated_and_coerced_next_to_unknowns():
    result = check(ToyRecordArgs, {}, {"name": Unknown(), "size": 0})
    assert failures_of(result) == {"size": "Input should be greater than or equal to 1; got 0"}
    result = check(ToyRecordArgs, {}, {"name": Unknown(), "size": 3.0})
    assert result.failures == [] and type(result.inputs["size"]) is int


def test_environment_default_fills_a_missing_argument(monkeypatch):
    monkeypatch.setenv("DUMONT_TOY_ZONE", "zone-b")
    assert check(ToyRecordArgs, {}, {"name": "a"}).inputs["zone"] == "zone-b"
    assert check(ToyRecordArgs, {}, {"name": "a", "zone": "zone-c"}).inputs["zone"] == "zone-c"


def test_provider_check_is_the_schema_check():
    result = ToyRecordProvider().check({}, {PROVIDER_KEY: "blob", "name": "a", "size": 3.0})
    assert result.failures == [] and result.inputs["size"] == 3


def test_program_side_validation_raises_naming_each_field():
    with pytest.raises(InvalidArgumentsError) as caught:
        validate_arguments(
            ToyRecordArgs, {"name": "a", "size": 0, "color": "pink"}, "ToyRecord 'x'"
        )
    message = str(caught.value)
    assert message.startswith("invalid arguments for ToyRecord 'x':")
    assert "size: Input should be greater than or equal to 1; got 0" in message
    assert "color: Input should be 'red', 'green' or 'blue'; got 'pink'" in message


@pytest.fixture
def event_loop_for_outputs():
    """Outputs need a current event loop to be built outside a Pulumi program."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def test_program_side_outputs_are_passed_through_unvalidated(event_loop_for_outputs):
    size = pulumi.Output.from_input(0)
    props = validate_arguments(ToyRecordArgs, {"name": "a", "size": size})
    assert props["size"] is size and props["color"] == "red"


def test_program_side_accepts_a_schema_instance_and_lists_every_output():
    props = resource_properties(ToyRecordArgs, ToyRecordArgs(name="a", size=4))
    assert props["size"] == 4 and props["zone"] == "zone-a"
    assert {k for k, v in props.items() if v is None} == {
        "record_id",
        "revision",
        "access_token",
        "schema_version",
    }


def test_a_field_without_policy_is_a_declaration_error():
    class Loose(ResourceSchema):
        name: str

    with pytest.raises(SchemaDeclarationError, match=r"Loose.name has no policy"):
        fields_of(Loose)


def test_a_secret_argument_cannot_default_from_the_environment():
    class Leaky(ResourceSchema):
        token: str = arg(secret=True, env="TOKEN", description="t")

    with pytest.raises(SchemaDeclarationError, match=r"written into the stack state"):
        fields_of(Leaky)


def test_the_schema_version_output_name_is_reserved():
    with pytest.warns(UserWarning, match="shadows an attribute"):

        class Clash(ResourceSchema):
            schema_version: int = arg(1, description="clash")

    with pytest.raises(SchemaDeclarationError, match="Clash.schema_version: this name is reserved"):
        fields_of(Clash)
