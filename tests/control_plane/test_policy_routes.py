"""The snapshot and hibernation policy routes: stored per user, validated with the field named,
and a wake refused with a reason when there is nothing to wake."""

from __future__ import annotations

from dumont_iac.control_plane.models.gpus import GPU_SPEC_EXAMPLE

GPU = "gpu-0123456789ab"
SNAPSHOTS = f"/api/v1/snapshots/policies/{GPU}"
HIBERNATION = f"/api/v1/hibernation/policies/{GPU}"


def test_a_snapshot_policy_is_stored_shown_with_its_status_and_private(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        put = alice.put(SNAPSHOTS, json={"bucket": "ml-snapshots", "interval_minutes": 5})
        assert put.status_code == 200, put.text
        body = alice.get(SNAPSHOTS).json()
        assert body["bucket"] == "ml-snapshots" and body["interval_minutes"] == 5
        assert body["retention_days"] == 7 and body["keep_at_least"] == 1
        assert body["status"]["snapshot_count"] == 0 and body["status"]["last_snapshot_at"] is None
    with control_plane.client(control_plane.bob) as bob:
        assert bob.get(SNAPSHOTS).status_code == 404
    with control_plane.client(control_plane.alice) as alice:
        assert alice.delete(SNAPSHOTS).json() == {"gpu_id": GPU, "deleted": True}
        assert alice.get(SNAPSHOTS).status_code == 404
        assert alice.delete(SNAPSHOTS).status_code == 404


def test_bad_snapshot_policies_are_422_naming_the_field(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        for bad, field in (
            ({"bucket": "snaps", "interval_minutes": 10}, "interval_minutes"),
            ({"bucket": "Bad_Name"}, "bucket"),
            ({"bucket": "snaps", "retention_days": -1}, "retention_days"),
            ({"bucket": "snaps", "keep_at_least": 5, "keep_at_most": 2}, "keep_at_least"),
        ):
            answer = alice.put(SNAPSHOTS, json=bad)
            assert answer.status_code == 422, bad
            assert field in answer.text, answer.text


def test_a_hibernation_policy_is_stored_awake_and_a_wake_needs_something_to_wake(control_plane):
    with control_plane.client(control_plane.alice) as alice:
        assert alice.post(f"/api/v1/hibernation/wake/{GPU}").status_code == 404
        put = alice.put(HIBERNATION, json={"idle_minutes": 10, "gpu_spec": GPU_SPEC_EXAMPLE})
        assert put.status_code == 200, put.text
        body = alice.get(HIBERNATION).json()
        assert body["idle_minutes"] == 10 and body["idle_threshold_percent"] == 5.0
        assert body["hibernation"] == {
            "state": "awake", "since": None, "snapshot_key": None, "reason": None
        }  # fmt: skip
        woken = alice.post(f"/api/v1/hibernation/wake/{GPU}")
        assert woken.status_code == 409 and "awake" in woken.json()["error"]
        missing_spec = alice.put(HIBERNATION, json={"idle_minutes": 10})
        assert missing_spec.status_code == 422 and "gpu_spec" in missing_spec.text
        assert alice.delete(HIBERNATION).json()["deleted"] is True
