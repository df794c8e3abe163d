"""Turns the event log into webhook deliveries, and their outcomes back into the event log.

``WebhookNotifier`` subscribes to the event log. Each event whose kind maps to a webhook kind
(``webhook_kind``) and that belongs to a user is queued, signed, for every webhook of that user
wanting the kind; ``WebhookDispatcher`` delivers it in the background with retries. Each
delivery ends in a ``webhook.delivered`` or ``webhook.failed`` event of the same user, naming
the webhook and the endpoint's origin, never its secret (nor its full URL).

The mapping, from the control plane's event kinds to the kinds receivers see:

    action.succeeded, action.failed   failover   (data.outcome says which)
    recovery.*                         recovery
    hibernation.*                      hibernation
    wake.*                             wake
    budget.*                           budget

The standby manager sends ``failover`` events and the budgets agent ``budget`` ones; the
hibernation agent will record events under its prefixes once it acts. Other kinds
(``action.requested``, ``action.started``, ``action.abandoned``, ``lease.taken_over``,
``key.rotated``, and the ``webhook.*`` outcomes themselves) are not sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from dumont_iac.control_plane import webhooks
from dumont_iac.control_plane.events import Event, EventLog
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.webhooks import StoredWebhook

log = logging.getLogger(__name__)

FAILOVER_OUTCOMES = {"action.succeeded": "succeeded", "action.failed": "failed"}
PREFIXES = {
    "recovery.": "recovery",
    "hibernation.": "hibernation",
    "wake.": "wake",
    "budget.": "budget",
}
DELIVERED, FAILED = "webhook.delivered", "webhook.failed"
CLOSE_SECONDS = 5.0  # how long stopping waits for deliveries in flight


def webhook_kind(kind: str) -> str | None:
    """The webhook kind an event log kind is sent as; None when it is not sent."""
    if kind in FAILOVER_OUTCOMES:
        return "failover"
    for prefix, mapped in PREFIXES.items():
        if kind.startswith(prefix):
            return mapped
    return None


def payload(event: Event, kind: str) -> webhooks.Event:
    """The body receivers get: its id is derived from the event log's, so it is the same on
    every replica and every retry."""
    data = {**event.data, "event_kind": event.kind, "event_id": event.id, "message": event.message}
    if event.kind in FAILOVER_OUTCOMES:
        data["outcome"] = FAILOVER_OUTCOMES[event.kind]
    return webhooks.Event(
        kind=kind,
        gpu_id=event.gpu_id,
        data=data,
        id=f"evt_{event.id:032x}",
        created_at=datetime.fromtimestamp(event.at, UTC),
    )


class WebhookNotifier:
    def __init__(
        self,
        store: Store,
        events: EventLog,
        policy: webhooks.DeliveryPolicy = webhooks.DEFAULT_POLICY,
    ) -> None:
        self._store = store
        self._events = events
        self._policy = policy
        self._dispatcher: webhooks.WebhookDispatcher | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._dispatcher is not None:
            return
        self._dispatcher = webhooks.WebhookDispatcher(self._record, policy=self._policy)
        self._unsubscribe = self._events.subscribe(self)

    def stop(self, timeout: float = CLOSE_SECONDS) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._dispatcher is not None:
            self._dispatcher.close(timeout)
            self._dispatcher = None

    def __call__(self, event: Event) -> None:
        kind = webhook_kind(event.kind)
        dispatcher = self._dispatcher
        if kind is None or event.user_id is None or dispatcher is None:
            return
        endpoints = self._store.webhooks.list(event.user_id)
        if endpoints:
            dispatcher.publish(payload(event, kind), endpoints)

    def _record(self, outcome: webhooks.DeliveryOutcome) -> None:
        endpoint = outcome.endpoint
        if not isinstance(endpoint, StoredWebhook):  # only the store's rows are published
            log.warning("a webhook outcome for an unknown endpoint: %s", outcome.origin)
            return
        did = (
            f"delivered after {outcome.attempts} attempt(s)"
            if outcome.delivered
            else f"failed: {outcome.error}"
        )
        self._events.record(
            DELIVERED if outcome.delivered else FAILED,
            f"webhook {endpoint.id} ({outcome.origin}), {outcome.kind} {outcome.event_id}: {did}",
            user_id=endpoint.user_id,
            data={
                "webhook_id": endpoint.id,
                "event_id": outcome.event_id,
                "kind": outcome.kind,
                "origin": outcome.origin,
                "attempts": outcome.attempts,
                "status": outcome.status,
                "error": outcome.error,
            },
        )
