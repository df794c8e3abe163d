"""A bounded load run against a world: ``clients`` concurrent clients, ``ops`` operations each,
on both services at once, spread over ``users`` keys per service; then the audit of every
acknowledged write, and the report.

    with running_world(...) as world:
        report = run_load(world, LoadPlan(clients=100, ops=3))
    print("\\n".join(report.lines()))
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dumont_iac.control_plane.ratelimit import DEFAULT_RATE_LIMIT
from dumont_iac.sandbox.settings import SandboxSettings
from dumont_iac.sandbox.world import World, running_world
from dumont_iac.testing.load import documents, market
from dumont_iac.testing.load.caller import Caller, client_address
from dumont_iac.testing.load.figures import Figures

CREDIT = 1_000_000.0  # no client may run out of credit mid-run
MAX_ERRORS_SHOWN = 5
T = TypeVar("T")


@dataclass(frozen=True)
class LoadPlan:
    clients: int = 100
    ops: int = 1
    # Keys per service; client i uses key i % users. Fewer keys than clients queue the clients
    # behind each key's rate limit (10 keys of 10 clients x 3 operations take over 15 minutes).
    users: int = 100
    limits: bool = True  # whether the world enforces its realistic rate limits


@dataclass
class Service:
    name: str
    figures: Figures = field(default_factory=Figures)
    seconds: float = 0.0


@dataclass
class LoadReport:
    plan: LoadPlan
    marketplace: Service
    control_plane: Service
    database: str

    @property
    def lost(self) -> int:
        return len(self.marketplace.figures.lost) + len(self.control_plane.figures.lost)

    def lines(self) -> list[str]:
        plan = self.plan
        limits = (
            "realistic (marketplace: its documented per-endpoint gaps, clients pacing as the "
            f"provider does; control plane: {DEFAULT_RATE_LIMIT.requests}/s per user, bursts "
            f"of {DEFAULT_RATE_LIMIT.capacity})"
            if plan.limits
            else "off"
        )
        lines = [f"{plan.clients} clients x {plan.ops} operations on each service, "
                 f"{plan.users} users per service; rate limits {limits}",
                 f"control plane database: {self.database}"]  # fmt: skip
        for service in (self.marketplace, self.control_plane):
            lines += _service_lines(service)
        lines.append(f"lost writes: {self.lost}")
        for service in (self.marketplace, self.control_plane):
            lines += [f"  {service.name}: {lost}" for lost in service.figures.lost[:20]]
        return lines


def _service_lines(service: Service) -> list[str]:
    figures = service.figures
    lines = [
        f"{service.name}: {figures.requests} requests in {service.seconds:.1f} s "
        f"({figures.requests / max(service.seconds, 1e-9):.0f}/s); 429 answers "
        f"{figures.refused} (retried); errors {len(figures.errors)}"
        + (f"; offers taken by another client first {figures.taken}" if figures.taken else ""),
        f"  {'operation':<24} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}",
    ]
    for operation, latency in figures.latency().items():
        lines.append(f"  {operation:<24} {latency.count:>6} {latency.p50 * 1e3:>8.1f} "
                     f"{latency.p95 * 1e3:>8.1f} {latency.max * 1e3:>8.1f}")  # fmt: skip
    lines += [f"  error: {error}" for error in figures.errors[:MAX_ERRORS_SHOWN]]
    return lines


@contextmanager
def load_world(plan: LoadPlan, directory: Path, *, control_plane_db: str | None = None,
               machines: int = 400) -> Iterator[World]:  # fmt: skip
    """A world in ``directory`` whose rate limits, on both services, are as the plan says."""
    settings = SandboxSettings(
        db_path=str(directory / "market.db"),
        machines=machines,
        rate_limits="realistic" if plan.limits else "off",
        api_key=secrets.token_urlsafe(16),
    )
    with running_world(
        settings,
        control_plane_db=control_plane_db or str(directory / "control-plane.db"),
        control_plane_rate_limit=DEFAULT_RATE_LIMIT if plan.limits else None,
    ) as world:
        yield world


def run_load(world: World, plan: LoadPlan, database: str = "sqlite") -> LoadReport:
    """Run the plan against a started world (its rate limits as the plan says)."""
    return asyncio.run(_run(world, plan, database))


async def _run(world: World, plan: LoadPlan, database: str) -> LoadReport:
    report = LoadReport(plan, Service("marketplace"), Service("control plane"), database)
    market_keys = [_market_user(world) for _ in range(plan.users)]
    plane_keys = [world.control_plane.store.users.create(f"load-{n}")[1]
                  for n in range(plan.users)]  # fmt: skip
    ledgers = [market.Ledger() for _ in market_keys]
    expected = [documents.Expected() for _ in plane_keys]

    def callers(service: Service, url: str, keys: list[str]) -> list[Caller]:
        return [
            Caller(
                url, keys[i % plan.users], client_address(i), service.figures, pacing=plan.limits
            )  # fmt: skip
            for i in range(plan.clients)
        ]

    market_callers = callers(report.marketplace, world.marketplace.url, market_keys)
    plane_callers = callers(report.control_plane, world.control_plane.url, plane_keys)
    try:
        await asyncio.gather(
            _timed(report.marketplace, [
                market.run_client(c, i, plan.ops, ledgers[i % plan.users])
                for i, c in enumerate(market_callers)
            ]),
            _timed(report.control_plane, [
                documents.run_client(c, i, plan.ops, expected[i % plan.users])
                for i, c in enumerate(plane_callers)
            ]),
        )  # fmt: skip
        # One audit per key, each from the first client of that key.
        await asyncio.gather(
            *(market.audit(market_callers[u], ledgers[u]) for u in range(plan.users)),
            *(documents.audit(plane_callers[u], expected[u]) for u in range(plan.users)),
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in market_callers + plane_callers))
    return report


def _market_user(world: World) -> str:
    key = secrets.token_urlsafe(16)
    world.marketplace.store.create_user(key, CREDIT)
    return key


async def _timed(service: Service, work: list[Awaitable[T]]) -> list[T]:
    started = time.perf_counter()
    try:
        return await asyncio.gather(*work)
    finally:
        service.seconds = time.perf_counter() - started
