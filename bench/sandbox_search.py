"""Offer-search latency over HTTP, and the sandbox's memory, on a market of >= 10,000 offers.

Starts ``dumont-iac sandbox`` as its own process (so its memory is measured alone) on a fresh
SQLite file, runs a mix of the searches real clients send, and prints p50/p95 latency per kind
and overall, and the server's resident memory (RSS) after seeding and after the searches.
Target on the reference machine: p95 < 50 ms.

    .venv/bin/python bench/sandbox_search.py [--machines 4500] [--rounds 40]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CLIENT_DEFAULT = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}}
QUERIES: dict[str, dict] = {
    "vastai default": {
        **CLIENT_DEFAULT,
        "order": [["score", "desc"]],
        "type": "on-demand",
        "allocated_storage": 1.0,
    },
    "4090 x2 under $1": {
        **CLIENT_DEFAULT,
        "gpu_name": {"eq": "RTX 4090"},
        "num_gpus": {"gte": "2"},
        "dph_total": {"lt": "1.0"},
        "order": [["dph_total", "asc"]],
        "type": "on-demand",
    },
    "gpuhunt-like": {
        "direct_port_count": {"gte": 1},
        "reliability2": {"gte": 0.9},
        "cuda_max_good": {"gte": 12.0},
        "compute_cap": {"gte": 600},
        "limit": 100,
    },
    "cheapest 48GB+ bid": {
        "gpu_ram": {"gte": 48000},
        "order": [["min_bid", "asc"]],
        "type": "bid",
        "limit": 10,
    },
    "regions": {
        "geolocation": {"in": ["US", "DE", "JP"]},
        "num_gpus": {"in": [1, 2]},
        "order": [["dph_total", "asc"]],
        "limit": 50,
    },
    "one machine": {"machine_id": {"eq": 0}, "limit": 10},  # the id is filled in at run time
}
# A whole-market scan: 1,000 offers (1.6 MB of JSON) per answer. Timed apart, since its cost
# is mostly encoding and moving the answer, not searching.
BULK = ("bulk 1000 offers", {"reliability2": {"gte": 0.5}, "limit": 1000})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=4500)
    parser.add_argument("--rounds", type=int, default=40, help="searches of each kind")
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "dumont_iac.cli", "sandbox", "--port", str(port),
            "--db", f"{tmp}/bench.db", "--machines", str(args.machines),
            "--api-key", "bench-key", "--rate-limits", "off",
        ]  # fmt: skip
        started = time.perf_counter()
        log = open(f"{tmp}/server.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                health = _wait_healthy(http, server, Path(f"{tmp}/server.log"))
                ready = time.perf_counter() - started
                rss_seeded = _rss_mb(server.pid)
                print(f"market: {health['machines']} machines, {health['offers']} offers")
                print(f"start-up (seed + serve): {ready:.1f} s")
                if health["offers"] < 10_000:
                    print("warning: fewer than 10,000 offers; raise --machines", file=sys.stderr)

                some = http.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"][0]
                QUERIES["one machine"]["machine_id"] = {"eq": some["machine_id"]}

                typical: list[float] = []
                print(f"{'search':<20} {'results':>8} {'p50 ms':>8} {'p95 ms':>8}")
                for name, query in [*QUERIES.items(), BULK]:
                    times = _time_search(http, query, args.rounds)
                    found = len(http.post("/api/v0/bundles/", json=query).json()["offers"])
                    if (name, query) != BULK:
                        typical += times
                    p50, p95 = _percentile(times, 0.5), _percentile(times, 0.95)
                    print(f"{name:<20} {found:>8} {p50:>8.1f} {p95:>8.1f}")
                p50, p95 = statistics.median(typical), _percentile(typical, 0.95)
                print(
                    f"{'all but bulk':<20} {'':>8} {p50:>8.1f} {p95:>8.1f}   (target p95 < 50 ms)"
                )
                rss_after = _rss_mb(server.pid)
                if rss_seeded is not None and rss_after is not None:
                    print(f"sandbox RSS: {rss_seeded:.0f} MB seeded, {rss_after:.0f} MB after")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    return 0


def _time_search(http: httpx.Client, query: dict, rounds: int) -> list[float]:
    """Milliseconds per search, request sent to answer read (not decoded)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = http.post("/api/v0/bundles/", json=query)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def _wait_healthy(http: httpx.Client, server: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the sandbox exited:\n{log.read_text()}")
        try:
            response = http.get("/health")
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the sandbox did not become healthy in 300 s")


if __name__ == "__main__":
    sys.exit(main())
