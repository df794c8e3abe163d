"""The marketplace's SQLite tables, as numbered migrations (``core.db`` applies them).

Offers and volume offers are denormalised (one column per searchable field) so a search is one
indexed scan with no join; their columns come from the market's own row builders, so the
schema cannot drift from what the market produces. Ids come from AUTOINCREMENT sequences that
start in realistic, disjoint ranges and are never reused, so a taken ask id never comes back.

Never edit a released step: a file written by an older release runs only the steps after its
own version. Step 1 is the first released schema, exactly; step 2 adds instances' workspace
files; step 3 an instance's GPU utilisation set through the /_sandbox/ surface.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from dumont_iac.sandbox.core.db import Migration
from dumont_iac.sandbox.marketplace.market import generate_machines, offer_row, volume_offer_row

FIRST_IDS = {"offers": 12_000_000, "instances": 26_000_000, "volumes": 35_000_000,
             "volume_offers": 40_000_000, "leases": 1, "ssh_keys": 1_000, "users": 0}  # fmt: skip


def _sql_type(value: Any) -> str:
    if isinstance(value, bool | int):
        return "INTEGER"
    if isinstance(value, float):
        return "REAL"
    return "TEXT"


def _columns_of(sample: dict[str, Any]) -> dict[str, str]:
    return {name: _sql_type(value) for name, value in sample.items()}


_SAMPLE_MACHINE = generate_machines(0, 1, 0.0)[0]
OFFER_COLUMNS = _columns_of(offer_row(_SAMPLE_MACHINE, [0], 1.0))
VOLUME_OFFER_COLUMNS = _columns_of(volume_offer_row(_SAMPLE_MACHINE, 1.0))
# Stored as integers by SQLite, answered as JSON booleans.
OFFER_BOOLEANS = frozenset(n for n, v in offer_row(_SAMPLE_MACHINE, [0], 1.0).items()
                           if isinstance(v, bool))  # fmt: skip
VOLUME_OFFER_BOOLEANS = frozenset(
    n for n, v in volume_offer_row(_SAMPLE_MACHINE, 1.0).items() if isinstance(v, bool)
)


def _table(name: str, columns: dict[str, str], extra: str = "") -> str:
    body = ", ".join(f"{column} {kind}" for column, kind in columns.items())
    return f"CREATE TABLE {name} (id INTEGER PRIMARY KEY AUTOINCREMENT, {body}{extra})"


SCHEMA_1 = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, key_hash TEXT NOT NULL UNIQUE,"
    " email TEXT NOT NULL, credit REAL NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE machines (id INTEGER PRIMARY KEY, num_gpus INTEGER NOT NULL,"
    " disk_total REAL NOT NULL, failed INTEGER NOT NULL DEFAULT 0, attrs TEXT NOT NULL)",
    _table("offers", OFFER_COLUMNS),
    "CREATE INDEX offers_machine ON offers (machine_id)",
    "CREATE INDEX offers_score ON offers (score)",
    _table("volume_offers", VOLUME_OFFER_COLUMNS),
    "CREATE UNIQUE INDEX volume_offers_machine ON volume_offers (machine_id)",
    # GPUs another tenant holds: taken offers and winning bids against our instances.
    "CREATE TABLE leases (id INTEGER PRIMARY KEY AUTOINCREMENT, machine_id INTEGER NOT NULL,"
    " gpu_ids TEXT NOT NULL, price REAL NOT NULL, instance_id INTEGER, created_at REAL NOT NULL)",
    "CREATE TABLE instances (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
    " machine_id INTEGER NOT NULL, ask_id INTEGER NOT NULL, num_gpus INTEGER NOT NULL,"
    " gpu_ids TEXT NOT NULL, actual TEXT NOT NULL, intended TEXT NOT NULL, since REAL NOT NULL,"
    " loading_seconds REAL NOT NULL, status_msg TEXT NOT NULL, image TEXT NOT NULL,"
    " disk REAL NOT NULL, label TEXT, env TEXT NOT NULL, onstart TEXT, args TEXT,"
    " runtype TEXT, is_bid INTEGER NOT NULL, price REAL NOT NULL, storage_cost REAL NOT NULL,"
    " ports TEXT NOT NULL, ssh_port INTEGER NOT NULL, offer TEXT NOT NULL,"
    " created_at REAL NOT NULL, running_since REAL, destroyed_at REAL)",
    "CREATE INDEX instances_user ON instances (user_id, destroyed_at)",
    "CREATE INDEX instances_machine ON instances (machine_id, destroyed_at)",
    "CREATE TABLE volumes (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
    " machine_id INTEGER NOT NULL, size REAL NOT NULL, name TEXT, storage_cost REAL NOT NULL,"
    " created_at REAL NOT NULL, deleted_at REAL)",
    "CREATE TABLE attachments (instance_id INTEGER NOT NULL, volume_id INTEGER NOT NULL,"
    " mount_path TEXT NOT NULL, PRIMARY KEY (instance_id, volume_id))",
    "CREATE TABLE ssh_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
    " public_key TEXT NOT NULL, created_at REAL NOT NULL, deleted_at REAL)",
]


def _first_schema(db: sqlite3.Connection) -> None:
    for statement in SCHEMA_1:
        db.execute(statement)
    db.executemany("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", list(FIRST_IDS.items()))


# An instance's workspace: a few small files, written and read through the /_sandbox/ surface
# (snapshots copy them). They go when the instance is destroyed, as its disk does.
SCHEMA_2 = [
    "CREATE TABLE workspace_files (instance_id INTEGER NOT NULL, path TEXT NOT NULL,"
    " content BLOB NOT NULL, size INTEGER NOT NULL, updated_at REAL NOT NULL,"
    " PRIMARY KEY (instance_id, path)) WITHOUT ROWID",
]


def _workspace_files(db: sqlite3.Connection) -> None:
    for statement in SCHEMA_2:
        db.execute(statement)


# A GPU utilisation a test sets on a running instance. It lasts while the instance holds its
# GPUs: the trigger clears it on every move to a status without them (stopped, outbid, out of
# credit, failed, offline, destroyed), whichever code path makes the move.
SCHEMA_3 = [
    "ALTER TABLE instances ADD COLUMN gpu_util REAL",
    "CREATE TRIGGER instances_gpu_util_reset AFTER UPDATE OF actual ON instances"
    " WHEN NEW.gpu_util IS NOT NULL"
    " AND NEW.actual NOT IN ('created', 'loading', 'running', 'rebooting')"
    " BEGIN UPDATE instances SET gpu_util = NULL WHERE id = NEW.id; END",
]


def _gpu_utilisation(db: sqlite3.Connection) -> None:
    for statement in SCHEMA_3:
        db.execute(statement)


MIGRATIONS = [
    Migration(1, "users, machines, offers, leases, instances, volumes, ssh keys", _first_schema),
    Migration(2, "instances' workspace files", _workspace_files),
    Migration(3, "instances' GPU utilisation set by a test", _gpu_utilisation),
]
LATEST = len(MIGRATIONS)
