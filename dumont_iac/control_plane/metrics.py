"""Prometheus metrics for the control plane and the sandbox marketplace, one registry per app.

Each app builds its own ``CollectorRegistry``: the process-wide default would make two apps in one
process (the sandbox runs the control plane beside its marketplace) and every test share, and
collide on, the same metric names.

    registry = CollectorRegistry()
    http = HttpMetrics(registry)
    app.add_middleware(MetricsMiddleware, metrics=http)
    app.router.routes.append(metrics_route(registry))
    agents = AgentMetrics(registry)  # control plane only
    agents.ticks.labels(agent="standby").inc()

Requests are counted by route template (``/gpus/{gpu_id}``), never by raw path, so the number of
series stays bounded whatever paths clients send; a request no route matched is "unmatched".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
# Clients choose the method token freely; anything else is "other" so labels stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """Request count and latency, by route template, method and status."""

    def __init__(self, registry: CollectorRegistry, namespace: str = "dumont") -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            namespace=namespace,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to sending the end of its response.",
            ["route", "method"],
            namespace=namespace,
            registry=registry,
        )


class AgentMetrics:
    """What the control plane's agents do: ticks, per-GPU leases, actions and accrued spend."""

    def __init__(self, registry: CollectorRegistry, namespace: str = "dumont") -> None:
        self.ticks = Counter(
            "agent_ticks",
            "Agent loop iterations, by agent.",
            ["agent"],
            namespace=namespace,
            registry=registry,
        )
        self.leases_held = Gauge(
            "leases_held",
            "Per-GPU leases this replica holds now.",
            namespace=namespace,
            registry=registry,
        )
        self.leases_acquired = Counter(
            "leases_acquired", "Per-GPU leases acquired.", namespace=namespace, registry=registry
        )
        self.leases_taken_over = Counter(
            "leases_expired_taken_over",
            "Leases acquired after another replica's lease on the GPU expired.",
            namespace=namespace,
            registry=registry,
        )
        self.actions = Counter(
            "actions",
            "Actions taken on GPUs (failover, recovery, hibernation...), by kind and outcome.",
            ["kind", "outcome"],
            namespace=namespace,
            registry=registry,
        )
        # Added to by the budgets agent as it accrues each budget's scope.
        self.spend = Counter(
            "spend_accrued_usd",
            "Spend accrued by budgets, in US dollars, by user.",
            ["user"],
            namespace=namespace,
            registry=registry,
        )


def route_template(scope: Scope, app_root_path: str = "") -> str:
    """The template of the route that served ``scope``, read once the router has run.

    Starlette's router stores the matched route in ``scope["route"]``; a mount adds the literal
    prefix it matched to ``root_path``, so a mounted route's prefix is what ``root_path`` gained
    beyond ``app_root_path``. A mount left in place (static files, or no route inside matched)
    is named by its own template, ``/prefix/{path:path}``. A route of a router included with a
    prefix (FastAPI's ``include_router(prefix=...)``) keeps its own template, without the
    prefix, so the prefix is the part of the path before the route's pattern matches.
    """
    route = scope.get("route")
    if isinstance(route, Mount):
        return route.path_format
    path = getattr(route, "path_format", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    root = scope.get("root_path", "")
    served = scope.get("path", "")
    relative = served[len(root) :] if served.startswith(root) else served
    return root[len(app_root_path) :] + _included_prefix(route, relative) + path


def _included_prefix(route: object, path: str) -> str:
    regex = getattr(route, "path_regex", None)
    if regex is None or regex.fullmatch(path):
        return ""
    for at in range(1, len(path)):
        if path[at] == "/" and regex.fullmatch(path[at:]):
            return path[:at]
    return ""


class MetricsMiddleware:
    """Pure ASGI (no ``BaseHTTPMiddleware``), so streaming responses and background tasks are
    left alone; the clock is injectable so tests can assert exact latency sums."""

    def __init__(
        self, app: ASGIApp, metrics: HttpMetrics, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Routers mutate the scope they are given; a copy would hide the matched route.
        app_root = scope.get("root_path", "")
        status = 500  # what the client sees when the app raises before answering
        start = self.clock()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = route_template(scope, app_root)
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(self.clock() - start)


def metrics_route(registry: CollectorRegistry, path: str = "/metrics") -> Route:
    """A ``GET path`` route serving ``registry`` in the Prometheus text format."""

    async def scrape(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route(path, scrape, methods=["GET"], include_in_schema=False)
