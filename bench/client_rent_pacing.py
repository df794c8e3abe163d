"""Wall time of renting N instances under the marketplace's real rate limits, vs the lower bound.

The marketplace accepts one rent per API key every 4.5 s, so N rentals cannot take less than
4.5 x (N - 1) seconds. This starts a sandbox with realistic limits and its clock at real time,
rents N offers from one process (several threads sharing one client, as a provider does), and
prints the wall time, the ratio to that bound (target <= 1.15), the 429s the client received
and the errors that reached the caller (target 0).

    .venv/bin/python bench/client_rent_pacing.py [--rents 6] [--threads 4]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rents", type=int, default=6, help="instances to rent (default 6)")
    parser.add_argument("--threads", type=int, default=4, help="threads renting (default 4)")
    parser.add_argument("--machines", type=int, default=200, help="sandbox market size")
    args = parser.parse_args()
    if args.rents < 2:
        parser.error("--rents must be at least 2 (the bound is 4.5 s x (N - 1))")

    statuses = Statuses()
    logger = logging.getLogger("dumont_iac.http")
    logger.addHandler(statuses)
    logger.setLevel(logging.INFO)

    with tempfile.TemporaryDirectory() as tmp:
        settings = SandboxSettings(
            db_path=str(Path(tmp) / "bench.db"),
            machines=args.machines,
            rate_limits="realistic",
            speed=1.0,
        )
        with running_sandbox(settings) as sandbox:
            client = MarketplaceClient(sandbox.url, sandbox.api_key)  # realistic pacing
            offers = client.search_offers(OfferFilter(limit=1000))
            by_machine = {o.machine_id: o.id for o in reversed(offers)}
            offer_ids = list(by_machine.values())[: args.rents]
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
            with ThreadPoolExecutor(args.threads) as pool:
                latencies = list(pool.map(rent, range(len(offer_ids))))
            wall = time.perf_counter() - started
            with sandbox.client() as http:
                held = len(http.get("/api/v0/instances/").json()["instances"] or [])

    bound = RENT.gap * (args.rents - 1)
    rent_calls = [status for endpoint, status in statuses.seen if endpoint == RENT.name]
    refused = sum(1 for _, status in statuses.seen if status == 429)
    print(f"rents                 {args.rents} from {args.threads} threads, one API key")
    print(f"wall time             {wall:.2f} s")
    print(f"lower bound           {bound:.2f} s  (4.5 s x (N - 1))")
    print(f"ratio                 {wall / bound:.3f}  (target <= 1.15)")
    print(f"rent calls sent       {len(rent_calls)}")
    print(f"429s received         {refused}")
    print(f"errors surfaced       {len(errors)}  (target 0)")
    print(f"instances held        {held}")
    print(f"longest single rent   {max(latencies):.2f} s (mostly waiting for its slot)")
    for error in errors:
        print(f"  {error}")


if __name__ == "__main__":
    main()
