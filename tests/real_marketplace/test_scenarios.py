"""The cost-capped scenarios, on the local world every run and on the real marketplace with
``--real-marketplace``: a GPU deployed, refreshed and destroyed within ``--max-cost``; a cap
below every offer rents nothing; a warm pool failover within ``--failover-timeout``; a snapshot
within ``--max-size``. The target's sweeper then finds nothing of the run left."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pulumi
import pytest

from dumont_iac import GpuInstance, SnapshotPolicy, WarmPool
from dumont_iac.testing import Deployment, DeploymentError

from .target import BELOW_EVERY_OFFER, Target

IMAGE = "ubuntu:22.04"


@pytest.fixture
def stack_of(deployment_factory: Callable[..., Deployment], target: Target) -> Callable[..., Any]:
    def make(program: Callable[[], None], name: str) -> Deployment:
        return deployment_factory(
            program, project="capped", stack=name, env=target.env, call_timeout=600.0
        )

    return make


def rentals_of_run(target: Target) -> list[Any]:
    return [i for i in target.market.instances() if (i.label or "").startswith(target.prefix)]


def test_a_gpu_within_the_cap_is_deployed_refreshed_and_destroyed(target, stack_of):
    def program() -> None:
        gpu = GpuInstance(
            "probe", image=IMAGE, max_price_per_hour=target.max_cost, label=target.label("probe")
        )
        pulumi.export("price", gpu.price_per_hour)

    stack = stack_of(program, "gpu")
    up = stack.up()
    assert up.names("created") == ["probe"]
    price = up.outputs["price"]
    assert price is not None and price <= target.max_cost, f"rented at {price} $/h"
    (rental,) = rentals_of_run(target)
    assert rental.id == int(stack.state.by_name("probe").outputs["contract_id"])
    assert (rental.dph_total or 0) <= target.max_cost

    refreshed = stack.refresh()
    assert not refreshed.deleted and not refreshed.replaced
    stack.destroy()
    assert rentals_of_run(target) == []


def test_a_cap_below_every_offer_rents_nothing(target, stack_of):
    def program() -> None:
        GpuInstance(
            "too-cheap", image=IMAGE, max_price_per_hour=BELOW_EVERY_OFFER,
            label=target.label("too-cheap"),
        )  # fmt: skip

    with pytest.raises(DeploymentError) as failed:
        stack_of(program, "refused").up()
    message = str(failed.value)
    assert "no offer" in message.lower() and "max_price_per_hour" in message, message
    assert rentals_of_run(target) == []


def test_a_warm_pool_fails_over_within_the_timeout(target, stack_of):
    if target.control_plane is None:
        pytest.skip("failover needs a control plane: set DUMONT_API_URL and DUMONT_API_KEY")

    def program() -> None:
        WarmPool(
            "pool", image=IMAGE, max_price_per_hour=target.max_cost, standbys=1,
            volume_size_gb=10, label=target.label("pool"),
        )  # fmt: skip

    stack = stack_of(program, "failover")
    stack.up()
    pool = stack.state.by_name("pool")
    before = pool.outputs
    started = target.now()
    target.fail_gpu(int(before["contract_id"]))
    cp = target.control_plane
    target.wait(
        "the warm pool failover",
        lambda: cp.events(gpu_id=pool.id, kind="action.succeeded").events,
        target.failover_timeout,
    )
    took = target.now() - started
    assert took <= target.failover_timeout, f"failover took {took:.0f} s"

    stack.refresh()
    after = stack.state.by_name("pool").outputs
    assert stack.state.by_name("pool").id == pool.id
    assert after["contract_id"] != before["contract_id"]
    assert after["contract_id"] in before["standby_contract_ids"]
    stack.destroy()
    assert rentals_of_run(target) == []


def test_a_snapshot_stays_within_the_size_cap(target, stack_of):
    if target.control_plane is None or not target.aws:
        pytest.skip("snapshots need a control plane (DUMONT_API_URL) and AWS credentials")
    bucket = target.bucket("snaps")

    def program() -> None:
        gpu = GpuInstance(
            "snapped", image=IMAGE, max_price_per_hour=target.max_cost,
            label=target.label("snapped"),
        )  # fmt: skip
        SnapshotPolicy(
            "snapped-snapshots", gpu=gpu, bucket=bucket, endpoint_url=target.s3_endpoint,
            interval_minutes=60, force_destroy=True,
        )  # fmt: skip

    stack = stack_of(program, "snapshot")
    stack.up()
    gpu = stack.state.by_name("snapped")
    target.write_workspace(int(gpu.outputs["contract_id"]), {"model.bin": bytes(range(256)) * 64})
    s3 = boto3.client("s3", endpoint_url=target.s3_endpoint)

    def snapshots() -> list[dict[str, Any]]:
        return s3.list_objects_v2(Bucket=bucket, Prefix=f"{gpu.id}/").get("Contents", [])

    (first, *_) = target.wait("the first snapshot", snapshots, target.failover_timeout)
    assert 0 < first["Size"] <= target.max_size_bytes, (
        f"snapshot {first['Key']} is {first['Size']} bytes, above --max-size "
        f"({target.max_size_bytes} bytes)"
    )
    stack.destroy()
    assert rentals_of_run(target) == []
