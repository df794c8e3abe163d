"""A second service beside the marketplace answers errors in its own envelope on its own paths,
through the same core handlers, fault plan and rate limiter."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from starlette.responses import Response

from dumont_iac.sandbox.core.errors import RateLimited, ServiceError
from dumont_iac.sandbox.core.faults import FaultMiddleware, FaultPlan
from dumont_iac.sandbox.core.handlers import Envelopes, install_error_handlers
from dumont_iac.sandbox.core.ratelimit import Limit, RateLimiter, RateLimitMiddleware
from dumont_iac.sandbox.core.responses import JSONResponse
from dumont_iac.sandbox.marketplace.envelope import MarketplaceEnvelope
from dumont_iac.sandbox.marketplace.errors import NoSuchInstance

PREFIX = "/api/v1/control"
ONCE_A_MINUTE = Limit("control writes", gap=60.0)


class ControlPlaneEnvelope:
    """``{"error": "<message>"}``; a request that fails validation answers 422."""

    def error(self, exc: ServiceError) -> Response:
        return JSONResponse({"error": exc.msg}, status_code=exc.status)

    def invalid(self, field: str, msg: str) -> Response:
        return JSONResponse({"error": msg}, status_code=422)

    def http_error(self, status: int, msg: str) -> Response:
        return JSONResponse({"error": msg}, status_code=status)

    def unexpected(self) -> Response:
        return JSONResponse({"error": "internal error"}, status_code=500)


class Budget(BaseModel):
    limit: float


def _limit_for(method: str, path: str) -> Limit | None:
    return ONCE_A_MINUTE if method == "POST" and path.startswith(PREFIX) else None


@pytest.fixture
def two_services() -> Iterator[tuple[httpx.Client, FaultPlan]]:
    market, control = APIRouter(), APIRouter(prefix=PREFIX)

    @market.post("/api/v0/things/{thing_id}")
    def market_thing(thing_id: int, body: Budget) -> dict:
        raise NoSuchInstance(thing_id)

    @control.post("/budgets")
    def add_budget(body: Budget) -> dict:
        return {"limit": body.limit}

    @control.get("/budgets/{name}")
    def get_budget(name: str) -> dict:
        raise ServiceError(f"No budget named {name!r}.", status=404)

    envelopes = Envelopes(default=MarketplaceEnvelope())
    envelopes.add(PREFIX, ControlPlaneEnvelope())
    plan = FaultPlan()
    app = FastAPI()
    app.include_router(market)
    app.include_router(control)
    app.add_middleware(
        RateLimitMiddleware, limiter=RateLimiter(), limit_for=_limit_for, envelopes=envelopes
    )
    app.add_middleware(FaultMiddleware, plan=plan, envelopes=envelopes)
    install_error_handlers(app, envelopes)
    with _serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, plan


@contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_each_service_renders_validation_errors_in_its_own_envelope(two_services):
    client, _ = two_services
    market = client.post("/api/v0/things/1", json={"limit": "lots"})
    control = client.post(f"{PREFIX}/budgets", json={"limit": "lots"})
    assert market.status_code == 400
    assert market.json()["error"] == "invalid_args" and market.json()["field"] == "limit"
    assert control.status_code == 422
    assert list(control.json()) == ["error"] and "limit" in control.json()["error"]


def test_each_service_renders_its_own_errors_and_unknown_paths(two_services):
    client, _ = two_services
    market = client.post("/api/v0/things/7", json={"limit": 1})
    control = client.get(f"{PREFIX}/budgets/gpu")
    unknown = client.get(f"{PREFIX}/nothing-here")
    assert market.status_code == 404
    assert market.json() == {
        "success": False,
        "error": "no_such_instance",
        "msg": "Instance 7 not found.",
        "instance_id": 7,
    }
    assert (control.status_code, control.json()) == (404, {"error": "No budget named 'gpu'."})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": f"No such endpoint: GET {PREFIX}/nothing-here"}


def test_faults_and_rate_limits_answer_in_the_envelope_of_the_path(two_services):
    client, plan = two_services
    plan.arm(method="*", path=f"{PREFIX}/*", kind="error", status=502)
    plan.arm(method="*", path="/api/v0/*", kind="error", status=503)
    control = client.get(f"{PREFIX}/budgets/gpu")
    market = client.post("/api/v0/things/1", json={"limit": 1})
    assert (control.status_code, control.json()) == (502, {"error": "Injected fault: HTTP 502."})
    assert market.status_code == 503 and market.json()["error"] == "server_error"

    assert client.post(f"{PREFIX}/budgets", json={"limit": 5}).status_code == 200
    refused = client.post(f"{PREFIX}/budgets", json={"limit": 5})
    assert refused.status_code == 429
    assert refused.json() == {"error": RateLimited("control writes", 60.0).msg}
