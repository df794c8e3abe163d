"""The store on SQLite and on PostgreSQL: migrations, keys, per-user records, actions, events."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dumont_iac.control_plane.clock import ManualClock
from dumont_iac.control_plane.events import EventLog
from dumont_iac.control_plane.leases import Leases
from dumont_iac.control_plane.store import Store
from dumont_iac.control_plane.store.actions import FAILED, RUNNING, SUCCEEDED
from dumont_iac.control_plane.store.documents import FAILOVER_GLOBAL, STANDBY
from dumont_iac.control_plane.store.migrate import head_revision
from dumont_iac.control_plane.store.tables import metadata


@pytest.fixture
def store(db: str, clock: ManualClock):
    store = Store.open(db, clock)
    yield store
    store.close()


def test_a_new_database_is_migrated_to_the_newest_revision_matching_the_tables(store):
    assert store.revision() == head_revision() == "0003"
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrating_again_changes_nothing(store):
    store.migrate()
    assert store.revision() == head_revision()


def test_a_database_of_the_first_revision_upgrades_keeping_its_rows(db, clock):
    from dumont_iac.control_plane.store import migrate

    old = Store.open(db, clock, migrate=False)
    try:
        migrate.upgrade(old.engine, "0001")
        assert old.revision() == "0001"
        user, key = old.users.create("alice")
        with old.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO actions (user_id, gpu_id, kind, state, attempts, requested_at) "
                f"VALUES ({user}, 'gpu-1', 'restart', 'succeeded', 1, 5.0)"
            )
    finally:
        old.close()
    upgraded = Store.open(db, clock)
    try:
        assert upgraded.revision() == head_revision()
        assert upgraded.users.check(key).user_id == user
        (action,) = upgraded.actions.of_gpu(user, "gpu-1")
        assert (action.state, action.request_id) == ("succeeded", None)
    finally:
        upgraded.close()


def test_a_repeated_request_id_finds_the_first_action(store):
    alice, _ = store.users.create("alice")
    bob, _ = store.users.create("bob")
    first, new = store.actions.request(alice, "gpu-1", "restart", request_id="deploy-1")
    again, again_new = store.actions.request(alice, "gpu-1", "restart", request_id="deploy-1")
    assert new and not again_new and again.id == first.id
    other, other_new = store.actions.request(bob, "gpu-1", "restart", request_id="deploy-1")
    assert other_new and other.id != first.id  # request ids are per user
    _, plain_new = store.actions.request(alice, "gpu-1", "restart")
    _, plain_again = store.actions.request(alice, "gpu-1", "restart")
    assert plain_new and plain_again  # without an id, every request is a new one


def test_keys_are_stored_hashed_and_name_their_user(store):
    user_id, key = store.users.create("alice")
    assert key.startswith("dcp_") and len(key) > 40
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalars().all()
    assert key not in stored and len(stored[0]) == 64
    assert store.users.check(key).user_id == user_id
    assert store.users.check(key + "x").user_id is None


def test_documents_and_budgets_belong_to_their_user(store):
    alice, _ = store.users.create("alice")
    bob, _ = store.users.create("bob")
    store.documents.put(alice, FAILOVER_GLOBAL, {"strategy": "warm_pool"})
    store.documents.put(alice, STANDBY, {"zone": "us-east-1a"}, key="gpu-1")
    assert store.documents.get(bob, FAILOVER_GLOBAL) is None
    assert store.documents.list(bob, STANDBY) == {}
    assert store.documents.delete(bob, STANDBY, key="gpu-1") is False
    assert store.documents.list(alice, STANDBY) == {"gpu-1": {"zone": "us-east-1a"}}
    store.documents.put(alice, FAILOVER_GLOBAL, {"strategy": "disabled"})
    assert store.documents.get(alice, FAILOVER_GLOBAL) == {"strategy": "disabled"}

    budget = store.budgets.create(alice, {"name": "b", "threshold": 5.0})
    assert store.budgets.get(bob, budget) is None
    assert store.budgets.replace(bob, budget, {"name": "stolen"}) is False
    assert store.budgets.delete(bob, budget) is False
    assert store.budgets.get(alice, budget) == {"name": "b", "threshold": 5.0}


def test_an_action_is_claimed_only_under_the_lease_and_finished_once(store, clock):
    user, _ = store.users.create("alice")
    leases = Leases(store.engine, clock)
    action, new = store.actions.request(user, "gpu-1", "restart")
    assert new
    assert store.actions.gpus_with_open_actions() == [(user, "gpu-1")]
    assert store.actions.claim_next(user, "gpu-1", "r1", token=1) is None  # no lease yet

    lease = leases.acquire(user, "gpu-1", "r1", ttl=10)
    assert lease is not None
    assert store.actions.gpus_with_open_actions() == []  # held: other replicas skip it
    claimed = store.actions.claim_next(user, "gpu-1", "r1", lease.token)
    assert claimed is not None and claimed.id == action.id
    assert (claimed.state, claimed.attempts, claimed.claimed_by) == (RUNNING, 1, "r1")

    assert store.actions.finish(claimed, "r1", lease.token, result={"ok": True})
    assert not store.actions.finish(claimed, "r1", lease.token, result={"ok": True})
    done = store.actions.get(user, action.id)
    assert done is not None and (done.state, done.result) == (SUCCEEDED, {"ok": True})
    assert store.actions.claim_next(user, "gpu-1", "r1", lease.token) is None


def test_a_holder_that_lost_its_lease_cannot_record_an_outcome(store, clock):
    user, _ = store.users.create("alice")
    leases = Leases(store.engine, clock)
    store.actions.request(user, "gpu-1", "restart")
    first = leases.acquire(user, "gpu-1", "r1", ttl=10)
    assert first is not None
    claimed = store.actions.claim_next(user, "gpu-1", "r1", first.token)
    assert claimed is not None
    clock.advance(11)  # r1 stalls past its lease; r2 takes over and claims the action again
    second = leases.acquire(user, "gpu-1", "r2", ttl=10)
    assert second is not None and second.token == first.token + 1
    again = store.actions.claim_next(user, "gpu-1", "r2", second.token)
    assert again is not None and (again.id, again.attempts) == (claimed.id, 2)

    assert not store.actions.finish(claimed, "r1", first.token, error="late")
    assert store.actions.finish(again, "r2", second.token, error="marketplace said no")
    done = store.actions.get(user, claimed.id)
    assert done is not None and (done.state, done.claimed_by) == (FAILED, "r2")


def test_events_are_filtered_by_user_gpu_kind_and_time(store, clock):
    alice, _ = store.users.create("alice")
    bob, _ = store.users.create("bob")
    log = EventLog(store.engine, clock, "r1")
    seen = []
    log.subscribe(seen.append)
    log.record("action.requested", "a", user_id=alice, gpu_id="gpu-1")
    clock.advance(5)
    log.record("action.succeeded", "b", user_id=alice, gpu_id="gpu-1", duration_ms=12.5)
    log.record("lease.taken_over", "c", user_id=alice, gpu_id="gpu-2")
    log.record("action.requested", "d", user_id=bob, gpu_id="gpu-1")

    assert [e.message for e in log.query(alice)] == ["a", "b", "c"]
    assert [e.message for e in log.query(alice, gpu_id="gpu-1")] == ["a", "b"]
    assert [e.message for e in log.query(alice, kind="action.")] == ["a", "b"]
    assert [e.message for e in log.query(alice, kind="action.succeeded")] == ["b"]
    assert [e.message for e in log.query(alice, since=clock.now())] == ["b", "c"]
    assert log.query(alice, kind="action.succeeded")[0].duration_ms == 12.5
    assert [e.message for e in seen] == ["a", "b", "c", "d"]  # subscribers see every event


def test_missing_postgres_binaries_are_named_in_the_skip_reason(tmp_path, monkeypatch):
    from . import postgres

    (tmp_path / "initdb").touch()
    monkeypatch.setattr(postgres, "BIN_DIRS", [tmp_path])
    assert postgres.find_binaries() == (None, f"PostgreSQL binary {tmp_path / 'pg_ctl'} is missing")
    monkeypatch.setattr(postgres, "BIN_DIRS", [tmp_path / "absent"])
    found, reason = postgres.find_binaries()
    assert found is None and reason.startswith(f"PostgreSQL binary {tmp_path / 'absent'}/initdb")


@pytest.mark.parametrize(
    "given, url",
    [
        ("cp.db", "sqlite:///cp.db"),
        (":memory:", "sqlite://"),
        ("sqlite:////var/lib/cp.db", "sqlite:////var/lib/cp.db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
    ],
)
def test_database_urls(given, url):
    from dumont_iac.control_plane.store import database_url

    assert database_url(given) == url
