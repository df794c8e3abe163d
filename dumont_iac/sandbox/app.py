"""Wires the sandbox: its state (clock, store, rate limiter, fault plan), the routers, the
middlewares and the error handlers. Each piece lives in its own module; this one only connects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.core.faults import FaultMiddleware, FaultPlan
from dumont_iac.sandbox.core.handlers import install_error_handlers
from dumont_iac.sandbox.core.ratelimit import RateLimiter, RateLimitMiddleware
from dumont_iac.sandbox.core.responses import JSONResponse
from dumont_iac.sandbox.marketplace import routes as marketplace
from dumont_iac.sandbox.marketplace import surface as sandbox
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


def create_app(settings: SandboxSettings) -> FastAPI:
    limiter = RateLimiter(settings.rate_limits)  # checked before the store opens its file
    clock = Clock(settings.speed)
    store = Store(settings, clock)
    faults = FaultPlan()

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

    app.include_router(marketplace.router)
    app.include_router(sandbox.router)
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["sandbox"],
        summary="Answers once the sandbox is ready, with the size of its market",
        responses={200: {"content": {"application/json": {"example": HEALTH_EXAMPLE}}}},
    )

    # The last middleware added is the outermost: faults act before the rate limits, as a
    # broken network would.
    app.add_middleware(EitherTrailingSlash, router=app.router)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(FaultMiddleware, plan=faults)
    install_error_handlers(app)
    return app


class EitherTrailingSlash:
    """Serves a path with or without its trailing slash, as the marketplace does (no redirect:
    clients send PUT and DELETE bodies that a redirect could lose)."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "/")
        if scope["type"] == "http" and path != "/" and not self._routed(scope):
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            candidate = {**scope, "path": other, "raw_path": other.encode()}
            if self._routed(candidate):
                scope = candidate
        await self.app(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] != Match.NONE for route in self.router.routes)


def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", **request.app.state.store.snapshot_counts()}
