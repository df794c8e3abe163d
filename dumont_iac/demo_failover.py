"""The failover demo: deploy a project with failover resources on a fresh sandbox world, fail
its primary GPU, show the failover's timeline, refresh to show the same GPU, destroy.

Every step is checked, and the first one that does not hold ends the demo with its reason
(``DemoFailed``, exit code 1): a failover that never finishes, a refresh that sees a change,
anything left billing after destroy.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from dumont_iac.errors import DemoFailed
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.sandbox.world import World, running_world

# Sandbox seconds the failover may take before the demo gives up on it.
FAILOVER_LIMIT = 900.0
TIMELINE = (
    ("detected", "failover.detected"),
    ("promoted", "failover.promoted"),
    ("standby active", "standby.active"),
    ("serving", "failover.serving"),
    ("recovered", "recovery.succeeded"),
)


def run_failover_demo(example: Path, *, speed: float, seed: int, console: Console) -> None:
    from dumont_iac.testing import Deployment  # the Pulumi SDK: only the demo needs it

    with tempfile.TemporaryDirectory(prefix="dumont-demo-") as scratch:
        # Rate limits are paced in real time: on a clock 60 times faster, each paced call
        # would cost a sandbox minute and the timeline would measure the pacing, not failover.
        settings = SandboxSettings(db_path=str(Path(scratch) / "sandbox.db"), seed=seed,
                                   speed=speed, rate_limits="off")  # fmt: skip
        with running_world(settings, control_plane_db=str(Path(scratch) / "cp.db")) as world:
            exports = world.exports()
            os.environ.update(exports)  # the control plane's clients in this process, too
            console.print(
                f"sandbox world: marketplace {world.marketplace.url}, control plane "
                f"{world.control_plane.url}, AWS {world.aws.url if world.aws else '(none)'}; "
                f"clock x{speed:g}, rate limits off"
            )
            stack = Deployment(example, stack="demo", env=exports,
                               state_file=Path(scratch) / "state.json")  # fmt: skip
            up = stack.up()
            outputs = up.outputs
            console.print(f"up: {len(up.created)} created")
            gpu_id = outputs.get("gpu_id")
            gpu = next((r for r in stack.state.resources.values() if r.id == gpu_id), None)
            if gpu is None:
                raise DemoFailed(f"the stack exports no gpu_id of one of its resources: {outputs}")
            contract = int(gpu.outputs["contract_id"])
            with world.marketplace.client() as http:
                started = world.marketplace.clock.now()
                answer = http.post(f"/_sandbox/instances/{int(contract)}/fail")
                if answer.status_code != 200:
                    raise DemoFailed(f"failing contract {contract}: {answer.text}")
            console.print(f"failed the primary: contract {contract} of GPU {gpu_id}")
            timeline = _wait_for_failover(world, gpu.id, started)
            _print_timeline(console, timeline)
            refreshed = stack.refresh()
            after = stack.up()
            now = int(stack.state.by_name(gpu.name).outputs["contract_id"])
            if refreshed.deleted or now == contract or after.changed:
                raise DemoFailed(
                    f"after the failover: contract {contract} -> {now}, and the next up "
                    f"changed {after.counts}"
                )
            console.print(
                f"refresh: GPU {gpu_id} is the same resource, now on contract {now}; "
                "the next up changes nothing"
            )
            destroyed = stack.destroy()
            left = _left_billing(world)
            if left:
                raise DemoFailed(f"after destroy, still billing: {left}")
            console.print(f"destroy: {len(destroyed.deleted)} deleted; nothing is billing")


def _events(world: World, gpu_id: str) -> list[dict[str, Any]]:
    store = world.control_plane.store
    user = store.users.id_of("sandbox")
    log = world.control_plane.app.state.events
    return [e.public() for e in log.query(user, gpu_id=gpu_id, limit=500)]


def _wait_for_failover(world: World, gpu_id: str, started: float) -> dict[str, float]:
    clock = world.marketplace.clock
    while clock.now() - started < FAILOVER_LIMIT:
        events = _events(world, gpu_id)
        failed = [e for e in events if e["kind"] == "action.failed"]
        if failed:
            raise DemoFailed(f"the failover failed: {failed[-1]['message']}")
        if any(e["kind"] == "action.succeeded" for e in events):
            seen: dict[str, float] = {}
            for label, kind in TIMELINE:
                at = next((e["at"] for e in events if e["kind"] == kind), None)
                if at is not None:
                    seen[label] = at - started
            done = next(e["at"] for e in events if e["kind"] == "action.succeeded")
            seen["total"] = done - started
            return seen
        time.sleep(0.1)
    raise DemoFailed(f"no failover finished within {FAILOVER_LIMIT:.0f} sandbox seconds")


def _print_timeline(console: Console, timeline: dict[str, float]) -> None:
    table = Table("failover step", "sandbox seconds after the failure")
    for step, seconds in timeline.items():
        table.add_row(step, f"{seconds:.1f}")
    console.print(table)


def _left_billing(world: World) -> list[str]:
    with world.marketplace.client() as http:
        instances = _json(http.get("/api/v0/instances/")).get("instances", [])
        volumes = _json(http.get("/api/v0/volumes/")).get("volumes", [])
    left = [f"instance {i['id']}" for i in instances] + [f"volume {v['id']}" for v in volumes]
    if world.aws is not None:
        from dumont_iac.clients.aws import session

        ec2 = session.client("ec2")
        for reservation in ec2.describe_instances().get("Reservations", []):
            for vm in reservation["Instances"]:
                if vm["State"]["Name"] not in ("terminated", "shutting-down"):
                    left.append(f"EC2 {vm['InstanceId']}")
    return left


def _json(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()
