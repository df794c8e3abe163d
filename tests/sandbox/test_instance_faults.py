"""Faults of one instance that failover reacts to: a crashed container on a healthy machine,
GPUs taken from under a stopped instance (and given back), a GPU utilisation a test sets, and
an EC2 VM terminated out of band on the world's AWS."""

from __future__ import annotations

import time

import pytest

from dumont_iac.clients.marketplace.models import Instance


def _offer(http, **query) -> dict:
    answer = http.post(
        "/api/v0/bundles/", json={"order": [["dph_total", "asc"]], "limit": 50, **query}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["offers"]


def _rent(http, offer: dict) -> int:
    answer = http.put(f"/api/v0/asks/{offer['id']}/", json={"image": "ubuntu:22.04", "disk": 10})
    assert answer.status_code == 200, answer.text
    return answer.json()["new_contract"]


def _show(http, instance_id: int) -> dict:
    return http.get(f"/api/v0/instances/{instance_id}/").json()["instances"]


def _running(sandbox, http, instance_id: int) -> dict:
    sandbox.clock.advance(120)  # past any image pull
    row = _show(http, instance_id)
    assert row["actual_status"] == "running", row
    return row


def _machine_with(http, gpus: int) -> list[dict]:
    """Offers of one machine with at least ``gpus`` GPUs: its 1-GPU slice first."""
    for offer in _offer(http, num_gpus={"gte": gpus}):
        slices = _offer(http, machine_id={"eq": offer["machine_id"]})
        if any(s["num_gpus"] == 1 for s in slices):
            return sorted(slices, key=lambda s: s["num_gpus"])
    raise AssertionError(f"no machine with {gpus} GPUs")


def test_a_failed_instance_exits_for_good_and_its_machine_stays_up(sandbox):
    with sandbox.client() as http:
        slices = _machine_with(http, 4)
        machine_id = slices[0]["machine_id"]
        failing = _rent(http, slices[0])
        neighbour = _rent(http, _offer(http, machine_id={"eq": machine_id}, num_gpus={"eq": 1})[0])
        _running(sandbox, http, failing)
        free_before = max(o["num_gpus"] for o in _offer(http, machine_id={"eq": machine_id}))

        failed = http.post(f"/_sandbox/instances/{failing}/fail")
        again = http.post(f"/_sandbox/instances/{failing}/fail")
        start = http.put(f"/api/v0/instances/{failing}/", json={"state": "running"})
        sandbox.clock.advance(600)
        row = _show(http, failing)
        other = _show(http, neighbour)
        free_after = max(o["num_gpus"] for o in _offer(http, machine_id={"eq": machine_id}))
    assert failed.status_code == 200, failed.text
    assert failed.json() == {"success": True, "instance_id": failing, "machine_id": machine_id,
                             "gpus_out_of_service": 1}  # fmt: skip
    assert again.status_code == 400 and "exited already" in again.json()["msg"]
    assert start.json()["success"] is False and "crashed" in start.json()["msg"]
    assert row["actual_status"] == "exited" and row["gpu_util"] == 0.0
    assert "crashed" in row["status_msg"] and f"machine {machine_id}" in row["status_msg"]
    assert other["actual_status"] == "running"
    assert free_after == free_before >= 1  # its free GPUs are still offered; the faulty one not


def test_taken_gpus_keep_a_stopped_instance_waiting_until_released(sandbox):
    with sandbox.client() as http:
        slices = _machine_with(http, 2)
        machine_id = slices[0]["machine_id"]
        instance_id = _rent(http, slices[0])
        _running(sandbox, http, instance_id)
        refused = http.post(f"/_sandbox/instances/{instance_id}/take_gpus")
        http.put(f"/api/v0/instances/{instance_id}/", json={"state": "stopped"})
        taken = http.post(f"/_sandbox/instances/{instance_id}/take_gpus")
        offers_left = _offer(http, machine_id={"eq": machine_id})
        start = http.put(f"/api/v0/instances/{instance_id}/", json={"state": "running"})
        sandbox.clock.advance(300)
        waiting = _show(http, instance_id)
        released = http.post(f"/_sandbox/machines/{machine_id}/release")
        sandbox.clock.advance(120)
        resumed = _show(http, instance_id)
        unknown = http.post("/_sandbox/machines/999999999/release")
    assert refused.status_code == 400
    assert "running" in refused.json()["msg"] and "stopped" in refused.json()["msg"]
    assert taken.status_code == 200 and taken.json()["gpus_taken"] >= 1, taken.text
    assert offers_left == []  # fewer free GPUs than the instance needs: nothing to offer
    assert start.json()["success"] is True
    assert waiting["actual_status"] == "stopped" and waiting["intended_status"] == "running"
    assert waiting["status_msg"].startswith("Scheduling")
    assert released.json() == {"success": True, "machine_id": machine_id, "released": 1}
    assert resumed["actual_status"] == "running"
    assert unknown.status_code == 404


def test_gpu_utilisation_is_busy_while_running_and_can_be_set_until_a_stop(sandbox):
    with sandbox.client() as http:
        first = _rent(http, _offer(http)[0])
        loading = _show(http, first)
        row = _running(sandbox, http, first)
        second = _rent(http, _offer(http)[0])
        _running(sandbox, http, second)
        busy = [_show(http, i)["gpu_util"] for i in (first, second)]
        again = _show(http, first)["gpu_util"]
        idle = http.put(f"/_sandbox/instances/{first}/utilization", json={"gpu_util": 0})
        listed = {r["id"]: r for r in http.get("/api/v0/instances/").json()["instances"]}
        bad = http.put(f"/_sandbox/instances/{first}/utilization", json={"gpu_util": 101})
        http.put(f"/api/v0/instances/{first}/", json={"state": "stopped"})
        stopped = _show(http, first)
        refused = http.put(f"/_sandbox/instances/{first}/utilization", json={"gpu_util": 5})
        http.put(f"/api/v0/instances/{first}/", json={"state": "running"})
        restarted = _running(sandbox, http, first)
    assert loading["gpu_util"] == 0.0
    assert all(60.0 <= value <= 90.0 for value in busy) and again == busy[0]
    assert row["gpu_util"] == busy[0]
    assert idle.json() == {"success": True, "instance_id": first, "gpu_util": 0.0}
    assert listed[first]["gpu_util"] == 0.0 and listed[second]["gpu_util"] == busy[1]
    assert Instance.model_validate(listed[first]).gpu_util == 0.0
    assert bad.status_code == 400 and "gpu_util" in bad.text
    assert stopped["gpu_util"] == 0.0
    assert refused.status_code == 400 and "start it" in refused.json()["msg"]
    assert restarted["gpu_util"] == busy[0]  # the override ended with the stop


def test_terminating_a_vm_without_aws_says_the_sandbox_has_none(sandbox):
    with sandbox.client() as http:
        answer = http.post("/_sandbox/aws/instances/i-0123456789abcdef0/terminate")
        malformed = http.post("/_sandbox/aws/instances/not-an-id/terminate")
    assert answer.status_code == 409
    assert "without AWS" in answer.json()["msg"]
    assert malformed.status_code in (400, 422)


def test_a_vm_of_the_world_is_terminated_out_of_band(world):
    from dumont_iac.clients.aws import session

    if world.aws is None:
        pytest.skip("moto is not installed")
    ec2 = session.client("ec2", endpoint_url=world.aws.url)
    with pytest.MonkeyPatch.context() as env:
        for key, value in world.exports().items():
            env.setenv(key, value)
        ec2 = session.client("ec2", endpoint_url=world.aws.url)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        vm = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
        vm_id = vm["Instances"][0]["InstanceId"]
        with world.marketplace.client() as http:
            answer = http.post(f"/_sandbox/aws/instances/{vm_id}/terminate")
            unknown = http.post("/_sandbox/aws/instances/i-00000000000000000/terminate")
        deadline = time.monotonic() + 10
        state = ""
        while time.monotonic() < deadline and state != "terminated":
            described = ec2.describe_instances(InstanceIds=[vm_id])
            state = described["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["previous_state"] in ("pending", "running")
    assert state in ("shutting-down", "terminated")
    assert unknown.status_code == 404 and "i-00000000000000000" in unknown.json()["msg"]
