"""FailoverPolicy's arguments: defaults, bounds and what a bad value says, checked in the
program before anything is sent, and which changes update in place."""

from __future__ import annotations

import pytest

from dumont_iac import FailoverPolicyArgs
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.provider.failover_policy import FailoverPolicyProvider, settings_for
from dumont_iac.schema import fields_of, validate_arguments


def test_defaults_are_the_documented_ones():
    args = FailoverPolicyArgs(gpu_id="gpu-3f9a1c0e7b2d")
    assert (args.strategy, args.health_check_interval_seconds, args.failure_threshold) == (
        None, 10, 3)  # fmt: skip
    assert (args.max_failovers_per_day, args.min_seconds_between_failovers) == (5, 300)
    assert args.rebid_before_failover is True


def test_the_settings_sent_are_an_override_with_every_field():
    sent = settings_for(FailoverPolicyArgs(gpu_id="gpu-1", strategy="cpu_standby",
                                           failure_threshold=7))  # fmt: skip
    assert sent.use_global_settings is False and sent.strategy == "cpu_standby"
    assert sent.failure_threshold == 7 and sent.health_check_interval_seconds == 10
    assert sent.rebid_before_failover is True and sent.max_failovers_per_day == 5


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("strategy", "sometimes", "warm_pool"),
        ("health_check_interval_seconds", 0, "greater than or equal to 1"),
        ("failure_threshold", 101, "less than or equal to 100"),
        ("max_failovers_per_day", -1, "greater than or equal to 0"),
        ("min_seconds_between_failovers", 86_401, "less than or equal to 86400"),
        ("gpu_id", "bad id!", "pattern"),
    ],
)
def test_a_bad_value_names_the_field_the_value_and_what_is_allowed(field, value, says):
    arguments = {"gpu_id": "gpu-3f9a1c0e7b2d", field: value}
    with pytest.raises(InvalidArgumentsError) as caught:
        validate_arguments(FailoverPolicyArgs, arguments, "FailoverPolicy 'p'")
    message = str(caught.value)
    assert field in message and says in message and "'p'" in message


def test_only_the_gpu_replaces_the_policy():
    arguments = fields_of(FailoverPolicyArgs).arguments
    assert [name for name, policy in arguments.items() if policy.replaces] == ["gpu_id"]
    olds = {"gpu_id": "gpu-1", "failure_threshold": 3}
    provider = FailoverPolicyProvider()
    in_place = provider.diff("gpu-1", olds, {"gpu_id": "gpu-1", "failure_threshold": 4})
    replaced = provider.diff("gpu-1", olds, {"gpu_id": "gpu-2", "failure_threshold": 3})
    assert in_place.changes and not in_place.replaces
    assert replaced.replaces == ["gpu_id"]


def test_gpu_must_be_a_gpu_resource_of_the_program():
    from dumont_iac import FailoverPolicy

    with pytest.raises(TypeError, match="gpu: expected a GpuInstance or a WarmPool"):
        FailoverPolicy("p", gpu="gpu-3f9a1c0e7b2d")
