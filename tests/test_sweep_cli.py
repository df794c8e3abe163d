"""``dumont-iac sweep`` run as a user runs it, on the local world: a dry run lists the run's
marked rentals, the VM tagged with their GPU and the snapshot bucket of that GPU and destroys
nothing; the sweep destroys exactly those and exits 0, leaving unmarked rentals and other
prefixes alone; a scope that is not one gives exit 2 and a sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import httpx

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.provider.labels import rental_label
from dumont_iac.provider.snapshot_policy import policy_id_for
from dumont_iac.sandbox.world import AWS_CREDENTIALS
from dumont_iac.testing.market import Market
from tests.cpu_standby.conftest import billing, moto_ec2

GPU = "gpu-0123456789ab"
OTHER = "gpu-ba9876543210"


def run(world, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(world.exports() if world else {}), "DUMONT_PACING_SCALE": "0"}
    return subprocess.run(
        [sys.executable, "-m", "dumont_iac.cli", "sweep", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_dry_run_then_sweep_destroys_the_prefix_only(world):
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    offers = market.search_offers(OfferFilter(limit=3))
    request = RentRequest(image="ubuntu:22.04")
    ours = market.rent(offers[0].id, request, label=rental_label(GPU, "ci-run-7/train"))
    theirs = market.rent(offers[1].id, request, label=rental_label(OTHER, "ci-run-8/train"))
    by_hand = market.rent(offers[2].id, request, label="ci-run-7/by-hand")
    ec2 = moto_ec2(world.aws.url)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    vm = ec2.run_instances(
        ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "dumont:gpu", "Value": GPU}, {"Key": "dumont:standby", "Value": "standby-1"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    s3 = boto3.client("s3", endpoint_url=world.aws.url, region_name="us-east-1",
                      aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
    for bucket, owner in (("run7-snaps", policy_id_for(GPU)), ("run8-snaps", policy_id_for(OTHER))):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=f"{GPU}/a.tar.gz", Body=b"x")
        s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": "dumont-iac:owner", "Value": owner}]}
        )

    dry = run(world, "--label-prefix", "ci-run-7", "--buckets", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    found = {(f["kind"], f["id"]) for f in json.loads(dry.stdout)["found"]}
    assert found == {("rental", str(ours.instance_id)), ("vm", vm), ("bucket", "run7-snaps")}
    assert len(market.instances()) == 3 and len(billing(world.aws.url)) == 1

    swept = run(world, "--label-prefix", "ci-run-7", "--buckets")
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert f"destroyed: rental {ours.instance_id}" in swept.stdout
    left = {i.id for i in market.instances()}
    assert left == {theirs.instance_id, by_hand.instance_id}
    assert billing(world.aws.url) == []
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["run8-snaps"]

    again = run(world, "--label-prefix", "ci-run-7", "--buckets")
    assert again.returncode == 0 and "nothing to sweep" in again.stdout


def test_a_scope_must_be_given_exactly_once():
    neither = run(None)
    assert neither.returncode == 2
    assert "give a label prefix" in neither.stderr and "exactly one" in neither.stderr
    both = run(None, "--label-prefix", "x", "--all-managed")
    assert both.returncode == 2 and "exactly one" in both.stderr


def test_a_rental_that_cannot_be_destroyed_is_listed_and_exits_1(world):
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    offer = market.search_offers(OfferFilter(limit=1))[0]
    stuck = market.rent(
        offer.id, RentRequest(image="ubuntu:22.04"), label=rental_label(GPU, "ci-run-9/x")
    )
    with Market(world.marketplace) as faults:  # every destroy answers 503, retries too
        faults.arm(method="DELETE", path="/api/v0/instances/*", kind="error", status=503, times=500)
    swept = run(world, "--label-prefix", "ci-run-9", "--timeout", "2")
    assert swept.returncode == 1, swept.stdout + swept.stderr
    assert f"left: rental {stuck.instance_id}" in swept.stdout
    assert [i.id for i in market.instances()] == [stuck.instance_id]
