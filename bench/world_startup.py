"""How long the local world takes to answer: the marketplace, the control plane and moto, each
to its first health check, from a cold start (a new market file) and a warm one (the same file).

    .venv/bin/python bench/world_startup.py [--machines 400] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.sandbox.world import running_world


def once(directory: Path, machines: int) -> float:
    settings = SandboxSettings(
        db_path=str(directory / "market.db"), machines=machines, api_key="bench-key"
    )
    started = time.perf_counter()
    with running_world(settings, control_plane_db=str(directory / "cp.db")) as world:
        assert httpx.get(f"{world.marketplace.url}/health").status_code == 200
        assert httpx.get(f"{world.control_plane.url}/health").status_code == 200
        assert world.aws is not None, "moto is not installed"
        httpx.get(f"{world.aws.url}/moto-api/").raise_for_status()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=400, help="market size (default 400)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (default 3)")
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            cold.append(once(Path(tmp), args.machines))
            warm.append(once(Path(tmp), args.machines))
    print(f"machines                {args.machines}")
    print(f"cold start, median      {statistics.median(cold):.2f} s  (max {max(cold):.2f} s)")
    print(f"warm start, median      {statistics.median(warm):.2f} s  (max {max(warm):.2f} s)")
    print(f"all three healthy within 10 s: {'yes' if max(cold + warm) < 10 else 'no'}")


if __name__ == "__main__":
    main()
