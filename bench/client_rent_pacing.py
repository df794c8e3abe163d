"""Wall time of renting N instances under the marketplace's rate limits, vs the lower bound.

The marketplace accepts one rent per API key every 4.5 s, so N rentals cannot take less than
4.5 x (N - 1) seconds. This starts a sandbox with realistic limits and its clock at real time,
rents N offers from one process (several threads sharing one client, as a provider does), and
prints the wall time, the ratio to that bound (target <= 1.15), the 429s the client received
and the errors that reached the caller (target 0).

It then does the same against a server several times stricter than documented (``--strict``,
default 3: one rent every 13.5 s), which the client does not know about and must learn from
its refusals; the bound there is that server's own gap x (N - 1).

    .venv/bin/python bench/client_rent_pacing.py [--rents 6] [--threads 4] [--strict 3]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dumont_iac.clients import pacing
from dumont_iac.clients.marketplace.client import RENT, MarketplaceClient
from dumont_iac.clients.marketplace.models import RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings


class Statuses(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.endpoint, record.status))


@dataclass
class Outcome:
    wall: float
    bound: float
    rent_calls: int
    refused: int
    errors: list[str]
    held: int
    longest: float

    @property
    def ratio(self) -> float:
        return self.wall / self.bound


def run(rents: int, threads: int, machines: int, strictness: float) -> Outcome:
    """Rent ``rents`` offers against a sandbox ``strictness`` times stricter than documented."""
    statuses = Statuses()
    logger = logging.getLogger("dumont_iac.http")
    logger.addHandler(statuses)
    logger.setLevel(logging.INFO)
    pacing.forget_all()  # each run starts from the documented gaps, as a new process does
    limits = "realistic" if strictness == 1 else str(strictness)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = SandboxSettings(
                db_path=str(Path(tmp) / "bench.db"),
                machines=machines,
                rate_limits=limits,
                speed=1.0,
            )
            with running_sandbox(settings) as sandbox:
                client = MarketplaceClient(sandbox.url, sandbox.api_key)  # documented pacing
                offers = client.search_offers(OfferFilter(limit=1000))
                by_machine = {o.machine_id: o.id for o in reversed(offers)}
                offer_ids = list(by_machine.values())[:rents]
                request = RentRequest(image="pytorch/pytorch:latest")
                errors: list[str] = []

                def rent(index: int) -> float:
                    started = time.perf_counter()
                    try:
                        client.rent(offer_ids[index], request, label=f"bench-{index}")
                    except Exception as exc:  # a bench counts every failure a caller would see
                        errors.append(f"{type(exc).__name__}: {exc}")
                    return time.perf_counter() - started

                started = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    latencies = list(pool.map(rent, range(len(offer_ids))))
                wall = time.perf_counter() - started
                with sandbox.client() as http:
                    held = len(http.get("/api/v0/instances/").json()["instances"] or [])
    finally:
        logger.removeHandler(statuses)
    return Outcome(
        wall=wall,
        bound=RENT.gap * strictness * (rents - 1),
        rent_calls=sum(1 for endpoint, _ in statuses.seen if endpoint == RENT.name),
        refused=sum(1 for _, status in statuses.seen if status == 429),
        errors=errors,
        held=held,
        longest=max(latencies),
    )


def report(title: str, rents: int, threads: int, result: Outcome) -> None:
    print(title)
    print(f"  rents                 {rents} from {threads} threads, one API key")
    print(f"  wall time             {result.wall:.2f} s")
    print(f"  lower bound           {result.bound:.2f} s  (the server's rent gap x (N - 1))")
    print(f"  ratio                 {result.ratio:.3f}  (target <= 1.15)")
    print(f"  rent calls sent       {result.rent_calls}")
    print(f"  429s received         {result.refused}")
    print(f"  errors surfaced       {len(result.errors)}  (target 0)")
    print(f"  instances held        {result.held}")
    print(f"  longest single rent   {result.longest:.2f} s (mostly waiting for its slot)")
    for error in result.errors:
        print(f"    {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rents", type=int, default=6, help="instances to rent (default 6)")
    parser.add_argument("--threads", type=int, default=4, help="threads renting (default 4)")
    parser.add_argument("--machines", type=int, default=200, help="sandbox market size")
    parser.add_argument(
        "--strict", type=float, default=3.0, help="how much stricter the second server is"
    )
    args = parser.parse_args()
    if args.rents < 2:
        parser.error("--rents must be at least 2 (the bound is 4.5 s x (N - 1))")
    documented = run(args.rents, args.threads, args.machines, 1.0)
    report("documented limits", args.rents, args.threads, documented)
    strict = run(args.rents, args.threads, args.machines, args.strict)
    report(f"a server {args.strict:g}x stricter than documented", args.rents, args.threads, strict)
    print(
        f"ratio to bound: {documented.ratio:.3f} (documented), "
        f"{strict.ratio:.3f} ({args.strict:g}x stricter)"
    )


if __name__ == "__main__":
    main()
