"""``/metrics`` on the served control plane: requests by route template and status, agent ticks,
leases and actions, read back after real requests and real agent ticks."""

from __future__ import annotations

from .market import rent_stopped_gpu
from .prom import labels, requests, scrape

AGENTS = ("standby_manager", "market_monitor", "auto_hibernation", "periodic_snapshots", "budgets")
GPU = "gpu-0123456789ab"
LONELY = "gpu-ba9876543210"  # no rental carries its marker


def test_requests_are_counted_by_route_template_and_status(control_plane):
    with control_plane.client(control_plane.alice) as http:
        assert http.get("/api/v1/budgets").status_code == 200
        assert http.get("/api/v1/budgets").status_code == 200
        assert http.get("/api/v1/budgets/7").status_code == 404
        assert http.get("/api/v1/budgets/8").status_code == 404
        assert http.post("/api/v1/budgets", json={"nonsense": 1}).status_code == 422
        assert http.get("/health").status_code == 200
    with control_plane.client() as anonymous:
        assert anonymous.get("/api/v1/budgets").status_code == 401
        samples = scrape(anonymous)  # open, like /health

    assert requests(samples, "/api/v1/budgets", "GET", 200) == 2
    assert requests(samples, "/api/v1/budgets/{budget_id}", "GET", 404) == 2
    assert requests(samples, "/api/v1/budgets", "POST", 422) == 1
    assert requests(samples, "/health", "GET", 200) == 2  # one more: the start's readiness check
    # The key check answers before any route is matched.
    assert requests(samples, "unmatched", "GET", 401) == 1
    routes = {dict(lab)["route"] for name, lab in samples if name == "dumont_http_requests_total"}
    assert routes == {"/api/v1/budgets", "/api/v1/budgets/{budget_id}", "/health", "unmatched"}


def test_metrics_is_left_out_of_the_openapi_document(control_plane):
    with control_plane.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths and "/api/v1/budgets" in paths


def test_agent_ticks_are_counted_by_agent(control_plane):
    tick = control_plane.handle.app.state.agents.tick_once
    tick()
    tick()
    tick()
    with control_plane.client() as http:
        samples = scrape(http)
    for agent in AGENTS:
        assert samples[("dumont_agent_ticks_total", labels(agent=agent))] == 3
    # Spend is not accrued yet (budgets are not enforced): the counter exists with no series.
    assert not [name for name, _ in samples if name.startswith("dumont_spend_accrued")]


def test_leases_and_actions_are_counted_as_the_standby_manager_acts(sandbox, serve_control_plane):
    rent_stopped_gpu(sandbox, GPU)
    served = serve_control_plane(
        marketplace_url=sandbox.url, marketplace_key=sandbox.api_key, marketplace_pacing=0
    )
    app = served.handle.app
    alice = served.handle.store.users.check(served.alice).user_id
    with served.client(served.alice) as http:
        for gpu in (GPU, LONELY):
            assert http.post("/api/v1/failover/execute", json={"gpu_id": gpu}).status_code == 202
        # Another replica took GPU's lease and died: it expires, and the tick takes it over.
        assert app.state.leases.acquire(alice, GPU, "dead-replica", 5.0) is not None
        served.clock.advance(10)
        app.state.agents.tick_once()
        samples = scrape(http)

    assert samples[("dumont_leases_acquired_total", labels())] == 2
    assert samples[("dumont_leases_expired_taken_over_total", labels())] == 1
    assert samples[("dumont_leases_held", labels())] == 0  # both released after their action
    actions = "dumont_actions_total"
    assert samples[(actions, labels(kind="restart", outcome="succeeded"))] == 1
    assert samples[(actions, labels(kind="restart", outcome="failed"))] == 1
    assert requests(samples, "/api/v1/failover/execute", "POST", 202) == 2
