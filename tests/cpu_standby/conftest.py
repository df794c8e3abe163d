"""Fixtures of the CPU standby tests: moto's server alone (EC2 client tests) and stacks on the
whole local world (marketplace, control plane, moto) through the driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from dumont_iac.sandbox.world import AWS_CREDENTIALS
from dumont_iac.testing import Deployment


@pytest.fixture(scope="module")
def moto_url(moto_server: str) -> str:
    """moto's server, shared by a module's tests: each test tags its VMs with an identity of
    its own."""
    return moto_server


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's URL, with this process's boto3 pointed at it."""
    for name, value in {**AWS_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(name, value)
    return moto_url


def moto_ec2(url: str, region: str = "us-east-1") -> Any:
    """A plain boto3 client that looks into moto, independently of the code under test."""
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def vms_in(
    url: str, tag: tuple[str, str] | None = None, region: str = "us-east-1"
) -> list[dict[str, Any]]:
    """Every VM moto holds (carrying ``tag`` when given), terminated ones included."""
    filters = [{"Name": f"tag:{tag[0]}", "Values": [tag[1]]}] if tag else []
    pages = moto_ec2(url, region).describe_instances(Filters=filters)["Reservations"]
    return [vm for reservation in pages for vm in reservation["Instances"]]


def billing(
    url: str, tag: tuple[str, str] | None = None, region: str = "us-east-1"
) -> list[dict[str, Any]]:
    return [vm for vm in vms_in(url, tag, region) if vm["State"]["Name"] != "terminated"]


@pytest.fixture
def world_stack(
    deployment_factory: Callable[..., Deployment], world: Any
) -> Callable[..., Deployment]:
    """Deployments whose provider reaches the world's marketplace, control plane and moto.

    moto's backends live in the process, not in one server: what an earlier test left is
    reset, so a test sees only its own VMs."""
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()

    def make(program: Any, **kwargs: Any) -> Deployment:
        env = {**world.exports(), "DUMONT_PACING_SCALE": "0", "AWS_MAX_ATTEMPTS": "2"}
        kwargs["env"] = {**env, **kwargs.get("env", {})}
        kwargs.setdefault("call_timeout", 90.0)
        return deployment_factory(program, **kwargs)

    return make
