"""Hibernate, wake and snapshot times on the local world, in sandbox seconds (the sandbox's
clock runs ``--speed`` times real time), beside what Dumont measured on the live marketplace.

Each run rents a GPU under a logical id's label marker, writes ``--workspace-kb`` of files into
its workspace, registers a snapshot and a hibernation policy with the control plane, lets the
GPU go idle and measures:

* snapshot: the snapshot agent's take (workspace read, tar.gz, PUT into moto's S3);
* hibernate: from the pausing snapshot's start to the contract reporting ``stopped``;
* wake: ``POST /hibernation/wake`` (rent, load, restore), as the control plane timed it.

    .venv/bin/python bench/hibernation.py [--runs 3] [--speed 60] [--workspace-kb 512]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dumont_iac.clients.aws.s3 import S3Store
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.workspace import SandboxWorkspaces
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.models.hibernation import HibernationPolicySpec
from dumont_iac.control_plane.models.snapshots import SnapshotPolicySpec
from dumont_iac.control_plane.snapshots import taken_at
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider.labels import rental_label
from dumont_iac.provider.renting import rent_cheapest, settle
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.sandbox.world import running_world

DUMONT = {"hibernate": 54.0, "wake": 57.0}
DUMONT_UPLOAD_S_PER_GB = 216.0
WAKE_TARGET = 180.0
ARGUMENTS = {
    "logical_name": "bench/hibernation/gpu",
    "image": "pytorch/pytorch:latest",
    "max_price_per_hour": 1.0,
    "interruptible": False,
}


def wait(what: str, probe: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)
    return found


def once(world: Any, speed: float, workspace_kb: int) -> dict[str, float]:
    market = MarketplaceClient(pacing_scale=0)
    plane = ControlPlaneClient()
    gpu_id = f"gpu-{secrets.token_hex(6)}"
    args = GpuInstanceArgs.model_validate(ARGUMENTS)
    contract = rent_cheapest(market, args, rental_label(gpu_id, "bench"))
    settle(market, contract, "running", 120, "bench")
    # Random bytes (gzip cannot shrink them), in the sandbox's largest files (64 KB).
    files = {f"data/{i}.bin": os.urandom(64 * 1024) for i in range(max(1, workspace_kb // 64))}
    SandboxWorkspaces(market).write(contract, files)
    with world.marketplace.client(timeout=10) as http:
        http.put(f"/_sandbox/instances/{contract}/utilization", json={"gpu_util": 0.0})
    plane.put_snapshot_policy(
        gpu_id, SnapshotPolicySpec(bucket="bench-snapshots", interval_minutes=60)
    )
    spec = GpuSpec(arguments=ARGUMENTS, label="bench")
    plane.put_hibernation_policy(
        gpu_id, HibernationPolicySpec(idle_minutes=1, destroy_after_minutes=0, gpu_spec=spec)
    )

    def paused() -> Any:
        found = plane.hibernation_policy(gpu_id)
        return found if found and found.hibernation.state == "paused" else None

    policy = wait("the pause", paused)
    key = policy.hibernation.snapshot_key
    stopped = wait(
        "the stop", lambda: (i := market.instance(contract)) and i.actual_status == "stopped"
    )
    del stopped
    hibernate = world.marketplace.clock.now() - (taken_at(key) or 0.0)
    taken = [e for e in plane.events(gpu_id=gpu_id, kind="snapshot.taken").events]
    snapshot = (taken[0].duration_ms or 0.0) / 1000 * speed
    size = int((taken[0].data or {}).get("bytes") or 0)
    woken = plane.wake(gpu_id)
    market.destroy(woken.contract_id)
    plane.delete_hibernation_policy(gpu_id)
    plane.delete_snapshot_policy(gpu_id)
    return {"hibernate": hibernate, "wake": woken.seconds, "snapshot": snapshot, "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--speed", type=float, default=60.0, help="sandbox clock speed (60)")
    parser.add_argument(
        "--workspace-kb", type=int, default=512, help="workspace size, at most 1024 (512)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = SandboxSettings(
            db_path=str(Path(tmp) / "market.db"), machines=200, api_key="bench-key",
            speed=options.speed, rate_limits="off",
        )  # fmt: skip
        with running_world(settings, control_plane_db=str(Path(tmp) / "cp.db")) as world:
            os.environ.update(world.exports())
            # Waits poll every 2 real seconds by default: 120 sandbox seconds at 60x.
            os.environ["DUMONT_PACING_SCALE"] = "0"
            S3Store().ensure_bucket("bench-snapshots")  # what the SnapshotPolicy resource does
            runs = [once(world, options.speed, options.workspace_kb) for _ in range(options.runs)]
    size = f"workspace {options.workspace_kb} KB"
    print(f"runs {options.runs}, sandbox clock {options.speed:g}x, {size}")
    print(f"{'':12}{'p50 (sandbox s)':>18}{'max':>10}{'Dumont (live)':>16}")
    for name in ("hibernate", "wake", "snapshot"):
        values = [r[name] for r in runs]
        theirs = f"{DUMONT[name]:.0f} s" if name in DUMONT else "-"
        print(f"{name:12}{statistics.median(values):>18.1f}{max(values):>10.1f}{theirs:>16}")
    per_gb = [r["snapshot"] / (r["bytes"] / 1e9) for r in runs if r["bytes"]]
    print(
        f"{'upload':12}{statistics.median(per_gb):>14.0f} s/GB{max(per_gb):>10.0f}"
        f"{DUMONT_UPLOAD_S_PER_GB:>11.0f} s/GB  (compressed bytes; moto on this machine)"
    )
    worst_wake = max(r["wake"] for r in runs)
    verdict = "met" if worst_wake < WAKE_TARGET else "missed"
    print(f"wake target {WAKE_TARGET:.0f} s (3 min): {verdict} (worst {worst_wake:.1f} s)")


if __name__ == "__main__":
    main()
