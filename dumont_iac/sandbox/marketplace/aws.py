"""The world's AWS seen from the sandbox: terminating an EC2 VM out of band, as an AWS outage,
a spot reclaim or a colleague's console click would.

The sandbox talks only to moto's server (``SandboxSettings.aws_endpoint_url``), which takes any
credentials: the fixed fake ones below, never the caller's.
"""

from __future__ import annotations

from typing import Any

import boto3

from dumont_iac.clients.aws import session
from dumont_iac.errors import AwsError, AwsNotFound
from dumont_iac.sandbox.marketplace.errors import InvalidRequest, NoSuchVm

DEFAULT_REGION = session.DEFAULT_REGION
# moto's server accepts any keys; these keep boto3 from looking for real ones.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
}


def _ec2(endpoint_url: str, region: str) -> Any:
    fake = boto3.session.Session(
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    return fake.client("ec2", endpoint_url=endpoint_url, config=session.retries())


def terminate_vm(endpoint_url: str | None, ec2_instance_id: str, region: str) -> dict[str, Any]:
    if not endpoint_url:
        raise InvalidRequest(
            "This sandbox runs without AWS: start the whole world (`dumont-iac sandbox world`, "
            "or the `world` test fixture) with moto installed (the `sandbox` extra) to terminate "
            "EC2 VMs.",
            status=409,
        )
    ec2 = _ec2(endpoint_url, region)
    try:
        with session.translated("TerminateInstances"):
            answer = ec2.terminate_instances(InstanceIds=[ec2_instance_id])
    except AwsNotFound:
        raise NoSuchVm(ec2_instance_id, region) from None
    except AwsError as exc:
        raise InvalidRequest(str(exc), status=502) from None
    change = answer["TerminatingInstances"][0]
    return {
        "ec2_instance_id": ec2_instance_id,
        "region": region,
        "previous_state": change["PreviousState"]["Name"],
        "state": change["CurrentState"]["Name"],
    }
