"""Agents on the control plane's clock: health reports, and a requested action executed end to end
through the marketplace client against the sandbox, under the GPU's lease."""

from __future__ import annotations

from dumont_iac.control_plane.agents.base import Agent
from dumont_iac.control_plane.agents.runner import AgentRunner
from dumont_iac.control_plane.clock import ManualClock
from dumont_iac.control_plane.store.documents import GPU_HOLD

from .market import contract, rent_stopped_gpu

GPU = "gpu-0123456789ab"
AGENTS = {"standby_manager", "market_monitor", "auto_hibernation", "periodic_snapshots", "budgets"}


def _events(http, **params):
    return http.get("/api/v1/events", params=params).json()["events"]


def test_a_restart_starts_the_stopped_contract_carrying_the_gpus_marker(
    sandbox, serve_control_plane
):
    contract_id = rent_stopped_gpu(sandbox, GPU)
    assert contract(sandbox, contract_id).intended_status == "stopped"
    served = serve_control_plane(
        marketplace_url=sandbox.url, marketplace_key=sandbox.api_key, marketplace_pacing=0
    )
    with served.client(served.alice) as http:
        requested = http.post("/api/v1/failover/execute", json={"gpu_id": GPU})
        assert requested.status_code == 202, requested.text
        assert requested.json()["state"] == "requested"
        assert http.get(f"/api/v1/failover/status/{GPU}").json()["in_progress"] is True

        served.handle.app.state.agents.tick_once()

        action = http.get(f"/api/v1/failover/actions/{requested.json()['id']}").json()
        assert action["state"] == "succeeded", action
        assert action["result"] == {"contract_id": contract_id, "did": "start", "was": "stopped"}
        assert (
            action["attempts"] == 1 and action["executed_by"] == served.handle.settings.replica_id
        )
        assert contract(sandbox, contract_id).intended_status == "running"

        kinds = [e["kind"] for e in _events(http, gpu_id=GPU)]
        assert kinds == ["action.requested", "action.started", "action.succeeded"]
        succeeded = _events(http, kind="action.succeeded")[0]
        assert succeeded["duration_ms"] > 0 and succeeded["data"]["action_id"] == action["id"]
        status = http.get(f"/api/v1/failover/status/{GPU}").json()
        assert status["in_progress"] is False and status["last"]["id"] == action["id"]
        assert status["lease_holder"] is None  # released after the action
        stats = http.get(f"/api/v1/failover/settings/machines/{GPU}").json()["stats"]
        assert stats["failovers_total"] == 1


def test_the_safeguards_refuse_a_failover_too_soon_or_one_too_many(sandbox, serve_control_plane):
    rent_stopped_gpu(sandbox, GPU)
    served = serve_control_plane(
        marketplace_url=sandbox.url, marketplace_key=sandbox.api_key, marketplace_pacing=0
    )
    tick = served.handle.app.state.agents.tick_once
    with served.client(served.alice) as http:
        limits = {"max_failovers_per_day": 1, "min_seconds_between_failovers": 300}
        assert http.put("/api/v1/failover/settings/global", json=limits).is_success

        def restart() -> dict:
            action = http.post("/api/v1/failover/execute", json={"gpu_id": GPU}).json()
            tick()
            return http.get(f"/api/v1/failover/actions/{action['id']}").json()

        assert restart()["state"] == "succeeded"
        too_soon = restart()
        assert too_soon["state"] == "failed"
        assert "min_seconds_between_failovers=300" in too_soon["error"]
        served.clock.advance(300)
        too_many = restart()
        assert too_many["state"] == "failed"
        assert "reach max_failovers_per_day=1" in too_many["error"]
        served.clock.advance(86_400)
        limits["min_seconds_between_failovers"] = 0
        assert http.put("/api/v1/failover/settings/global", json=limits).is_success
        refused = restart()  # a day later: no safeguard stands in the way (the rest may fail)
        assert not (refused["error"] or "").startswith("safeguard")


def test_a_gpu_without_a_rental_fails_its_action_with_a_reason(sandbox, serve_control_plane):
    served = serve_control_plane(
        marketplace_url=sandbox.url, marketplace_key=sandbox.api_key, marketplace_pacing=0
    )
    with served.client(served.alice) as http:
        action = http.post("/api/v1/failover/execute", json={"gpu_id": "gpu-ffffffffffff"}).json()
        served.handle.app.state.agents.tick_once()
        done = http.get(f"/api/v1/failover/actions/{action['id']}").json()
        assert done["state"] == "failed"
        assert "No rental carries the label marker dumont:gpu-ffffffffffff" in done["error"]
        assert [e["kind"] for e in _events(http, kind="action.")][-1] == "action.failed"
        served.handle.app.state.agents.tick_once()  # a failed action is not retried
        assert http.get(f"/api/v1/failover/actions/{action['id']}").json()["attempts"] == 1


def test_each_agent_reports_its_last_tick_on_the_control_planes_clock(serve_control_plane):
    served = serve_control_plane(run_agents=True, tick_seconds=60)
    with served.client() as http:
        first = _wait_for_ticks(http, 1)
        assert {a["name"] for a in first["agents"]} == AGENTS
        assert first["running"] is True
        assert all(a["last_tick_at"] == served.clock.now() for a in first["agents"])
        served.clock.advance(60)  # one tick period of the control plane's clock
        second = _wait_for_ticks(http, 2)
        assert all(a["last_tick_at"] == served.clock.now() for a in second["agents"])
        assert all(a["last_error"] is None for a in second["agents"])


def _wait_for_ticks(http, ticks: int) -> dict:
    for _ in range(500):  # bounded: the loop polls the clock every 50 ms
        body = http.get("/health/agents").json()
        if all(a["ticks"] >= ticks for a in body["agents"]):
            return body
        http.get("/health")  # a short pause that is a real request, not a sleep
    raise AssertionError(f"the agents did not reach {ticks} tick(s): {body}")


def test_a_repeated_request_id_requests_once(serve_control_plane):
    served = serve_control_plane()
    with served.client(served.alice) as http:
        body = {"gpu_id": GPU, "request_id": "deploy-42"}
        first = http.post("/api/v1/failover/execute", json=body)
        again = http.post("/api/v1/failover/execute", json=body)
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json() and first.json()["request_id"] == "deploy-42"
        assert len(_events(http, kind="action.requested")) == 1
        other = http.post("/api/v1/failover/execute", json={**body, "gpu_id": "gpu-ffffffffffff"})
        assert other.status_code == 409 and "deploy-42" in other.json()["error"]


class Failing(Agent):
    name = "failing"
    description = "fails on its first tick"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def tick(self, now: float) -> str:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the database went away")
        return "fine again"


def test_an_agent_that_raises_is_reported_and_ticks_again_next_round():
    clock = ManualClock()
    failing = Failing()
    runner = AgentRunner([failing], clock, tick_seconds=10)
    runner.tick_once()
    health = failing.health()
    assert health["last_error"] == "RuntimeError: the database went away"
    assert health["last_error_at"] == clock.now() and health["ticks"] == 1
    clock.advance(10)
    runner.tick_once()
    health = failing.health()
    assert health["detail"] == "fine again" and health["ticks"] == 2
    assert health["last_error_at"] == clock.now() - 10  # the last error stays visible


def test_a_gpu_a_budget_holds_is_not_started_again(sandbox, serve_control_plane):
    contract_id = rent_stopped_gpu(sandbox, GPU)
    served = serve_control_plane(
        marketplace_url=sandbox.url, marketplace_key=sandbox.api_key, marketplace_pacing=0
    )
    with served.client(served.alice) as http:
        user_id = served.handle.store.users.check(served.alice).user_id
        hold = {"reason": "budget", "budget_id": 7, "action": "stop", "since": 1.0}
        served.handle.store.documents.put(user_id, GPU_HOLD, hold, GPU)
        action = http.post("/api/v1/failover/execute", json={"gpu_id": GPU}).json()
        served.handle.app.state.agents.tick_once()
        done = http.get(f"/api/v1/failover/actions/{action['id']}").json()
        assert done["state"] == "failed" and "held: budget 7 keeps" in done["error"]
        assert contract(sandbox, contract_id).intended_status == "stopped"
