"""Standby associations: what the deployment registers (the VM, its settings, the GPU's spec),
merged on every read with the runtime state the standby agent writes (``standby_state``)."""

from __future__ import annotations

from dumont_iac.control_plane.store.documents import STANDBY_STATE

PATH = "/api/v1/standby/associations/gpu-a"
FULL = {
    "cpu_instance_name": "standby-0123456789ab",
    "zone": "us-east-1a",
    "ip": "10.0.3.17",
    "ec2_instance_id": "i-0abc123def4567890",
    "region": "us-east-1",
    "sync_interval_seconds": 30,
    "health_check_interval_seconds": 10,
    "failure_threshold": 3,
    "auto_failover": True,
    "auto_recovery": False,
    "gpu": {"arguments": {"image": "ubuntu:22.04", "logical_name": "p/s/train"}, "label": "t"},
}


def test_an_association_of_the_first_shape_still_registers_and_reads(control_plane):
    with control_plane.client(control_plane.alice) as http:
        put = http.put(PATH, json={"cpu_instance_name": "vm-a", "zone": "us-east-1a"})
        assert put.status_code == 200
        shown = http.get(PATH).json()
    assert shown["state"] == "syncing" and shown["gpu_failed"] is False
    assert shown["ec2_instance_id"] is None and shown["last_sync_at"] is None


def test_the_agents_report_is_merged_into_every_read_and_dies_with_the_association(
    control_plane,
):
    store = control_plane.handle.store
    alice_id = store.users.id_of("alice-1")
    with control_plane.client(control_plane.alice) as http:
        assert http.put(PATH, json=FULL).json()["auto_recovery"] is False
        report = {"state": "failover_active", "last_sync_at": 100.0, "gpu_failed": True,
                  "failure_reason": "3 failed checks", "last_failover_at": 130.0,
                  "failovers_last_24h": 1, "zone": "not-an-override"}  # fmt: skip
        store.documents.put(alice_id, STANDBY_STATE, report, key="gpu-a")
        shown = http.get(PATH).json()
        listed = http.get("/api/v1/standby/associations").json()["associations"]
        assert listed == [shown]
        assert shown["state"] == "failover_active" and shown["gpu_failed"] is True
        assert shown["failovers_last_24h"] == 1 and shown["last_failover_at"] == 130.0
        assert shown["zone"] == "us-east-1a"  # only runtime fields come from the report
        assert shown["gpu"]["arguments"]["image"] == "ubuntu:22.04"
        # A redeploy re-registers without erasing what the agent observed.
        assert http.put(PATH, json={**FULL, "failure_threshold": 5}).json()["gpu_failed"] is True
        assert http.delete(PATH).status_code == 200
    assert store.documents.get(alice_id, STANDBY_STATE, "gpu-a") is None


def test_bad_settings_are_refused_naming_the_field(control_plane):
    with control_plane.client(control_plane.alice) as http:
        for field, value in [("failure_threshold", "3"), ("ec2_instance_id", "vm-1"),
                             ("sync_interval_seconds", 1), ("auto_failover", "yes")]:  # fmt: skip
            answer = http.put(PATH, json={**FULL, field: value})
            assert answer.status_code == 422, field
            assert field in answer.text, field
