"""The control plane's store: one SQLAlchemy engine and a repository per kind of record.

    store = Store.open("sqlite:///cp.db", clock)   # or "postgresql://...", or a file path
    store.migrate()                                 # alembic, to the newest revision

Repositories (``users``, ``documents``, ``budgets``, ``actions``, ``webhooks``) each take the
user id first wherever a record belongs to a user. Leases and the event log live in
``leases.py`` and ``events.py`` beside the store, on the same engine.
"""

from __future__ import annotations

from sqlalchemy import Engine

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store import migrate
from dumont_iac.control_plane.store.actions import Actions
from dumont_iac.control_plane.store.budgets import Budgets
from dumont_iac.control_plane.store.documents import Documents
from dumont_iac.control_plane.store.engine import database_url, open_engine
from dumont_iac.control_plane.store.users import Users
from dumont_iac.control_plane.store.webhooks import Webhooks


class Store:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.users = Users(engine, clock)
        self.documents = Documents(engine, clock)
        self.budgets = Budgets(engine, clock)
        self.actions = Actions(engine, clock)
        self.webhooks = Webhooks(engine, clock)

    @classmethod
    def open(cls, db: str, clock: Clock, *, migrate: bool = True) -> Store:
        store = cls(open_engine(db), clock)
        if migrate:
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
        return store

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["Store", "database_url"]
