"""What a CPU standby does when the outside world fails, through the driver on the local world:
the stack ends with exactly what it declares, nothing billing on AWS that is not declared, and
an error that says what to do.

moto cannot run out of spot capacity, and the provider runs in its own process, so capacity is
taken away by ``AwsFaults``: a proxy in front of moto's server that answers RunInstances with
EC2's own error body and HTTP status (the provider's boto3 parses and retries it as a real
one). The same proxy stops the control plane at the moment the VM is launched."""

from __future__ import annotations

import pytest

from dumont_iac import CpuStandby, GpuInstance
from dumont_iac.errors import DeploymentError
from dumont_iac.testing.aws_faults import AwsFaults
from dumont_iac.testing.market import Market

from .conftest import billing, vms_in


def program() -> None:
    gpu = GpuInstance("train", image="ubuntu:22.04", max_price_per_hour=2.0)
    CpuStandby("train-standby", gpu=gpu)


@pytest.mark.parametrize(
    ("key", "said"),
    [("not-the-key", "was refused"), ("", "is not set")],
    ids=["refused", "missing"],
)
def test_a_bad_key_fails_before_any_vm_is_launched(world_stack, world, key, said):
    stack = world_stack(program, project="standby", stack="ci", env={"DUMONT_API_KEY": key})
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "dumont:apiKey" in message and said in message
    assert world.control_plane_key not in message and (not key or key not in message)
    assert vms_in(world.aws.url) == []
    assert sorted(stack.state.ids()) == ["train"]  # the GPU, which needs no control plane
    stack.destroy()
    with Market(world.marketplace) as market:
        assert market.instances() == []


def test_an_unreachable_control_plane_fails_before_any_vm_naming_the_setting(world_stack, world):
    stack = world_stack(program, project="standby", stack="ci",
                        env={"DUMONT_API_URL": "http://127.0.0.1:9"})  # fmt: skip
    with pytest.raises(DeploymentError) as failed:
        stack.up()
    message = str(failed.value)
    assert "http://127.0.0.1:9" in message and "DUMONT_API_URL" in message
    assert "dumont:apiUrl" in message
    assert vms_in(world.aws.url) == []
    stack.destroy()


def test_a_registration_that_fails_terminates_the_vm_and_says_to_run_again(world_stack, world):
    with AwsFaults(world.aws.url) as faults:
        faults.on("RunInstances", world.control_plane.stop)
        stack = world_stack(program, project="standby", stack="ci",
                            env={"AWS_ENDPOINT_URL": faults.url})  # fmt: skip
        with pytest.raises(DeploymentError) as failed:
            stack.up()
    message = str(failed.value)
    (vm,) = vms_in(world.aws.url)
    assert vm["State"]["Name"] == "terminated"
    assert f"VM {vm['InstanceId']} was terminated, so nothing is left billing" in message
    assert "control-plane URL" in message and "safe to retry" in message
    assert "run `pulumi up` again" in message
    assert sorted(stack.state.ids()) == ["train"]
    stack.env["AWS_ENDPOINT_URL"] = world.aws.url
    stack.destroy()
    assert billing(world.aws.url) == []


def test_no_spot_capacity_is_a_clear_error_and_launches_no_vm(world_stack, world):
    with AwsFaults(world.aws.url) as faults:
        faults.fail(
            "RunInstances",
            "InsufficientInstanceCapacity",
            status=500,
            times=10,
            message="There is no Spot capacity available that matches your request.",
        )
        stack = world_stack(program, project="standby", stack="ci",
                            env={"AWS_ENDPOINT_URL": faults.url})  # fmt: skip
        with pytest.raises(DeploymentError) as failed:
            stack.up()
        assert faults.count("RunInstances") == 2  # boto3 retried once (AWS_MAX_ATTEMPTS=2)
    message = str(failed.value)
    assert "InsufficientInstanceCapacity" in message and "No VM was launched" in message
    assert "choose another instance type or zone, or turn spot off" in message
    assert vms_in(world.aws.url) == []
    stack.env["AWS_ENDPOINT_URL"] = world.aws.url
    stack.destroy()
    with Market(world.marketplace) as market:
        assert market.instances() == []


def test_destroy_with_the_control_plane_down_still_terminates_the_vm(world_stack, world):
    stack = world_stack(program, project="standby", stack="ci")
    stack.up()
    world.control_plane.stop()
    with pytest.raises(DeploymentError) as failed:
        stack.destroy()
    message = str(failed.value)
    assert "its VM is terminated" in message and "run `pulumi destroy` again" in message
    assert billing(world.aws.url) == []
    assert "train-standby" in stack.state.ids()  # kept, so the association is removed later
