"""A database written by the release before migrations (schema version 1, made by
``fixtures/make_v1_database.py`` from that release's code) opens with this code, gains the new
tables, and keeps its market, rentals and accounts usable."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dumont_iac.sandbox.marketplace.store import Store, schema

from .frozen_store import make_store

V1_FILE = Path(__file__).parent / "fixtures" / "sandbox-v1.db"
LABEL = "kept-from-v1"  # as the fixture's script wrote them
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0o v1@sandbox"


def _query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def v1_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "sandbox-v1.db"
    shutil.copyfile(V1_FILE, copy)
    assert _query(copy, "SELECT value FROM meta WHERE key = 'schema'") == [("1",)]
    return copy


@pytest.fixture
def upgraded(v1_copy: Path) -> Iterator[Store]:
    store = make_store(str(v1_copy), machines=3, seed=1)
    yield store
    store.close()


def test_the_fixture_is_a_small_version_1_file_without_the_new_tables():
    assert V1_FILE.stat().st_size < 200_000
    tables = {name for (name,) in _query(V1_FILE, "SELECT name FROM sqlite_master")}
    assert "instances" in tables and "workspace_files" not in tables


def test_opening_it_moves_it_to_the_latest_version_with_the_new_table(v1_copy, upgraded):
    assert _query(v1_copy, "SELECT value FROM meta WHERE key = 'schema'") == [(str(schema.LATEST),)]
    assert schema.LATEST >= 2
    tables = {name for (name,) in _query(v1_copy, "SELECT name FROM sqlite_master")}
    assert "workspace_files" in tables


def test_its_users_offers_and_rented_instance_are_intact(v1_copy, upgraded):
    offers_before = _query(V1_FILE, "SELECT id, machine_id, num_gpus FROM offers ORDER BY id")
    owner = upgraded.user_for_key("sandbox-key")
    second = upgraded.user_for_key("second-tenant-key")
    assert (owner, second) == (1, 2)
    assert upgraded.current_user(second)["credit"] == 50.0
    assert [k["public_key"] for k in upgraded.list_ssh_keys(owner)] == [SSH_KEY]
    found = upgraded.search_offers({"limit": 1000, "order": [["id", "asc"]]})
    assert [(o["id"], o["machine_id"], o["num_gpus"]) for o in found] == offers_before
    instances = upgraded.list_instances(owner)
    assert [(i["label"], i["image_uuid"]) for i in instances] == [(LABEL, "ubuntu:22.04")]


def test_the_old_instance_takes_workspace_files_and_can_be_destroyed(v1_copy, upgraded):
    owner = upgraded.user_for_key("sandbox-key")
    assert owner is not None
    (instance,) = upgraded.list_instances(owner)
    upgraded.put_workspace_file(instance["id"], "notes.txt", b"from v1")
    assert upgraded.list_workspace(instance["id"])["bytes"] == 7
    offers = upgraded.snapshot_counts()["offers"]
    assert upgraded.destroy(owner, instance["id"]) == {"success": True}
    assert upgraded.list_instances(owner) == []
    assert upgraded.snapshot_counts()["offers"] > offers  # its GPUs are offered again
    assert _query(v1_copy, "SELECT COUNT(*) FROM workspace_files") == [(0,)]


def test_reopening_the_upgraded_file_applies_nothing_more(v1_copy, upgraded):
    owner = upgraded.user_for_key("sandbox-key")
    assert owner is not None
    (instance,) = upgraded.list_instances(owner)
    upgraded.put_workspace_file(instance["id"], "kept.txt", b"still here")
    upgraded.close()
    again = make_store(str(v1_copy), machines=3, seed=1)
    try:
        info, data = again.get_workspace_file(instance["id"], "kept.txt")
    finally:
        again.close()
    assert (info["size"], data) == (10, b"still here")
