"""Wires the sandbox: the shared core (clock, rate limiter, fault plan, error envelopes) and
each service (the marketplace: its store, routes, rate-limit rules and envelope). Each piece
lives in its own module; this one only connects them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry

from dumont_iac.control_plane.metrics import HttpMetrics, MetricsMiddleware, metrics_route
from dumont_iac.sandbox.core import surface
from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.core.faults import FaultMiddleware, FaultPlan
from dumont_iac.sandbox.core.handlers import Envelopes, install_error_handlers
from dumont_iac.sandbox.core.ratelimit import RateLimiter, RateLimitMiddleware
from dumont_iac.sandbox.core.responses import JSONResponse
from dumont_iac.sandbox.core.slashes import EitherTrailingSlash
from dumont_iac.sandbox.marketplace import limits, routes
from dumont_iac.sandbox.marketplace import surface as market_surface
from dumont_iac.sandbox.marketplace.envelope import MarketplaceEnvelope
from dumont_iac.sandbox.marketplace.store import Store
from dumont_iac.sandbox.settings import SandboxSettings

DESCRIPTION = """\
A local stand-in for the GPU marketplace's REST API (the paths and shapes of `/api/v0`), with its
errors and rate limits, plus a fault-injection surface under `/_sandbox/` for tests.

Authenticate with `Authorization: Bearer <key>` (or `?api_key=<key>`); offer search works without
a key. Errors come as `{"success": false, "error": "<code>", "msg": "..."}`; a 429 comes as plain
text without `Retry-After`.
"""

HEALTH_EXAMPLE = {"status": "ok", "machines": 300, "offers": 1843, "instances": 2, "volumes": 1}


def create_app(settings: SandboxSettings, clock: Clock | None = None) -> FastAPI:
    """The sandbox's app; ``clock`` carries on a clock that a restarted sandbox already ran."""
    limiter = RateLimiter(settings.rate_limits)  # checked before the store opens its file
    clock = clock or Clock(settings.speed)
    store = Store(settings, clock)
    faults = FaultPlan()
    # The marketplace's envelope answers every path no other service claims (/_sandbox/ too).
    envelopes = Envelopes(default=MarketplaceEnvelope())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="dumont-iac sandbox marketplace",
        version="0",
        description=DESCRIPTION,
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.store = store
    app.state.rate_limiter = limiter
    app.state.faults = faults
    app.state.counts = store.snapshot_counts
    app.state.metrics = registry = CollectorRegistry()

    app.include_router(routes.router)
    app.include_router(market_surface.router)
    app.include_router(surface.router)
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["sandbox"],
        summary="Answers once the sandbox is ready, with the size of its market",
        responses={200: {"content": {"application/json": {"example": HEALTH_EXAMPLE}}}},
    )
    # Prometheus text, open and left out of the OpenAPI document (which mirrors the marketplace).
    app.router.routes.append(metrics_route(registry))

    # The last middleware added is the outermost: faults act before the rate limits, as a
    # broken network would; the request metrics count every answer, refusals and faults too.
    app.add_middleware(EitherTrailingSlash, router=app.router)
    app.add_middleware(
        RateLimitMiddleware, limiter=limiter, limit_for=limits.limit_for, envelopes=envelopes
    )
    app.add_middleware(FaultMiddleware, plan=faults, envelopes=envelopes)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    install_error_handlers(app, envelopes)
    return app


def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", **request.app.state.store.snapshot_counts()}
