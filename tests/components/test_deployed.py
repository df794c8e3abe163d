"""Components deployed through the driver on the local world: the endpoints an InferenceFleet
exports are its members' public ip and the public port the marketplace published for the
serving port, and destroying it leaves nothing billing."""

from __future__ import annotations

import pulumi

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.components import InferenceFleet


def _fleet() -> None:
    fleet = InferenceFleet(
        "serve", image="ubuntu:22.04", count=2, port=8000, max_price_per_hour=0.5,
        budget_limit_usd=2000,
    )  # fmt: skip
    pulumi.export("endpoints", fleet.endpoints)
    pulumi.export("running", fleet.running_count)


def test_an_inference_fleets_endpoints_are_the_published_ports_of_its_members(
    world, deployment_factory
):
    env = {**world.exports(), "DUMONT_PACING_SCALE": "0"}
    stack = deployment_factory(_fleet, project="components", env=env, call_timeout=120.0)
    up = stack.up()
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    published = sorted(
        f"{i.public_ipaddr}:{i.host_port(8000)}" for i in market.instances() if i.host_port(8000)
    )
    assert up.outputs["running"] == 2
    assert sorted(up.outputs["endpoints"]) == published and len(published) == 2
    assert not stack.preview().changed
    stack.destroy()
    assert market.instances() == []
