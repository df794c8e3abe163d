"""Threshold alerts to a budget's own webhook: signed with the budget's secret, retried with
backoff by ``webhooks.WebhookDispatcher``, and each sent once per period.

The alert row (``budget_alert``) is written ``pending`` before the alert is queued and
``delivered`` when the receiver accepts it; a failed delivery (the receiver down longer than
the delivery policy retries) is queued again on a later tick, and a ``pending`` row found after
a restart is sent again. Every send of one alert carries the same event id, so a receiver drops
the repeats. Delivery runs on the dispatcher's threads: the agent never waits on a receiver, so
a receiver that is down cannot hold back the budget's action.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dumont_iac.control_plane import webhooks
from dumont_iac.control_plane.budgets import state
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.store import Store


@dataclass(frozen=True)
class BudgetEndpoint:
    """A budget's webhook, as the dispatcher delivers to it."""

    url: str
    secret: str = field(repr=False)
    user_id: int
    budget_id: int
    percent: float
    kinds: frozenset[str] = frozenset({"budget"})


def event_id(budget_id: int, period_start: float, percent: float) -> str:
    """The same for every send of one alert (receivers drop repeats by it)."""
    return f"evt_budget_{budget_id}_{int(period_start)}_{percent:g}".replace(".", "_")


class BudgetAlerts:
    """Sends alerts and records their outcome; one per control plane."""

    def __init__(
        self,
        store: Store,
        events: EventLog,
        policy: webhooks.DeliveryPolicy = webhooks.DEFAULT_POLICY,
    ) -> None:
        self._store = store
        self._events = events
        self._policy = policy
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._dispatcher: webhooks.WebhookDispatcher | None = None

    def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close(timeout=5.0)
            self._dispatcher = None

    def send(
        self,
        user_id: int,
        budget_id: int,
        budget: dict[str, Any],
        percent: float,
        data: dict[str, Any],
        at: float,
    ) -> bool:
        """Queue one alert unless it is already on its way; False when there is no webhook."""
        url, secret = budget.get("webhook_url"), budget.get("webhook_secret")
        if not url or not secret:
            return False
        alert_id = data["event_id"]
        with self._lock:
            # Under the lock the outcome callback holds while it records: an alert is either
            # still on its way or recorded delivered, never both unseen (no second send).
            if alert_id in self._in_flight or self._delivered(user_id, budget_id, percent):
                return True
            self._in_flight.add(alert_id)
            if self._dispatcher is None:
                self._dispatcher = webhooks.WebhookDispatcher(self._record, policy=self._policy)
        event = webhooks.Event(
            kind="budget",
            gpu_id=None,
            data=data,
            id=alert_id,
            created_at=datetime.fromtimestamp(at, UTC),
        )
        endpoint = BudgetEndpoint(url, secret, user_id, budget_id, percent)
        if not self._dispatcher.publish(event, [endpoint]):
            with self._lock:
                self._in_flight.discard(alert_id)
        return True

    def _delivered(self, user_id: int, budget_id: int, percent: float) -> bool:
        row = state.alerts_of(self._store, user_id, budget_id).get(f"{percent:g}")
        return row is not None and row.get("state") == state.DELIVERED

    def _record(self, outcome: webhooks.DeliveryOutcome) -> None:
        endpoint = outcome.endpoint
        if not isinstance(endpoint, BudgetEndpoint):
            return
        with self._lock:
            try:
                rows = state.alerts_of(self._store, endpoint.user_id, endpoint.budget_id)
                row = rows.get(f"{endpoint.percent:g}")
                if row is None or row.get("event_id") != outcome.event_id:
                    return  # the budget was deleted, or a new period began meanwhile
                row = {
                    **row,
                    "state": state.DELIVERED if outcome.delivered else state.FAILED,
                    "attempts": row.get("attempts", 0) + outcome.attempts,
                    "error": outcome.error,
                }
                state.put_alert(
                    self._store, endpoint.user_id, endpoint.budget_id, endpoint.percent, row
                )
            finally:
                self._in_flight.discard(outcome.event_id)
        did = "delivered" if outcome.delivered else f"not delivered yet ({outcome.error})"
        self._events.record(
            "budget_webhook.delivered" if outcome.delivered else "budget_webhook.failed",
            f"budget {endpoint.budget_id}: the {endpoint.percent:g} % alert to "
            f"{outcome.origin} was {did}",
            user_id=endpoint.user_id,
            data={
                "budget_id": endpoint.budget_id,
                "percent": endpoint.percent,
                "event_id": outcome.event_id,
                "origin": outcome.origin,
                "attempts": outcome.attempts,
            },
        )
