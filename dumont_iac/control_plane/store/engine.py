"""Opening the database: a URL or a SQLite path in, a configured SQLAlchemy engine out.

SQLite is the default (one file, one machine); PostgreSQL is for replicas that share a
database. The differences the rest of the store must not see are handled here: SQLite takes
its write lock when a transaction begins (``BEGIN IMMEDIATE``), so two writers queue behind the
busy timeout instead of failing when one upgrades a read to a write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_SECONDS = 30


def database_url(db: str) -> str:
    """``postgresql://`` and ``sqlite:///`` URLs as given; anything else is a SQLite file path.

    A bare ``postgresql://`` URL gets the psycopg 3 driver, the one this package installs.
    """
    if db == ":memory:":
        return "sqlite://"
    if "://" not in db:
        return f"sqlite:///{db}"
    url = make_url(db)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def open_engine(db: str) -> Engine:
    url = make_url(database_url(db))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.render_as_string(hide_password=False), url.database)
    if url.get_backend_name() != "postgresql":
        raise ValueError(
            f"Unsupported database {url.get_backend_name()!r}: give a SQLite file path, a "
            "sqlite:/// URL or a postgresql:// URL."
        )
    # pre_ping: a replica outlives database restarts without failing its next request.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    memory = database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, or each would see its own database
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below does BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL loses no committed transaction on a crash of the process, only
            # on a power loss; it saves a sync per commit.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upsert(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    keys: list[str],
    *,
    where: Any = None,
    changes: dict[str, Any] | None = None,
    returning: Any = None,
) -> Any:
    """INSERT, or UPDATE the row with the same ``keys`` (only when ``where`` holds, if given).

    Both SQLite and PostgreSQL do this in one atomic statement. ``where`` and ``changes``
    (column expressions overriding the plain new values) see the existing row, which is what a
    lease needs: take over only an expired row, and count its token up from the old one. With
    ``returning``, a row comes back only when one was inserted or updated.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name not in keys}
    changed.update(changes or {})
    statement = statement.on_conflict_do_update(index_elements=keys, set_=changed, where=where)
    if returning is not None:
        statement = statement.returning(returning)
    return conn.execute(statement)
