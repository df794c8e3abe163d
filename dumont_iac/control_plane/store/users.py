"""Users and their API keys: creating them, finding the user behind a key, rotating keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.tables import api_keys, users

KEY_PREFIX = "dcp_"


def new_key() -> str:
    """A random key: 32 bytes from the OS's generator, recognisable by its prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # High-entropy random keys need no slow hash (no dictionary to try); see tables.api_keys.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyCheck:
    """What a presented key turned out to be."""

    user_id: int | None  # None: unknown key
    key_id: int | None = None
    expired: bool = False


@dataclass(frozen=True)
class Rotation:
    key: str
    key_id: int
    old_key_id: int
    old_key_expires_at: float


class Users:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def create(self, name: str, key: str | None = None) -> tuple[int, str]:
        """A new user with one key (generated when not given); returns (user id, key)."""
        key = key or new_key()
        now = self._clock.now()
        with self._engine.begin() as conn:
            user_id = conn.execute(
                insert(users).values(name=name, created_at=now).returning(users.c.id)
            ).scalar_one()
            conn.execute(
                insert(api_keys).values(user_id=user_id, key_hash=hash_key(key), created_at=now)
            )
        return user_id, key

    def id_of(self, name: str) -> int | None:
        with self._engine.connect() as conn:
            return conn.execute(select(users.c.id).where(users.c.name == name)).scalar()

    def name_of(self, user_id: int) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(users.c.name).where(users.c.id == user_id)).scalar()

    def count(self) -> int:
        with self._engine.connect() as conn:
            return len(conn.execute(select(users.c.id)).all())

    def add_key(self, user_id: int, key: str) -> None:
        """Attach a key the caller chose (the CLI's ``--api-key``) to an existing user."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    user_id=user_id, key_hash=hash_key(key), created_at=self._clock.now()
                )
            )

    def check(self, key: str) -> KeyCheck:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(api_keys.c.id, api_keys.c.user_id, api_keys.c.expires_at).where(
                    api_keys.c.key_hash == hash_key(key)
                )
            ).first()
        if row is None:
            return KeyCheck(user_id=None)
        expired = row.expires_at is not None and self._clock.now() >= row.expires_at
        return KeyCheck(user_id=row.user_id, key_id=row.id, expired=expired)

    def rotate(self, user_id: int, key_id: int, grace_seconds: float) -> Rotation:
        """Issue a new key; the presented one (``key_id``) stays valid for ``grace_seconds``.

        An older key already in its grace period keeps its own, earlier end: rotating again
        never extends a key that was meant to go.
        """
        key = new_key()
        now = self._clock.now()
        ends = now + grace_seconds
        with self._engine.begin() as conn:
            current = conn.execute(
                select(api_keys.c.expires_at).where(
                    api_keys.c.id == key_id, api_keys.c.user_id == user_id
                )
            ).scalar_one()
            if current is not None:
                ends = min(ends, current)
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(expires_at=ends))
            new_id = conn.execute(
                insert(api_keys)
                .values(user_id=user_id, key_hash=hash_key(key), created_at=now)
                .returning(api_keys.c.id)
            ).scalar_one()
        return Rotation(key=key, key_id=new_id, old_key_id=key_id, old_key_expires_at=ends)
