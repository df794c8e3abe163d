"""GPUs deployed at the marketplace's speed limit, against the sandbox: a GpuFleet of N against
N GpuInstances, and refresh of 5 and of N GpuInstances.

Each phase gets its own sandbox (so its own per-key rate limits) enforcing the documented
per-endpoint gaps in real time, and the provider paces itself at those gaps
(DUMONT_PACING_SCALE=1). The sandbox clock runs at ``--speed`` (1 = real time: a pytorch image
boots in 45-65 s, as real ones take a minute or more).

- ``up`` of one GpuFleet of N members (default 20): one create that rents every member in
  parallel threads, paced at the rent gap, and waits for all of them with one listing per poll.
- ``up`` of N GpuInstances through the engine-protocol driver: Pulumi's dynamic-provider server
  runs at most four operations at once, so the boots queue behind each other.
- The bound: one key may rent once per 4.5 s, so N rentals take at least 4.5 x (N - 1) s, and
  the last one then boots: bound = 4.5 x (N - 1) + one boot (the sandbox's mean boot for the
  image). Target for the fleet: ratio <= 1.1.
- ``refresh`` of 5 and of N GpuInstances: reads share one recent instance listing, so the list
  calls do not grow with N. Target: refreshing N takes <= 1.5 x refreshing 5.

    .venv/bin/python bench/gpu_fleet_up.py [--gpus 20] [--speed 1]

The last line reads ``fleet ratio to bound: X (GpuInstance: Y)``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pulumi

from dumont_iac import GpuFleet, GpuInstance
from dumont_iac.sandbox.marketplace.lifecycle import (
    CREATED_SECONDS,
    FIRST_LOADING_SECONDS,
    loading_seconds,
)
from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.testing import Deployment

RENT_GAP = 4.5  # the marketplace's documented minimum gap between two rents by one key
IMAGE = "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"
ARGS: dict[str, Any] = {
    "image": IMAGE,
    "min_vram_gb": 12,
    "max_price_per_hour": 1.5,
    "interruptible": True,
}
ENV = {"DUMONT_PACING_SCALE": "1", "VAST_URL": "", "VAST_API_KEY": ""}
_CALL = re.compile(r"dumont_iac\.http INFO (\w+) (\S+) status=(\S+) .*endpoint='([^']+)'")


def fleet_program(count: int) -> Callable[[], None]:
    def program() -> None:
        fleet = GpuFleet("workers", count=count, label="worker", **ARGS)
        pulumi.export("running", fleet.running_count)

    return program


def instances_program(count: int) -> Callable[[], None]:
    def program() -> None:
        for n in range(count):
            gpu = GpuInstance(f"worker-{n:02d}", label=f"worker-{n:02d}", **ARGS)
            pulumi.export(f"worker-{n:02d}", gpu.ssh_command)

    return program


@contextlib.contextmanager
def deployment(program: Callable[[], None], scratch: str, name: str, speed: float,
               machines: int) -> Iterator[tuple[Deployment, Any]]:  # fmt: skip
    settings = SandboxSettings(
        db_path=f"{scratch}/{name}.db",
        machines=machines,
        speed=speed,
        rate_limits="realistic",
        api_key=f"bench-{name}-key",
    )
    with running_sandbox(settings) as sandbox:
        yield (
            Deployment(
                program,
                project="fleet",
                stack=name,
                config={"dumont:vastUrl": sandbox.url},
                secret_config={"dumont:vastApiKey": sandbox.api_key},
                env=ENV,
                call_timeout=1800.0,
            ),
            sandbox,
        )


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def calls(stack: Deployment) -> collections.Counter[str]:
    return collections.Counter(m.group(4) for m in _CALL.finditer(stack.provider_logs[-1]))


def refused(stack: Deployment) -> str:
    """The 429 answers (each retried after the pacer backed off), by endpoint."""
    found = collections.Counter(
        m.group(4) for m in _CALL.finditer(stack.provider_logs[-1]) if m.group(3) == "429"
    )
    return f"{sum(found.values())}" + (f" ({shown(found)}, retried)" if found else "")


def running_on(sandbox: Any) -> list[dict[str, Any]]:
    rentals = sandbox.store.list_instances(sandbox.store.user_for_key(sandbox.api_key))
    return [i for i in rentals if i["actual_status"] == "running"]


def shown(counter: collections.Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=20)
    parser.add_argument("--speed", type=float, default=1.0, help="sandbox clock speed")
    parser.add_argument("--machines", type=int, default=400)
    parser.add_argument("--refresh-small", type=int, default=5)
    args = parser.parse_args()
    n = args.gpus
    low, high = FIRST_LOADING_SECONDS
    boot = (CREATED_SECONDS + ((low + high) / 2 + high) / 2) / args.speed  # mean heavy-image boot
    bound = RENT_GAP * (n - 1) + boot
    print(f"{n} GPUs, sandbox clock x{args.speed:g}, realistic rate limits, pacing scale 1")
    print(f"  bound                {bound:7.1f} s   (4.5 s rent gap x {n - 1} + one boot "
          f"{boot:.1f} s)")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="gpu-fleet-") as scratch:
        with deployment(fleet_program(n), scratch, "fleet", args.speed, args.machines) as (
            stack, sandbox
        ):  # fmt: skip
            result, fleet_wall = timed(stack.up)
            rentals = running_on(sandbox)
            boots = [CREATED_SECONDS + loading_seconds(IMAGE, r["id"]) for r in rentals]
            counted = int(result.outputs["running"])
            print(f"GpuFleet of {n}: created {len(result.created)}, running "
                  f"{len(rentals)}, outputs running_count {counted}")  # fmt: skip
            print(f"  up wall time         {fleet_wall:7.1f} s   ratio to bound "
                  f"{fleet_wall / bound:.2f} (target <= 1.1)")  # fmt: skip
            print(f"  boots (sandbox s)    min {min(boots):.0f}, median "
                  f"{statistics.median(boots):.0f}, max {max(boots):.0f}")  # fmt: skip
            print(f"  API calls            {shown(calls(stack))}; 429 answers {refused(stack)}")

        with deployment(instances_program(n), scratch, "gpus", args.speed, args.machines) as (
            stack, sandbox
        ):  # fmt: skip
            result, instances_wall = timed(stack.up)
            print(f"{n} GpuInstances: created {len(result.created)}, running "
                  f"{len(running_on(sandbox))}")  # fmt: skip
            print(f"  up wall time         {instances_wall:7.1f} s   ratio to bound "
                  f"{instances_wall / bound:.2f}")  # fmt: skip
            print(f"  API calls            {shown(calls(stack))}; 429 answers {refused(stack)}")
            _, refresh_big = timed(stack.refresh)
            big_calls = calls(stack)

        small = args.refresh_small
        with deployment(instances_program(small), scratch, "few", args.speed, args.machines) as (
            stack, _sandbox
        ):  # fmt: skip
            stack.up()
            _, refresh_small = timed(stack.refresh)
            small_calls = calls(stack)

    print(f"refresh of {small} GpuInstances  {refresh_small:7.1f} s   ({shown(small_calls)})")
    print(f"refresh of {n} GpuInstances {refresh_big:7.1f} s   ({shown(big_calls)})")
    print(f"  ratio {n} to {small}          {refresh_big / refresh_small:7.2f}     (target <= 1.5)")
    print(f"fleet ratio to bound: {fleet_wall / bound:.2f} "
          f"(GpuInstance: {instances_wall / bound:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
