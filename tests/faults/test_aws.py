"""AWS failing during a whole-stack deploy: throttled past the retries, or out of spot capacity.

``AwsFaults`` answers the chosen calls as AWS does (EC2's and S3's own error bodies), so the
provider's boto3 retries them (``AWS_MAX_ATTEMPTS=2``: once) and then gives up. Only what calls
AWS fails, saying what happened and what to do; everything else in the same deploy ends as
declared, nothing bills on AWS that the state does not hold, and the next ``up`` converges.
"""

from __future__ import annotations

from typing import Any

import pytest

from dumont_iac.errors import DeploymentError
from dumont_iac.testing.aws_faults import AwsFaults
from dumont_iac.testing.failover import FailoverWorld

from .matrix import every_row
from .stacks import assert_as_declared, assert_nothing_left, every_resource

ATTEMPTS = 2  # the stack's AWS_MAX_ATTEMPTS: every armed fault outlasts boto3's retries
THROTTLED = pytest.param(
    [
        ("RunInstances", "RequestLimitExceeded", 503, "Request limit exceeded."),
        ("CreateBucket", "SlowDown", 503, "Please reduce your request rate."),
    ],
    [
        "AWS RunInstances: throttled (RequestLimitExceeded) after retries; wait and run again",
        "AWS CreateBucket: throttled (SlowDown) after retries; wait and run again",
    ],
    {"gpu-standby", "gpu-snapshots"},
    id="throttled",
    marks=every_row("aws_throttling"),
)
NO_CAPACITY = pytest.param(
    [
        (
            "RunInstances",
            "InsufficientInstanceCapacity",
            500,
            "There is no Spot capacity available that matches your request.",
        ),
    ],
    [
        "InsufficientInstanceCapacity",
        "No VM was launched",
        "choose another instance type or zone, or turn spot off",
    ],
    {"gpu-standby"},
    id="no-spot-capacity",
    marks=every_row("aws_no_spot_capacity"),
)
# What calls AWS while it is deployed, and what waits on it.
ON_AWS = {"gpu-standby", "gpu-snapshots", "gpu-sleep"}


@pytest.mark.parametrize(("faults", "said", "failing"), [THROTTLED, NO_CAPACITY])
def test_aws_failing_a_deploy_fails_only_what_calls_it_and_the_next_up_converges(
    lab: FailoverWorld,
    stack_of: Any,
    faults: list[tuple[str, str, int, str]],
    said: list[str],
    failing: set[str],
) -> None:
    with AwsFaults(lab.world.aws.url) as aws:  # type: ignore[union-attr]
        for action, code, status, message in faults:
            aws.fail(action, code, status=status, times=ATTEMPTS, message=message)
        stack = stack_of(every_resource, env={"AWS_ENDPOINT_URL": aws.url})
        with pytest.raises(DeploymentError) as failed:
            stack.up()
        message = "\n".join(str(error) for error in failed.value.errors)
        for words in said:
            assert words in message, message
        for action, *_ in faults:
            assert aws.count(action) == ATTEMPTS, (action, aws.calls)
        names = {resource.name for resource in stack.state.resources.values()}
        assert not failing & names, names  # nothing half-made is kept in the state
        assert_as_declared(lab, stack, refresh=False)  # the rest is planned, not drift

        again = stack.up()  # the faults are spent: AWS answers again
        assert set(again.names("created")) >= ON_AWS - names
        assert not again.replaced and not again.deleted
        assert_as_declared(lab, stack)
        stack.destroy()
    assert_nothing_left(lab)
