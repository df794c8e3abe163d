"""The event log: every decision an agent takes, and every action, with its timings.

Events are rows in the database (readable through ``GET /api/v1/events``), written by whichever
replica took the decision. After an event is committed, the log hands it to each subscriber:
that is where a webhook dispatcher plugs in (``app.state.events.subscribe(dispatcher)``). A
subscriber runs on the recording thread and must return quickly (queue the work); one that
raises is logged and never stops the agent that recorded the event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.tables import events

log = logging.getLogger(__name__)

MAX_PAGE = 500


@dataclass(frozen=True)
class Event:
    id: int
    kind: str  # e.g. "action.requested", "action.started", "action.succeeded", "lease.taken_over"
    message: str
    at: float  # on the control plane's clock
    replica: str
    user_id: int | None = None
    gpu_id: str | None = None
    duration_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("user_id")
        return body


Subscriber = Callable[[Event], None]


class EventLog:
    def __init__(self, engine: Engine, clock: Clock, replica: str) -> None:
        self._engine = engine
        self._clock = clock
        self.replica = replica
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with each event this process records; returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def record(
        self,
        kind: str,
        message: str,
        *,
        user_id: int | None = None,
        gpu_id: str | None = None,
        duration_ms: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        values: dict[str, Any] = {
            "kind": kind,
            "message": message,
            "at": self._clock.now(),
            "replica": self.replica,
            "user_id": user_id,
            "gpu_id": gpu_id,
            "duration_ms": duration_ms,
            "data": data or {},
        }
        with self._engine.begin() as conn:
            event_id = conn.execute(
                insert(events).values(**values).returning(events.c.id)
            ).scalar_one()
        event = Event(id=event_id, **values)
        log.info("%s %s: %s", kind, gpu_id or "-", message)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("an event subscriber failed on event %d (%s)", event.id, kind)
        return event

    def query(
        self,
        user_id: int,
        *,
        gpu_id: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """The user's events, oldest first; ``kind`` ending in ``.`` or ``*`` matches a prefix
        (``action.`` gives every action event)."""
        query = select(events).where(events.c.user_id == user_id)
        if gpu_id is not None:
            query = query.where(events.c.gpu_id == gpu_id)
        if kind is not None:
            prefix = kind.rstrip("*")
            if kind.endswith(("*", ".")):
                query = query.where(events.c.kind.startswith(prefix, autoescape=True))
            else:
                query = query.where(events.c.kind == kind)
        if since is not None:
            query = query.where(events.c.at >= since)
        query = query.order_by(events.c.id).limit(min(limit, MAX_PAGE))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Event(**row._asdict()) for row in rows]
