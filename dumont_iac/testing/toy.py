"""A small resource whose effects tests can see: records kept in a SQLite file.

``ToyRecord`` exercises the provider machinery (schema-derived check/diff, the engine-protocol
driver, frozen provider blobs) without any outside service. Its provider finds the database
through the stack config ``toy:storePath`` (proving that stack config reaches ``configure``) or
the ``DUMONT_TOY_STORE`` environment variable of the provider process.

The module path ``dumont_iac.testing.toy`` and the class name ``ToyRecordProvider`` are written
into every frozen provider blob: moving them breaks the blob fixture test on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pulumi import dynamic

from dumont_iac.errors import ToyError
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.schema import ResourceSchema, arg, computed

STORE_ENV = "DUMONT_TOY_STORE"
STORE_CONFIG = "toy:storePath"
FAIL_LABEL = "toy/fail"
"""A label whose value (create, update, delete) makes that operation fail, for error-path tests."""


def _labels_from_tags(state: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept labels as one ``tags`` string, ``"team=ml,tier=gold"``."""
    tags = state.pop("tags", None) or ""
    pairs = (part.partition("=") for part in tags.split(",") if part.strip())
    return {**state, "labels": {key.strip(): value.strip() for key, _, value in pairs}}


class ToyRecordArgs(ResourceSchema):
    resource_name = "ToyRecord"
    schema_version = 2
    migrations = {1: _labels_from_tags}

    name: str = arg(replaces=True, min_length=1, max_length=40, description="Record name.")
    zone: str = arg(
        "zone-a", replaces=True, env="DUMONT_TOY_ZONE", description="Where the record lives."
    )
    size: int = arg(1, ge=1, le=1000, description="Size in units.")
    color: Literal["red", "green", "blue"] = arg("red", description="Display color.")
    labels: dict[str, str] = arg(default_factory=dict, description="Free-form labels.")
    record_id: str | None = computed(description="Identifier the store assigned.")
    revision: int | None = computed(description="Incremented by every update.")
    access_token: str | None = computed(secret=True, description="Token for the record.")


class ToyStore:
    """The records, in SQLite; safe for the provider's concurrent threads and for tests."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, name TEXT, "
                    "zone TEXT, size INTEGER, color TEXT, labels TEXT, revision INTEGER)"
                )
                yield conn
        finally:
            conn.close()

    def insert(self, values: dict[str, Any]) -> str:
        record_id = uuid.uuid4().hex[:12]
        with self._db() as db:
            db.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 1)",
                (
                    record_id,
                    values["name"],
                    values["zone"],
                    values["size"],
                    values["color"],
                    json.dumps(values.get("labels", {})),
                ),
            )
        return record_id

    def update(self, record_id: str, values: dict[str, Any]) -> None:
        with self._db() as db:
            cur = db.execute(
                "UPDATE records SET size = ?, color = ?, labels = ?, revision = revision + 1 "
                "WHERE id = ?",
                (values["size"], values["color"], json.dumps(values.get("labels", {})), record_id),
            )
            if cur.rowcount == 0:
                raise ToyError(f"record {record_id} does not exist; refresh the stack")

    def get(self, record_id: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            return None
        keys = ("id", "name", "zone", "size", "color", "labels", "revision")
        record = dict(zip(keys, row, strict=True))
        record["labels"] = json.loads(record["labels"])
        return record

    def delete(self, record_id: str) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount > 0

    def records(self) -> list[dict[str, Any]]:
        with self._db() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM records ORDER BY rowid")]
        return [r for r in (self.get(i) for i in ids) if r is not None]


class ToyRecordProvider(SchemaProvider[ToyRecordArgs]):
    schema = ToyRecordArgs

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        super().configure(req)
        # Runs in the provider process only; the attribute never reaches the pickled blob.
        self._store_path = req.config.get(STORE_CONFIG)

    def _store(self) -> ToyStore:
        path = getattr(self, "_store_path", None) or os.environ.get(STORE_ENV)
        if not path:
            raise ToyError(f"no store: set the stack config {STORE_CONFIG} or ${STORE_ENV}")
        return ToyStore(path)

    @staticmethod
    def _fail_if_asked(props: dict[str, Any], operation: str) -> None:
        if props.get("labels", {}).get(FAIL_LABEL) == operation:
            raise ToyError(f"{operation} refused because the label {FAIL_LABEL}={operation}")

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        args = self.args(props)
        self._fail_if_asked(props, "create")
        record_id = self._store().insert(args.model_dump())
        return dynamic.CreateResult(
            record_id, self.outs(args, record_id=record_id, revision=1, access_token=_token())
        )

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        record = self._store().get(id_)
        if record is None:
            return self.gone()
        inputs = {k: record[k] for k in ("name", "zone", "size", "color", "labels")}
        outs = self.outs(
            inputs,
            record_id=id_,
            revision=record["revision"],
            access_token=props.get("access_token"),
        )
        return dynamic.ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        args = self.args(news)
        self._fail_if_asked(news, "update")
        store = self._store()
        store.update(id_, args.model_dump())
        record = store.get(id_) or {}
        return dynamic.UpdateResult(
            self.outs(
                args,
                record_id=id_,
                revision=record.get("revision"),
                access_token=olds.get("access_token"),
            )
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._fail_if_asked(props, "delete")
        self._store().delete(id_)


def _token() -> str:
    return "tok-" + uuid.uuid4().hex


class ToyRecord(DumontResource[ToyRecordArgs], module="dumont-testing", name="ToyRecord"):
    """A record in the toy store; arguments are validated here, in the program."""

    model = ToyRecordArgs
    provider = ToyRecordProvider
