"""WarmPool's arguments: what replaces, what changes in place, and bad values refused naming
the field, the value and what is allowed."""

from __future__ import annotations

import pytest

from dumont_iac import WarmPoolArgs
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.provider.warm_pool import WarmPoolProvider, pool_id_for, registration
from dumont_iac.schema import diff, fields_of, validate_arguments

BASE = {"image": "ubuntu:22.04", "logical_name": "pool/ci/train"}


def test_the_volume_replaces_and_standbys_change_in_place():
    policies = fields_of(WarmPoolArgs).arguments
    assert policies["volume_size_gb"].replaces and policies["volume_mount_path"].replaces
    assert not policies["standbys"].replaces and policies["image"].replaces
    args = WarmPoolArgs.model_validate(BASE)
    assert (args.standbys, args.volume_size_gb, args.volume_mount_path) == (1, 100, "/workspace")
    # The pool id follows what replaces, not the standby count.
    more = args.model_copy(update={"standbys": 3})
    assert pool_id_for(more) == pool_id_for(args) and pool_id_for(args).startswith("pool-")
    bigger = args.model_copy(update={"volume_size_gb": 200.0})
    assert pool_id_for(bigger) != pool_id_for(args)
    olds = args.model_dump(mode="json")
    planned = diff(WarmPoolArgs, olds, {**olds, "standbys": 1, "label": "x"})
    assert planned.changes and not planned.replaces


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("standbys", 8, "less than or equal to 7"),
        ("standbys", 0, "greater than or equal to 1"),
        ("volume_size_gb", 0, "greater than or equal to 1"),
        ("volume_mount_path", "workspace", "should match pattern"),
        ("gpu_count_match", "at_least", "rents exactly gpu_count GPUs"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value, allowed):
    with pytest.raises(InvalidArgumentsError, match=field) as refused:
        validate_arguments(WarmPoolArgs, {**BASE, field: value}, "WarmPool 'train'")
    assert allowed in str(refused.value)


def test_the_registration_carries_what_a_gpu_instance_would_take():
    chosen = {"gpu_models": ["RTX 4090"], "max_price_per_hour": 0.5}
    args = WarmPoolArgs.model_validate({**BASE, "standbys": 2, "label": "train", **chosen})
    registered = registration(args, machine_id=1042, volume_id=35000001)
    assert (registered.host_machine_id, registered.volume_id, registered.standbys) == (
        1042, 35000001, 2,
    )  # fmt: skip
    spec = registered.gpu.args()
    assert spec.gpu_models == ["RTX 4090"] and spec.max_price_per_hour == 0.5
    assert spec.logical_name == "pool/ci/train" and registered.gpu.label == "train"
    assert "standbys" not in registered.gpu.arguments


def test_a_dead_primary_is_no_reason_to_replace_the_pool():
    olds = {**WarmPoolArgs.model_validate(BASE).model_dump(mode="json"), "status": "offline"}
    planned = WarmPoolProvider().diff("pool-0123456789ab", olds, dict(olds))
    assert not planned.changes
