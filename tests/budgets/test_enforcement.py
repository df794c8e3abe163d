"""The budgets agent against real services: the sandbox marketplace (60x clock, so one real
second is one sandbox minute), the control plane on its clock, moto's server for EC2, and a
webhook receiver on 127.0.0.1. Limits are a few sandbox minutes of what the scope bills, so
each test reaches them within seconds."""

from __future__ import annotations

import time

import httpx
import pytest

from dumont_iac.clients.marketplace.models import HOURS_PER_MONTH as STORAGE_HOURS
from dumont_iac.control_plane.store.documents import GPU_HOLD
from dumont_iac.control_plane.webhooks import SIGNATURE_HEADER, verify
from dumont_iac.testing.market import Market

from .conftest import SECRET, marker
from .helpers import (
    alerts_of,
    budget,
    control_plane,
    ec2_vm,
    market_client,
    rent,
    until,
    vm_state,
)

MINUTES_OF_SPEND = 2  # sandbox minutes of the scope's rate: the limit is reached in ~2 s


def _limit(rate_per_hour: float) -> float:
    return round(rate_per_hour * MINUTES_OF_SPEND / 60, 6)


def _threshold_at(world, budget_id: int, percent: str) -> float:
    """When the control plane's clock saw spend reach ``percent`` of the limit (user 1 is the
    only user of the world's control plane)."""
    rows = world.control_plane.store.documents.list(1, "budget_alert")
    return float(rows[f"{budget_id}:{percent}"]["at"])


def test_each_threshold_alerts_once_signed_and_survives_a_restart(budget_world, receiver):
    market = market_client(budget_world)
    gid = marker()
    rental = rent(market, gid)
    cp = control_plane(budget_world)
    made = cp.create_budget(
        budget(_limit(rental.dph_total or 0), [gid], "alert", receiver.url, SECRET)
    )
    assert made.webhook_origin == f"http://127.0.0.1:{receiver.port}"
    assert "budget-token-in-path" not in made.model_dump_json()  # the URL is never answered
    until("the 100 % alert", lambda: 100.0 in alerts_of(receiver.accepted()))
    time.sleep(1.5)  # 1.5 sandbox minutes more over the limit: nothing is sent again
    received = receiver.accepted()
    by_percent = alerts_of(received)
    assert sorted(by_percent) == [50.0, 80.0, 100.0]
    assert all(len(sent) == 1 for sent in by_percent.values()), by_percent
    for request in received:
        verify(request.body, request.headers[SIGNATURE_HEADER], SECRET)
        data = request.json()["data"]
        assert data["spend_usd"] >= data["limit_usd"] * data["threshold_percent"] / 100
        assert data["budget_id"] == made.id and data["action"] == "alert"
    assert market.instance(rental.id).actual_status == "running"  # alert only

    budget_world.restart()
    cp = control_plane(budget_world)
    time.sleep(1.0)
    assert len(receiver.accepted()) == len(received)  # the alerts were persisted as sent
    spend = cp.budget_spend(made.id)
    assert spend is not None and set(spend.alerts.values()) == {"delivered"}
    metrics = httpx.get(f"{budget_world.control_plane.url}/metrics").text
    line = next(m for m in metrics.splitlines() if "spend_accrued_usd_total{" in m)
    assert float(line.rsplit(" ", 1)[1]) > 0


def test_stop_leaves_the_rentals_stopped_with_only_storage_billing(budget_world, receiver):
    market = market_client(budget_world)
    gid = marker()
    rental = rent(market, gid)
    cp = control_plane(budget_world)
    made = cp.create_budget(budget(_limit(rental.dph_total or 0), [gid], "stop", receiver.url,
                                   SECRET))  # fmt: skip

    def stopped():
        found = market.instance(rental.id)
        return found if found and found.actual_status == "stopped" else None

    after = until("the rental to be stopped", stopped)
    assert after.intended_status == "stopped"
    storage = (after.disk_space or 0) * (after.storage_cost or 0) / STORAGE_HOURS
    spend = until(
        "the spend rate to be storage only",
        lambda: (s := cp.budget_spend(made.id)) and abs(s.rate_per_hour - storage) < 1e-9 and s,
    )
    assert spend.action_taken == "stop" and storage > 0
    reached = _threshold_at(budget_world, made.id, "100")
    assert spend.action_taken_at - reached <= 60.0  # within one sandbox minute
    hold = budget_world.control_plane.store.documents.get(1, GPU_HOLD, gid)
    assert hold == {"reason": "budget", "budget_id": made.id, "action": "stop",
                    "since": spend.action_taken_at}  # fmt: skip
    cp.delete_budget(made.id)
    assert budget_world.control_plane.store.documents.get(1, GPU_HOLD, gid) is None


@pytest.mark.parametrize("webhook", ["fails-then-recovers", "absent"])
def test_destroy_leaves_nothing_billing_whatever_the_webhook(budget_world, receiver, webhook):
    if budget_world.aws_url is None:
        pytest.skip("moto is not installed (pip install 'dumont-iac[sandbox]'): no EC2 to test")
    market = market_client(budget_world)
    gid = marker()
    rental = rent(market, gid)
    vm = ec2_vm(gid)
    other = rent(market, marker())  # out of scope: left alone
    if webhook == "absent":
        port = receiver.port
        receiver.stop()  # nothing listens until the action is done
    else:
        receiver.failures = 3
    cp = control_plane(budget_world)
    rate = (rental.dph_total or 0) + 0.0416  # t3.medium on demand
    made = cp.create_budget(budget(_limit(rate), [gid], "destroy", receiver.url, SECRET))
    until("the rental to be destroyed", lambda: market.instance(rental.id) is None)
    until("the VM to be terminated", lambda: vm_state(vm) in ("shutting-down", "terminated"))
    spend = until("the action", lambda: (s := cp.budget_spend(made.id)) and s.action_taken and s)
    assert spend.action_taken_at - _threshold_at(budget_world, made.id, "100") <= 60.0
    assert market.instance(other.id) is not None
    if webhook == "absent":
        receiver.port = port
        receiver.start()
    until("every alert delivered", lambda: len(alerts_of(receiver.accepted())) == 3, 30.0)
    # Spend is flat after the destroy: one sandbox minute later it has not moved.
    before = until("a zero rate", lambda: (s := cp.budget_spend(made.id)) and
                   s.rate_per_hour == 0 and s)  # fmt: skip
    time.sleep(1.0)
    assert cp.budget_spend(made.id).spend_usd == before.spend_usd
    by_percent = alerts_of([r for r in receiver.accepted()])
    assert sorted(by_percent) == [50.0, 80.0, 100.0]
    ids = {p: {a["id"] for a in sent} for p, sent in by_percent.items()}
    assert all(len(i) == 1 for i in ids.values())  # repeats carry one event id


def test_a_marketplace_refusing_the_stop_is_retried_until_the_rental_is_stopped(budget_world):
    market = market_client(budget_world)
    gid = marker()
    rental = rent(market, gid)
    with Market(budget_world.market) as sandbox:
        # Every stop fails for a while: more refusals than one call's retries.
        sandbox.arm(method="PUT", path="/api/v0/instances/*", kind="error", status=500,
                    times=3)  # fmt: skip
        cp = control_plane(budget_world)
        made = cp.create_budget(budget(_limit(rental.dph_total or 0), [gid], "stop", None, ""))
        until(
            "a failed stop to be recorded",
            lambda: cp.events(kind="budget.action_failed").events,
        )
        until(
            "the rental to be stopped once the marketplace answers again",
            lambda: (found := market.instance(rental.id)) and found.actual_status == "stopped",
            30.0,
        )
        assert sandbox.armed() == []  # every refusal was used up before the stop got through
    spend = cp.budget_spend(made.id)
    assert spend.action_taken == "stop"
    assert spend.alerts == {"50": "no_webhook", "80": "no_webhook", "100": "no_webhook"}
