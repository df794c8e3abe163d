"""Deploying a fleet of GPUs under the marketplace's real rate limits, against the sandbox.

One ``up`` of a stack of N GpuInstances (default 20) through the engine-protocol driver, with
the real provider in its own process, the sandbox enforcing the documented per-endpoint gaps in
real time, and the provider pacing itself at the documented gaps (DUMONT_PACING_SCALE=1). Only
the sandbox clock runs fast, so that image pulls take a fraction of a second.

Prints:
- the wall time of ``up`` as a ratio to the limits' lower bound. The bound: one key may rent at
  most once per 4.5 s, so N rentals cannot take less than 4.5 x (N - 1) s; every other call
  (search, lists, polls) could in principle overlap with that chain. Target <= 1.2.
- the provider's own time per GPU, excluding waits: the provider process's CPU time during the
  up (user + system, taken from the OS when the process is reaped) minus that of an idle
  provider process that only starts, configures and answers one Check, divided by N. Waiting
  on pacing, HTTP answers and polls costs no CPU, so it is excluded.
- the API calls made, by endpoint, and any 429 answers (there should be none: the provider
  paces itself).
- the provider process cold start (import + unpickle of the GpuInstance blob; target < 0.5 s),
  by bench/provider_cold_start.py on the frozen GpuInstance blob.

    .venv/bin/python bench/gpu_fleet_up.py [--gpus 20] [--speed 100] [--destroy]
"""

from __future__ import annotations

import argparse
import collections
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pulumi
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac import GpuInstance
from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.testing import Deployment, ProviderProcess

RENT_GAP = 4.5  # the marketplace's documented minimum gap between two rents by one key
ROOT = Path(__file__).resolve().parent.parent
FROZEN_BLOB = ROOT / "tests" / "provider_core" / "fixtures" / "gpu_instance-0.1.0.json"
_CALL = re.compile(r"dumont_iac\.http INFO (\w+) (\S+) status=(\S+) .*endpoint='([^']+)'")


def fleet(count: int):
    def program() -> None:
        for n in range(count):
            gpu = GpuInstance(
                f"worker-{n:02d}",
                image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
                min_vram_gb=12,
                max_price_per_hour=1.5,
                interruptible=True,
                label=f"worker-{n:02d}",
            )
            pulumi.export(f"worker-{n:02d}", gpu.ssh_command)

    return program


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def idle_provider_cpu(env: dict[str, str], config: dict[str, str]) -> float:
    """CPU of a provider process that starts, configures, answers one Check and stops."""
    before = children_cpu()
    with ProviderProcess(project="bench", env=env) as process:
        process.configure(config, ["dumont:vastApiKey"])
        urn = "urn:pulumi:bench::bench::pulumi-python:dynamic/dumont:GpuInstance::idle"
        process.check(urn, {}, {"__provider": serialize_provider(GpuInstanceProvider()),
                                "image": "x", "logical_name": "bench/idle"})  # fmt: skip
    return children_cpu() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=20)
    parser.add_argument("--speed", type=float, default=100.0, help="sandbox clock speed")
    parser.add_argument("--machines", type=int, default=400)
    parser.add_argument("--destroy", action="store_true", help="also time the destroy")
    parser.add_argument("--cold-start-runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gpu-fleet-") as scratch:
        settings = SandboxSettings(
            db_path=f"{scratch}/sandbox.db",
            machines=args.machines,
            speed=args.speed,
            rate_limits="realistic",
            api_key="bench-fleet-key",
        )
        with running_sandbox(settings) as sandbox:
            env = {"DUMONT_PACING_SCALE": "1", "VAST_URL": "", "VAST_API_KEY": ""}
            config = {"dumont:vastUrl": sandbox.url, "dumont:vastApiKey": sandbox.api_key}
            idle = idle_provider_cpu(env, config)
            stack = Deployment(
                fleet(args.gpus),
                project="fleet",
                stack="bench",
                config={"dumont:vastUrl": sandbox.url},
                secret_config={"dumont:vastApiKey": sandbox.api_key},
                env=env,
                call_timeout=600.0,
            )
            cpu_before = children_cpu()
            started = time.perf_counter()
            result = stack.up()
            wall = time.perf_counter() - started
            provider_cpu = children_cpu() - cpu_before
            log = stack.provider_logs[-1]
            tenant = sandbox.store.user_for_key(sandbox.api_key)
            rentals = sandbox.store.list_instances(tenant)
            running = sum(1 for i in rentals if i["actual_status"] == "running")
            destroy_wall = None
            if args.destroy:
                started = time.perf_counter()
                stack.destroy()
                destroy_wall = time.perf_counter() - started

    bound = RENT_GAP * (args.gpus - 1)
    calls = collections.Counter(m.group(4) for m in _CALL.finditer(log))
    refused = collections.Counter(m.group(4) for m in _CALL.finditer(log) if m.group(3) == "429")
    own = max(provider_cpu - idle, 0.0) / args.gpus
    print(f"fleet up: {args.gpus} GPUs, sandbox clock x{args.speed:g}, realistic rate limits")
    print(f"  created {len(result.created)}, running on the sandbox {running}")
    print(f"  wall time            {wall:7.1f} s")
    print(f"  lower bound          {bound:7.1f} s   (4.5 s rent gap x {args.gpus - 1})")
    print(f"  ratio                {wall / bound:7.2f}     (target <= 1.2)")
    print(f"  provider CPU         {provider_cpu:7.2f} s   (idle start + configure: {idle:.2f} s)")
    print(f"  own time per GPU     {own * 1000:7.1f} ms  (CPU, excluding waits)")
    print(f"  API calls            {sum(calls.values())}: " + ", ".join(
        f"{name} {n}" for name, n in calls.most_common()))  # fmt: skip
    print(f"  429 answers          {sum(refused.values())} " + ", ".join(
        f"({name} {n}, retried)" for name, n in refused.items()))  # fmt: skip
    if destroy_wall is not None:
        print(f"  destroy wall time    {destroy_wall:7.1f} s   (destroy gap 3.0 s x {args.gpus})")
    print()
    print("provider cold start (bench/provider_cold_start.py on the frozen GpuInstance blob):")
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "provider_cold_start.py"), "--fixture",
         str(FROZEN_BLOB), "--runs", str(args.cold_start_runs)],
        check=True,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
