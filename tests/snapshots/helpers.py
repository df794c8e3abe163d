"""What the snapshot and hibernation tests share: a GPU program deployed into the world, its
workspace written over the sandbox's HTTP API, and bounded waits."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

from dumont_iac import GpuInstance, HibernationPolicy, SnapshotPolicy
from dumont_iac.testing import Deployment

T = TypeVar("T")
GPU = {"image": "pytorch/pytorch:latest", "max_price_per_hour": 1.0, "interruptible": False}


def program(
    bucket: str,
    endpoint_url: str,
    snapshots: dict[str, Any] | None = None,
    hibernation: dict[str, Any] | None = None,
) -> Callable[[], None]:
    def run() -> None:
        gpu = GpuInstance("train", label="train", **GPU)
        policy = SnapshotPolicy(
            "train-snapshots",
            gpu=gpu,
            bucket=bucket,
            endpoint_url=endpoint_url,
            **(snapshots or {}),
        )
        if hibernation is not None:
            HibernationPolicy("train-hibernation", gpu=gpu, snapshots=policy, **hibernation)

    return run


def deploy(deployment_factory: Callable[..., Deployment], world: Any, run: Any) -> Deployment:
    env = {**world.exports(), "DUMONT_PACING_SCALE": "0"}
    return deployment_factory(run, project="snapshots", stack="test", env=env, call_timeout=60.0)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def write_workspace(world: Any, contract_id: int, files: dict[str, bytes]) -> None:
    with world.marketplace.client(timeout=10) as http:
        for name, data in files.items():
            body = {"content": base64.b64encode(data).decode(), "encoding": "base64"}
            answer = http.put(f"/_sandbox/instances/{contract_id}/workspace/{name}", json=body)
            assert answer.status_code == 200, answer.text


def read_workspace(world: Any, contract_id: int) -> dict[str, bytes]:
    with world.marketplace.client(timeout=10) as http:
        listing = http.get(f"/_sandbox/instances/{contract_id}/workspace/").json()
        files = {}
        for entry in listing["files"]:
            answer = http.get(f"/_sandbox/instances/{contract_id}/workspace/{entry['path']}")
            body = answer.json()
            text = body["content"]
            files[entry["path"]] = (
                base64.b64decode(text) if body.get("encoding") == "base64" else text.encode()
            )
        return files


def keys_in(world: Any, bucket: str, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3", endpoint_url=world.aws.url)
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        return []
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in found)
