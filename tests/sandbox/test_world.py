"""The local world: the marketplace, the control plane acting on it over HTTP, and moto for
AWS, on free ports, with the exports a client needs."""

from __future__ import annotations

import boto3
import httpx

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient


def test_the_three_services_answer_and_work_with_the_exported_settings(world, monkeypatch):
    exports = world.exports()
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    assert httpx.get(f"{exports['VAST_URL']}/health").status_code == 200
    assert ControlPlaneClient().health().status == "ok"
    assert ControlPlaneClient().global_settings().strategy  # the exported key is accepted
    assert MarketplaceClient(pacing_scale=0).user().credit > 0
    s3 = boto3.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL"])
    s3.create_bucket(Bucket="snapshots")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["snapshots"]


def test_the_control_plane_runs_on_the_sandbox_clock(world):
    before = world.control_plane.app.state.clock.now()
    world.marketplace.clock.advance(3600)
    assert world.control_plane.app.state.clock.now() - before >= 3600
