"""``/warmpool/pools`` (what deployments register) and ``/warmpool/status`` (rendered from the
registration and the failover agent's ``warm_pool_state`` document), over HTTP."""

from __future__ import annotations

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.warm_pools import REGISTRATION_EXAMPLE, WarmPoolRegistration
from dumont_iac.control_plane.store.documents import WARM_POOL_STATE

POOL = "/api/v1/warmpool/pools/pool-0123456789ab"
STATUS = "/api/v1/warmpool/status/pool-0123456789ab"


def test_a_registered_pool_is_active_until_the_agent_says_otherwise(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        assert alice.get(STATUS).json()["state"] == "searching"  # the default strategy
        put = alice.put(POOL, json=REGISTRATION_EXAMPLE)
        assert put.status_code == 200, put.text
        assert alice.get(POOL).json() == {"gpu_id": "pool-0123456789ab", **REGISTRATION_EXAMPLE}
        status = alice.get(STATUS).json()
        assert status["state"] == "active" and status["registered"] is True
        assert status["host_machine_id"] == 1042 and status["volume_id"] == 35000001
        assert status["standby_gpu_id"] == "pool-0123456789ab.standby-1"
        assert status["standbys"] == 1 and status["failover_count"] == 0

        user_id = control_plane.handle.store.users.check(control_plane.alice).user_id
        control_plane.handle.store.documents.put(
            user_id,
            WARM_POOL_STATE,
            {"state": "degraded", "error_message": "standby 1 is gone", "failover_count": 2,
             "last_failover_at": 1.7e9, "primary_contract_id": 26000009,
             "standby_contract_ids": []},
            key="pool-0123456789ab",
        )  # fmt: skip
        status = alice.get(STATUS).json()
        assert (status["state"], status["error_message"]) == ("degraded", "standby 1 is gone")
        assert status["failover_count"] == 2 and status["primary_contract_id"] == 26000009

        deleted = alice.delete(POOL)
        assert deleted.json() == {"gpu_id": "pool-0123456789ab", "deleted": True}
        assert alice.get(POOL).status_code == 404 and alice.delete(POOL).status_code == 404
        assert alice.get(STATUS).json()["state"] == "searching"
        assert control_plane.handle.store.documents.get(
            user_id, WARM_POOL_STATE, "pool-0123456789ab"
        ) is None  # fmt: skip


def test_a_bad_registration_is_refused_naming_the_field(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        for field, value in (
            ("standbys", 8),
            ("volume_mount_path", "workspace"),
            ("host_machine_id", "1042"),
        ):
            refused = alice.put(POOL, json={**REGISTRATION_EXAMPLE, field: value})
            assert refused.status_code == 422, (field, refused.text)
            assert refused.json()["details"][0]["loc"][:2] == ["body", field]
        bad_gpu = {**REGISTRATION_EXAMPLE, "gpu": {"arguments": {"gpu_count": 3}}}
        refused = alice.put(POOL, json=bad_gpu)
        assert refused.status_code == 422 and "image" in refused.text


def test_another_users_pool_is_invisible(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        assert alice.put(POOL, json=REGISTRATION_EXAMPLE).is_success
    with control_plane.client(control_plane.bob) as bob:
        assert bob.get(POOL).status_code == 404
        assert bob.get(STATUS).json()["registered"] is False
        assert bob.delete(POOL).status_code == 404


def test_the_client_registers_and_forgets_a_pool(control_plane):
    client = ControlPlaneClient(control_plane.url, control_plane.alice)
    registration = WarmPoolRegistration.model_validate(REGISTRATION_EXAMPLE)
    assert client.put_warm_pool("pool-0123456789ab", registration).volume_id == 35000001
    assert client.warm_pool_registration("pool-0123456789ab") is not None
    client.delete_warm_pool("pool-0123456789ab")
    client.delete_warm_pool("pool-0123456789ab")  # already gone counts as done
    assert client.warm_pool_registration("pool-0123456789ab") is None
