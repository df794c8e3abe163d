"""A user's webhook endpoints: created with a generated secret, listed without it, deleted.

The secret is returned once, by ``create``; ``list`` and ``get`` give ``StoredWebhook`` rows
whose secret stays out of their repr, for the dispatcher to sign with.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, insert, select

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.tables import webhooks

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StoredWebhook:
    """A registered endpoint; provides what ``webhooks.deliver`` needs (url, secret, kinds)."""

    id: int
    user_id: int
    url: str
    kinds: frozenset[str]
    created_at: float
    secret: str = field(repr=False)


class Webhooks:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def create(self, user_id: int, url: str, kinds: Collection[str]) -> StoredWebhook:
        secret = new_secret()
        now = self._clock.now()
        chosen = sorted(set(kinds))
        with self._engine.begin() as conn:
            webhook_id = conn.execute(
                insert(webhooks)
                .values(user_id=user_id, url=url, kinds=chosen, secret=secret, created_at=now)
                .returning(webhooks.c.id)
            ).scalar_one()
        return StoredWebhook(webhook_id, user_id, url, frozenset(chosen), now, secret)

    def count(self, user_id: int) -> int:
        with self._engine.connect() as conn:
            query = select(func.count()).select_from(webhooks).where(webhooks.c.user_id == user_id)
            return conn.execute(query).scalar_one()

    def list(self, user_id: int) -> list[StoredWebhook]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(webhooks).where(webhooks.c.user_id == user_id).order_by(webhooks.c.id)
            ).all()
        return [
            StoredWebhook(
                row.id, row.user_id, row.url, frozenset(row.kinds), row.created_at, row.secret
            )
            for row in rows
        ]

    def delete(self, user_id: int, webhook_id: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(webhooks).where(webhooks.c.user_id == user_id, webhooks.c.id == webhook_id)
            )
        return bool(result.rowcount)
