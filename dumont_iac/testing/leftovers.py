"""What a deployment left in a sandbox world: everything that still bills or is still
registered, looked up on the services themselves, not through the provider under test.

    assert leftovers(world) == {}

Kinds with nothing left are left out, so a failing assertion names only what stayed.
"""

from __future__ import annotations

from typing import Any

import boto3

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.store.documents import (
    FAILOVER_GPU,
    HIBERNATION_POLICY,
    SNAPSHOT_POLICY,
    STANDBY,
    WARM_POOL,
)
from dumont_iac.sandbox.world import AWS_CREDENTIALS, CONTROL_PLANE_USER, World

# What the providers register with the control plane, one document per GPU or pool.
REGISTRATIONS = (FAILOVER_GPU, STANDBY, WARM_POOL, SNAPSHOT_POLICY, HIBERNATION_POLICY)
REGION = "us-east-1"


def leftovers(world: World) -> dict[str, list[Any]]:
    """Rentals and volumes on the marketplace, VMs not terminated and buckets in moto, and
    every registration and budget on the control plane, by kind."""
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    found: dict[str, list[Any]] = {
        "rentals": sorted(i.id for i in market.instances()),
        "volumes": sorted(v.id for v in market.volumes()),
    }
    if world.aws is not None:
        found["vms"] = _vms_not_terminated(world.aws.url)
        found["buckets"] = sorted(
            b["Name"] for b in _aws("s3", world.aws.url).list_buckets()["Buckets"]
        )
    store = world.control_plane.store
    user_id = store.users.id_of(CONTROL_PLANE_USER)
    assert user_id is not None, "the world's control plane has no sandbox user"
    for kind in REGISTRATIONS:
        found[kind] = sorted(store.documents.list(user_id, kind))
    control_plane = ControlPlaneClient(world.control_plane.url, world.control_plane_key)
    found["budgets"] = sorted(b.id for b in control_plane.budgets().budgets)
    return {kind: left for kind, left in found.items() if left}


def _vms_not_terminated(url: str) -> list[str]:
    pages = _aws("ec2", url).describe_instances()["Reservations"]
    return sorted(
        vm["InstanceId"]
        for page in pages
        for vm in page["Instances"]
        if vm["State"]["Name"] != "terminated"
    )


def _aws(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
