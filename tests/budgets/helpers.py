"""Rentals, EC2 VMs and waits for the budget tests (every wait bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from dumont_iac.clients.aws.session import client as aws_client
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance, RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.control_plane.models.policies import Budget

T = TypeVar("T")


def until(what: str, check: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def market_client(world: Any) -> MarketplaceClient:
    return MarketplaceClient(world.market.url, world.market.api_key, pacing_scale=0)


def control_plane(world: Any) -> ControlPlaneClient:
    return ControlPlaneClient(world.control_plane.url, world.key)


def rent(market: MarketplaceClient, logical_id: str) -> Instance:
    """One on-demand rental carrying ``dumont:<logical_id>``, once it runs."""
    offer = market.search_offers(OfferFilter(interruptible=False, max_price_per_hour=2.0))[0]
    rental = market.rent(offer.id, RentRequest(image="ubuntu:22.04"), label=f"dumont:{logical_id}")

    def running() -> Instance | None:
        found = market.instance(rental.instance_id)
        return found if found is not None and found.actual_status == "running" else None

    return until(f"rental {rental.instance_id} to run", running)


def ec2_vm(gpu_id: str, instance_type: str = "t3.medium") -> str:
    """A running VM tagged as a CPU standby of ``gpu_id``, on moto's server."""
    ec2 = aws_client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(
        ImageId=image,
        InstanceType=instance_type,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "dumont:gpu", "Value": gpu_id}]}
        ],
    )
    return str(made["Instances"][0]["InstanceId"])


def vm_state(instance_id: str) -> str:
    found = aws_client("ec2").describe_instances(InstanceIds=[instance_id])
    return str(found["Reservations"][0]["Instances"][0]["State"]["Name"])


def budget(limit: float, gpu_ids: list[str], action: str, url: str | None, secret: str) -> Budget:
    return Budget(
        name="team",
        threshold=limit,
        action=action,  # type: ignore[arg-type]
        gpu_ids=gpu_ids,
        webhook_url=url,
        webhook_secret=secret if url else None,
    )


def alerts_of(received: list[Any]) -> dict[float, list[dict[str, Any]]]:
    """The alerts received, by threshold percent."""
    by_percent: dict[float, list[dict[str, Any]]] = {}
    for request in received:
        body = request.json()
        by_percent.setdefault(body["data"]["threshold_percent"], []).append(body)
    return by_percent
