"""Opening a service's SQLite file, and bringing its tables up to the code's version.

A service declares its schema as ``Migration`` steps numbered from 1; step 1 creates the first
tables, and every later change is a new step, never an edit of an old one. ``migrate`` reads
the version the file records (0 for a new file), refuses a file newer than the code, and applies
the pending steps and the new version in one transaction: a file is at one version or the
next, never between.

The version is the ``schema`` row of the file's ``meta`` table (key, value), which step 1 of
every service creates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

META_TABLE = "meta"
VERSION_KEY = "schema"


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migrated:
    path: str
    from_version: int  # 0: the file was new
    to_version: int


class SchemaError(RuntimeError):
    """A database file this code cannot open as it is."""


class SchemaTooNew(SchemaError):
    def __init__(self, path: str, found: int, known: int) -> None:
        super().__init__(
            f"{path} holds schema version {found}, but this dumont-iac knows versions up to "
            f"{known}: it was written by a newer release. Open it with that release (or "
            "newer), or start this one on another file (--db)."
        )
        self.path, self.found, self.known = path, found, known


def connect(path: str) -> sqlite3.Connection:
    """A connection shared by a store's threads (the store serialises every use)."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    if path != ":memory:" and not path.startswith("file::memory:"):
        # WAL keeps readers off writers' backs; NORMAL syncs at checkpoints, not every commit.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    return db


def stored_version(db: sqlite3.Connection, path: str) -> int:
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
    ).fetchone()
    if has_meta is None:
        return 0
    row = db.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", (VERSION_KEY,)).fetchone()
    value = None if row is None else row[0]
    if value is None or not str(value).isdigit() or int(value) < 1:
        raise SchemaError(
            f"{path} has a {META_TABLE} table but no valid {VERSION_KEY!r} version in it "
            f"(found {value!r}): it is not a sandbox database, or it is damaged. Start on "
            "another file (--db)."
        )
    return int(value)


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration], path: str) -> Migrated:
    """Apply the pending steps, in one transaction (the caller's, when one is open)."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, ... in order, got {versions}")
    latest = len(migrations)
    found = stored_version(db, path)
    if found > latest:
        raise SchemaTooNew(path, found, latest)
    if found == latest:
        return Migrated(path, found, found)
    own = not db.in_transaction
    if own:
        db.execute("BEGIN IMMEDIATE")
    try:
        for step in migrations[found:]:
            step.apply(db)
        db.execute(
            f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (VERSION_KEY, str(latest)),
        )
    except BaseException:
        if own:
            db.execute("ROLLBACK")
        raise
    if own:
        db.execute("COMMIT")
    return Migrated(path, found, latest)


def insert_row(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def insert_rows(db: sqlite3.Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    names = ", ".join(rows[0])
    marks = ", ".join("?" for _ in rows[0])
    db.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({marks})", [tuple(r.values()) for r in rows]
    )
