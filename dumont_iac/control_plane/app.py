"""Wires the control plane: store, event log, leases, agents, routers, middlewares, errors.

Each piece lives in its own module; this one only connects them. Two seams are left open:
``middleware`` (extra middlewares installed outside the key check) and the event log's
``subscribe`` (``app.state.events``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.control_plane.agents.budgets import BudgetWatch
from dumont_iac.control_plane.agents.hibernation import AutoHibernation
from dumont_iac.control_plane.agents.monitor import MarketMonitor
from dumont_iac.control_plane.agents.runner import AgentRunner
from dumont_iac.control_plane.agents.snapshots import PeriodicSnapshots
from dumont_iac.control_plane.agents.standby import StandbyManager
from dumont_iac.control_plane.auth import AuthMiddleware
from dumont_iac.control_plane.budgets.alerts import BudgetAlerts
from dumont_iac.control_plane.clock import Clock, RealClock
from dumont_iac.control_plane.errors import UnexpectedErrors, install_error_handlers
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.hibernation import Hibernation
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.metrics import (
    AgentMetrics,
    HttpMetrics,
    MetricsMiddleware,
    metrics_route,
)
from dumont_iac.control_plane.models.common import COMMON_ERRORS
from dumont_iac.control_plane.notify import WebhookNotifier
from dumont_iac.control_plane.ratelimit import RateLimitMiddleware, address_key, user_key
from dumont_iac.control_plane.routes import (
    budgets,
    events,
    failover,
    failover_settings,
    gpus,
    health,
    hibernation,
    keys,
    snapshots,
    standby,
    warmpool,
    webhooks,
)
from dumont_iac.control_plane.settings import ControlPlaneSettings
from dumont_iac.control_plane.snapshots import Snapshots
from dumont_iac.control_plane.store import Store

API_PREFIX = "/api/v1"
# Answers smaller than this are sent as they are: compressing them costs more than it saves.
GZIP_MINIMUM_BYTES = 500

DESCRIPTION = """\
The control plane: each user's failover, standby, snapshot-retention and budget settings, and
the agents that act on them. Every action on a GPU is taken under a per-GPU lease in the
database, so replicas sharing a database never act twice; every decision is in `/api/v1/events`.

Authenticate with `Authorization: Bearer <key>` on every path under `/api/v1` (401 without a
key, 403 with an unknown or expired one); each user, and each client address, is rate limited
(429 with `Retry-After`). Errors come as `{"error": "..."}`; a request that does not validate
gets 422 `{"error": "Validation error", "details": [...]}`. Events can be sent to your own URLs,
signed (`/api/v1/webhooks`).
"""


def create_app(
    settings: ControlPlaneSettings,
    *,
    clock: Clock | None = None,
    middleware: Sequence[Middleware] = (),
    rate_clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """``rate_clock`` measures the rate limits: real time, whatever the control plane's clock
    (a faster clock must not loosen them); tests hand in one they move."""
    clock = clock or RealClock()
    store = Store.open(settings.db, clock)
    event_log = EventLog(store.engine, clock, settings.replica_id)
    leases = Leases(store.engine, clock)
    registry = CollectorRegistry()
    agent_metrics = AgentMetrics(registry)

    def marketplace() -> MarketplaceClient:
        return MarketplaceClient(
            settings.marketplace_url,
            settings.marketplace_key,
            pacing_scale=settings.marketplace_pacing,
            timeout=settings.marketplace_timeout,
        )

    snapshotter = Snapshots(store, event_log, marketplace, settings.aws)
    hibernator = Hibernation(store, event_log, marketplace, snapshotter)
    lease_seconds = settings.lease_seconds
    budget_alerts = BudgetAlerts(store, event_log, settings.webhook_delivery)
    runner = AgentRunner(
        [
            # Before the standby manager: a failover it requests runs in the same round.
            MarketMonitor(store, event_log, leases, marketplace),
            StandbyManager(
                store,
                leases,
                event_log,
                marketplace,
                lease_seconds=settings.lease_seconds,
                metrics=agent_metrics,
                aws=settings.aws,
            ),
            AutoHibernation(store, leases, event_log, hibernator, lease_seconds=lease_seconds),
            PeriodicSnapshots(store, leases, event_log, snapshotter, lease_seconds=lease_seconds),
            BudgetWatch(store, event_log, marketplace, budget_alerts, metrics=agent_metrics),
        ],
        clock,
        settings.tick_seconds,
        agent_metrics,
    )

    notifier = WebhookNotifier(store, event_log, settings.webhook_delivery)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.start()  # before the agents, so no event of theirs is missed
        if settings.run_agents:
            runner.start()
            app.state.agents_running = True
        try:
            yield
        finally:
            runner.stop()
            app.state.agents_running = False
            budget_alerts.close()
            notifier.stop()
            store.close()

    app = FastAPI(
        title="dumont-iac control plane",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.store = store
    app.state.events = event_log
    app.state.leases = leases
    app.state.agents = runner
    app.state.snapshots = snapshotter
    app.state.hibernation = hibernator
    app.state.webhooks = notifier
    app.state.agents_running = False
    app.state.metrics = registry

    api = APIRouter(prefix=API_PREFIX, responses=COMMON_ERRORS)
    for module in (
        failover_settings,
        failover,
        standby,
        warmpool,
        gpus,
        snapshots,
        hibernation,
        budgets,
        events,
        keys,
        webhooks,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    app.router.routes.append(metrics_route(registry))  # open, like /health; not in the schema

    # The last middleware added is the outermost. From the inside out: the limit per user
    # (which needs the verified caller), the key check, the limit per address (before the key
    # check, so made-up keys share their address's bucket), the extra middlewares,
    # compression, the request metrics (so every answer is counted, refusals too), and the
    # catch-all for unexpected errors.
    limit = settings.rate_limit
    under = API_PREFIX + "/"
    if limit is not None:
        app.add_middleware(
            RateLimitMiddleware,
            limit=limit,
            clock=rate_clock,
            key=user_key,
            prefix=under,
            caller="user",
        )
    app.add_middleware(AuthMiddleware, store=store)
    if limit is not None:
        app.add_middleware(
            RateLimitMiddleware,
            limit=limit.for_addresses(),
            clock=rate_clock,
            key=address_key,
            prefix=under,
            caller="address",
        )
    for extra in reversed(middleware):
        app.add_middleware(extra.cls, *extra.args, **extra.kwargs)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    install_error_handlers(app)
    app.add_middleware(UnexpectedErrors)
    return app
