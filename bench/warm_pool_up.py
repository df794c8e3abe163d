"""A WarmPool placed at the marketplace's speed limit, against the local world (sandbox with
its documented per-endpoint gaps, the control plane, the provider pacing itself at those gaps).

A pool is placed step by step: two offer searches, a volume search and create, then one rent
per GPU (the primary and each standby, one rent per 4.5 s per key), the primary's boot, and
the registration. The bound is the rent gap times the standbys plus one boot; ``up``, a
``refresh`` and ``destroy`` (deregister, destroy every GPU, wait, delete the volume) are timed.

    .venv/bin/python bench/warm_pool_up.py [--standbys 2] [--speed 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pulumi

from dumont_iac import WarmPool
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.sandbox.world import running_world
from dumont_iac.testing import Deployment

RENT_GAP = 4.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standbys", type=int, default=2)
    parser.add_argument("--speed", type=float, default=20.0, help="sandbox clock speed")
    options = parser.parse_args()

    def program() -> None:
        chosen = {"gpu_models": ["RTX 3090"], "max_price_per_hour": 1.0, "volume_size_gb": 50}
        pool = WarmPool("train", standbys=options.standbys, image="ubuntu:22.04", **chosen)
        pulumi.export("contract", pool.contract_id)

    with tempfile.TemporaryDirectory() as scratch:
        settings = SandboxSettings(db_path=f"{scratch}/market.db", machines=300,
                                   speed=options.speed, rate_limits="realistic",
                                   api_key="bench-pool-key")  # fmt: skip
        with running_world(settings, control_plane_db=f"{scratch}/cp.db", with_aws=False) as w:
            exports = {**w.exports(), "DUMONT_PACING_SCALE": "1"}
            stack = Deployment(program, project="pool", stack="bench", env=exports,
                               state_file=f"{scratch}/state.json", call_timeout=600.0)  # fmt: skip
            timings = {}
            for name, step in (("up", stack.up), ("refresh", stack.refresh),
                               ("destroy", stack.destroy)):  # fmt: skip
                started = time.perf_counter()
                step()
                timings[name] = time.perf_counter() - started
    bound = RENT_GAP * options.standbys
    print(f"standbys={options.standbys} speed={options.speed:g}")
    for name, seconds in timings.items():
        print(f"{name}: {seconds:.1f} s")
    print(
        f"up minus the rent-gap bound ({bound:g} s, boot excluded): {timings['up'] - bound:.1f} s"
    )


if __name__ == "__main__":
    main()
