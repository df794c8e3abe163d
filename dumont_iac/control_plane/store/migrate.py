"""Bringing a database to the newest schema with alembic, programmatically.

Each revision under ``migrations/versions`` is one ordered step, and alembic's version table
records how far a database has come. Replicas starting together on PostgreSQL take an advisory
lock first, so exactly one of them runs each step.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

SCRIPT_LOCATION = "dumont_iac.control_plane.store:migrations"
# Any constant shared by every replica; the value only has to be unlikely to clash.
MIGRATION_LOCK_ID = 0x64756D6F6E74


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
