"""The EC2 client of CPU standbys against moto's server: run, describe, find, retag, terminate.

moto never runs out of capacity and never throttles, so those faults are injected on the real
boto3 client with botocore's ``before-send`` event hook: the request is answered, at the HTTP
level, with EC2's own error body and status, and botocore parses and retries it as it would a
real answer (``AWS_MAX_ATTEMPTS=2`` keeps its backoff short)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from dumont_iac.clients.aws.ec2 import (
    IMAGE_PARAMETERS,
    Ec2,
    VmSpec,
    architecture_of,
    client_token,
)
from dumont_iac.clients.aws.session import client
from dumont_iac.errors import AwsCapacityError, AwsError, AwsThrottled

from .conftest import billing, moto_ec2, vms_in


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def answer_with_error(
    boto_client: Any, operation: str, code: str, status: int, times: int | None = None
) -> list[str]:
    """Answer ``operation`` with ``code`` (the first ``times`` attempts; every one if None).
    Returns the list of attempts seen."""
    service = boto_client.meta.service_model.service_name
    attempts: list[str] = []
    if boto_client.meta.service_model.protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{code} (injected)</Message>"
            "</Error></Errors><RequestID>0</RequestID></Response>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": f"{code} (injected)"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1"}

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(operation)
        if times is None or len(attempts) <= times:
            return AWSResponse(request.url, status, headers, _Body(body))
        return None

    boto_client.meta.events.register(f"before-send.{service}.{operation}", handler)
    return attempts


@pytest.fixture
def ec2(aws: str, monkeypatch: pytest.MonkeyPatch) -> Ec2:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return Ec2("us-east-1")


@pytest.fixture
def identity(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The test's own identity tag (the module shares one moto server)."""
    return ("dumont:standby", hashlib.sha256(request.node.name.encode()).hexdigest()[:16])


def test_a_spot_vm_runs_with_its_tags_and_the_default_image(ec2, aws, identity):
    spec = VmSpec("t3.medium", disk_size_gb=30, tags={"Name": "standby", "team": "ml"})
    vm = ec2.launch(spec, identity=identity)
    running = ec2.wait_running(vm.instance_id, timeout=30)
    assert running.state == "running" and running.spot
    assert running.private_ip and running.zone and running.zone.startswith("us-east-1")
    assert running.tags == {"Name": "standby", "team": "ml", identity[0]: identity[1]}
    wanted = client("ssm", "us-east-1").get_parameter(Name=IMAGE_PARAMETERS["x86_64"])
    assert running.image_id == wanted["Parameter"]["Value"]
    (raw,) = vms_in(aws, identity)
    assert raw["InstanceLifecycle"] == "spot" and raw["InstanceType"] == "t3.medium"
    assert raw["ClientToken"] == client_token(f"{identity[0]}={identity[1]}")
    assert ec2.describe(vm.instance_id) == running


def test_on_demand_in_a_subnet_with_security_groups(ec2, aws, identity):
    moto = moto_ec2(aws)
    vpc = moto.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = moto.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = moto.create_security_group(GroupName="standby", Description="d", VpcId=vpc)
    spec = VmSpec("t3.small", spot=False, subnet_id=subnet,
                  security_group_ids=(group["GroupId"],))  # fmt: skip
    vm = ec2.launch(spec, identity=identity)
    (raw,) = vms_in(aws, identity)
    assert raw["SubnetId"] == subnet and not vm.spot
    assert [g["GroupId"] for g in raw["SecurityGroups"]] == [group["GroupId"]]


def test_a_second_launch_of_the_same_identity_adopts_the_live_vm(ec2, aws, identity):
    first = ec2.launch(VmSpec("t3.medium"), identity=identity)
    again = ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert again.instance_id == first.instance_id
    assert len(vms_in(aws, identity)) == 1


def test_find_by_tag_sees_live_vms_and_leftovers_only_when_asked(ec2, identity):
    vm = ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert [v.instance_id for v in ec2.find_by_tag(*identity)] == [vm.instance_id]
    ec2.terminate(vm.instance_id)
    ec2.wait_terminated(vm.instance_id, timeout=30)
    assert ec2.find_by_tag(*identity) == []
    assert [v.state for v in ec2.find_by_tag(*identity, include_gone=True)] == ["terminated"]


def test_terminate_is_done_when_repeated_or_when_ec2_does_not_know_the_vm(ec2, aws, identity):
    vm = ec2.launch(VmSpec("t3.medium"), identity=identity)
    ec2.terminate(vm.instance_id)
    ec2.terminate(vm.instance_id)
    ec2.wait_terminated(vm.instance_id, timeout=30)
    ec2.terminate("i-0123456789abcdef0")
    ec2.wait_terminated("i-0123456789abcdef0", timeout=5)
    assert ec2.describe("i-0123456789abcdef0") is None
    assert billing(aws, identity) == []


def test_set_tags_adds_changes_and_removes(ec2, identity):
    vm = ec2.launch(VmSpec("t3.medium", tags={"a": "1", "b": "2"}), identity=identity)
    ec2.set_tags(vm.instance_id, {"a": "9", "c": "3"}, remove=["b"])
    assert ec2.describe(vm.instance_id).tags == {"a": "9", "c": "3", identity[0]: identity[1]}


def test_a_vm_terminated_out_of_band_while_starting_fails_the_wait_at_once(ec2, aws, identity):
    vm = ec2.launch(VmSpec("t3.medium"), identity=identity)
    moto_ec2(aws).terminate_instances(InstanceIds=[vm.instance_id])
    with pytest.raises(AwsError, match=f"VM {vm.instance_id} ended before it ran"):
        ec2.wait_running(vm.instance_id, timeout=30)
    assert ec2.find_by_tag(*identity) == []  # a new launch would start afresh


def test_insufficient_spot_capacity_is_a_capacity_error_and_leaves_no_vm(ec2, aws, identity):
    # EC2 answers a capacity shortage with HTTP 500, which boto3 retries before giving up.
    attempts = answer_with_error(ec2.client, "RunInstances", "InsufficientInstanceCapacity", 500)
    before = len(vms_in(aws))
    with pytest.raises(AwsCapacityError) as failed:
        ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert failed.value.code == "InsufficientInstanceCapacity"
    assert "choose another instance type or zone, or turn spot off" in str(failed.value)
    assert len(attempts) == 2  # AWS_MAX_ATTEMPTS
    assert len(vms_in(aws)) == before


def test_throttling_is_retried_and_then_reported(ec2, aws, identity):
    attempts = answer_with_error(ec2.client, "RunInstances", "RequestLimitExceeded", 503)
    before = len(vms_in(aws))
    with pytest.raises(AwsThrottled, match="throttled .RequestLimitExceeded. after retries"):
        ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert len(attempts) == 2 and len(vms_in(aws)) == before


def test_one_throttled_attempt_is_absorbed_by_the_retry_and_runs_one_vm(ec2, aws, identity):
    attempts = answer_with_error(ec2.client, "RunInstances", "RequestLimitExceeded", 503, times=1)
    vm = ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert len(attempts) == 2
    assert [v["InstanceId"] for v in vms_in(aws, identity)] == [vm.instance_id]


def test_no_default_image_says_to_give_image_id(aws, monkeypatch, identity):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    ssm = client("ssm", "us-east-1")
    answer_with_error(ssm, "GetParameter", "ParameterNotFound", 400)
    ec2 = Ec2("us-east-1", ssm_client=ssm)
    with pytest.raises(AwsError, match="give image_id") as failed:
        ec2.launch(VmSpec("t3.medium"), identity=identity)
    assert IMAGE_PARAMETERS["x86_64"] in str(failed.value)
    assert vms_in(aws, identity) == []


def test_an_explicit_image_skips_the_parameter(ec2, aws, identity):
    vm = ec2.launch(VmSpec("t3.medium", image_id="ami-0123456789abcdef0"), identity=identity)
    assert vm.image_id == "ami-0123456789abcdef0"


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [("t3.medium", "x86_64"), ("t4g.small", "arm64"), ("c6gn.large", "arm64"),
     ("m5.large", "x86_64"), ("m7i-flex.large", "x86_64"), ("r7g.xlarge", "arm64")],
)  # fmt: skip
def test_the_architecture_follows_the_instance_family(instance_type, arch):
    assert architecture_of(instance_type) == arch


def test_client_tokens_are_stable_short_and_differ_per_generation():
    assert client_token("x") == client_token("x", 0) and len(client_token("x" * 500)) <= 64
    assert client_token("x", 1) != client_token("x", 0) != client_token("y", 0)
