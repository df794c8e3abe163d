"""Versioned migrations: a new file gets every step, an old one only the steps it lacks, all in
one transaction, and a file newer than the code is refused with what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dumont_iac.cli import app
from dumont_iac.sandbox.core import db
from dumont_iac.sandbox.core.db import Migration, SchemaError, SchemaTooNew
from dumont_iac.sandbox.marketplace.store import schema

from .frozen_store import make_store


def _version(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _set_version(path: Path, version: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (version,))


def test_a_new_file_is_created_at_the_latest_version(tmp_path):
    path = tmp_path / "new.db"
    make_store(str(path), machines=3).close()
    assert _version(path) == str(schema.LATEST) == str(len(schema.MIGRATIONS))
    assert {"meta", "users", "machines", "offers", "instances", "volumes"} <= _tables(path)


def test_reopening_a_file_at_the_latest_version_changes_nothing(tmp_path):
    path = tmp_path / "again.db"
    make_store(str(path), machines=3).close()
    conn = db.connect(str(path))
    try:
        migrated = db.migrate(conn, schema.MIGRATIONS, str(path))
    finally:
        conn.close()
    assert (migrated.from_version, migrated.to_version) == (schema.LATEST, schema.LATEST)


def test_a_file_newer_than_the_code_is_refused_naming_it_and_both_versions(tmp_path):
    path = tmp_path / "future.db"
    make_store(str(path), machines=3).close()
    newer = schema.LATEST + 1
    _set_version(path, str(newer))
    with pytest.raises(SchemaTooNew) as refused:
        make_store(str(path), machines=3)
    message = str(refused.value)
    assert str(path) in message
    assert f"version {newer}" in message and f"up to {schema.LATEST}" in message
    assert "newer release" in message and "--db" in message
    assert _version(path) == str(newer)  # left as it was


def test_the_cli_refuses_a_newer_file_with_the_message_and_no_traceback(tmp_path):
    path = tmp_path / "future.db"
    make_store(str(path), machines=3).close()
    _set_version(path, str(schema.LATEST + 5))
    result = CliRunner().invoke(app, ["sandbox", "--db", str(path), "--port", "1"])
    assert result.exit_code == 1
    assert f"holds schema version {schema.LATEST + 5}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["", "two", "0", "-1"])
def test_a_meta_table_without_a_valid_version_is_refused(tmp_path, value):
    path = tmp_path / "odd.db"
    make_store(str(path), machines=3).close()
    _set_version(path, value)
    with pytest.raises(SchemaError, match=f"found {value!r}"):
        make_store(str(path), machines=3)


def _create(table: str) -> Migration:
    def apply(conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE TABLE {table} (x INTEGER)")

    return Migration(0, f"create {table}", apply)


def _steps(*parts: Migration) -> list[Migration]:
    return [Migration(n, m.summary, m.apply) for n, m in enumerate(parts, start=1)]


def _meta(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def test_pending_steps_run_in_order_and_only_once(tmp_path):
    path = str(tmp_path / "toy.db")
    conn = db.connect(path)
    first = _steps(Migration(0, "meta", _meta), _create("a"))
    assert db.migrate(conn, first, path).to_version == 2
    later = _steps(Migration(0, "meta", _meta), _create("a"), _create("b"), _create("c"))
    migrated = db.migrate(conn, later, path)
    conn.close()
    assert (migrated.from_version, migrated.to_version) == (2, 4)
    assert _tables(Path(path)) >= {"a", "b", "c"} and _version(Path(path)) == "4"


def test_a_failing_step_leaves_the_file_at_its_old_version_with_nothing_half_done(tmp_path):
    path = str(tmp_path / "toy.db")
    conn = db.connect(path)
    db.migrate(conn, _steps(Migration(0, "meta", _meta)), path)

    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk on fire")

    steps = _steps(Migration(0, "meta", _meta), _create("b"), Migration(0, "broken", broken))
    with pytest.raises(sqlite3.OperationalError, match="disk on fire"):
        db.migrate(conn, steps, path)
    conn.close()
    assert _version(Path(path)) == "1" and "b" not in _tables(Path(path))


def test_migrations_must_be_numbered_from_one_in_order(tmp_path):
    conn = db.connect(":memory:")
    with pytest.raises(ValueError, match=r"got \[1, 3\]"):
        db.migrate(conn, [Migration(1, "a", _meta), Migration(3, "b", _meta)], ":memory:")
    conn.close()
