"""The helpers derived from a schema: outputs, secret names, the reference table, pickling."""

from __future__ import annotations

import base64

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.provider.base import SchemaProvider
from dumont_iac.schema import (
    SchemaDeclarationError,
    markdown_table,
    outputs_for,
    secret_output_names,
)
from dumont_iac.testing.toy import ToyRecordArgs, ToyRecordProvider


def test_outputs_echo_the_arguments_add_computed_values_and_the_schema_version():
    outs = outputs_for(ToyRecordArgs, {"name": "a", "size": 2, "__provider": "b"}, record_id="r1")
    assert outs == {"name": "a", "size": 2, "record_id": "r1", "schema_version": 2}


def test_an_undeclared_computed_output_is_refused_by_name():
    with pytest.raises(SchemaDeclarationError, match="no output named record_uid"):
        outputs_for(ToyRecordArgs, {"name": "a"}, record_uid="r1")


def test_secret_output_names_list_every_secret_field():
    assert secret_output_names(ToyRecordArgs) == ["access_token"]


def test_gone_is_an_empty_id_with_outputs_the_server_can_extend():
    gone = SchemaProvider.gone()
    assert gone.id == "" and gone.outs == {}


def test_provider_args_parse_prior_outputs_into_the_schema():
    args = ToyRecordProvider().args({"name": "a", "size": 2.0, "record_id": "r", "__provider": "b"})
    assert isinstance(args, ToyRecordArgs) and args.size == 2 and args.zone == "zone-a"


def test_markdown_table_documents_type_default_policy_and_description():
    table = markdown_table(ToyRecordArgs)
    rows = {
        line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| `")
    }
    assert rows["`name`"] == (
        "| `name` | `str` (min length 1, max length 40) | required | replaces the resource "
        "| Record name. |"
    )
    assert "| `size` | `int` (>= 1, <= 1000) | `1` | updated in place |" in rows["`size`"]
    assert "`'zone-a'`, env `DUMONT_TOY_ZONE`" in rows["`zone`"]
    assert "`'red' \\| 'green' \\| 'blue'`" in rows["`color`"]
    assert rows["`access_token`"].endswith("Token for the record. Secret. |")
    assert "(now 2)" in rows["`schema_version`"]


def test_provider_pickles_by_reference_and_stays_empty():
    provider = ToyRecordProvider()
    provider.check({}, {"name": "a"})
    provider.diff("r", {"name": "a"}, {"name": "b"})
    assert vars(provider) == {}
    raw = base64.b64decode(serialize_provider(provider))
    assert b"dumont_iac.testing.toy" in raw and b"ToyRecordProvider" in raw
    # By reference: no class body, no schema, no pydantic machinery inside the blob.
    assert len(raw) < 200 and b"pydantic" not in raw
