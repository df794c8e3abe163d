"""The typed control-plane client against a real served control plane: its settings, its
errors in the library's tree, and retries only where a repeat is harmless."""

from __future__ import annotations

import socket

import pytest

from dumont_iac import errors
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.http import RetryPolicy
from dumont_iac.control_plane.models.failover import GpuFailoverSettings
from dumont_iac.control_plane.models.policies import Budget

GPU = "gpu-0123456789ab"
FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, jitter=0.0)


def test_settings_round_trip_per_gpu_and_each_user_sees_only_their_own(control_plane):
    alice = ControlPlaneClient(control_plane.url, control_plane.alice, retry=FAST)
    bob = ControlPlaneClient(control_plane.url, control_plane.bob, retry=FAST)
    own = GpuFailoverSettings(use_global_settings=False, strategy="cpu_standby")
    saved = alice.put_gpu_settings(GPU, own)
    assert saved.effective_strategy == "cpu_standby"
    assert alice.gpu_settings(GPU).effective_strategy == "cpu_standby"
    assert bob.gpu_settings(GPU).effective_strategy != "cpu_standby"
    alice.delete_gpu_settings(GPU)
    alice.delete_gpu_settings(GPU)  # already gone: the wanted end is reached
    assert alice.health().status == "ok"


def test_budgets_are_created_listed_and_deleted(control_plane):
    client = ControlPlaneClient(control_plane.url, control_plane.alice, retry=FAST)
    created = client.create_budget(Budget.model_validate(Budget.model_json_schema()["examples"][0]))
    assert [b.id for b in client.budgets().budgets] == [created.id]
    client.delete_budget(created.id)
    assert client.budgets().budgets == []


def test_a_wrong_key_and_an_invalid_value_are_errors_of_the_library_tree(control_plane):
    wrong = ControlPlaneClient(control_plane.url, "not-a-key", retry=FAST)
    with pytest.raises(errors.AuthError, match="control-plane API key .* was refused"):
        wrong.global_settings()
    client = ControlPlaneClient(control_plane.url, control_plane.alice, retry=FAST)
    # Built without validation, as a client of another version might send it.
    teleport = GpuFailoverSettings.model_construct(strategy="teleport")
    with pytest.raises(errors.BadRequest) as caught:
        client.put_gpu_settings(GPU, teleport)
    assert caught.value.status == 422 and caught.value.field == "strategy"
    assert "Validation error: strategy:" in str(caught.value)


def test_an_execute_with_a_request_id_is_safe_to_repeat(control_plane):
    client = ControlPlaneClient(control_plane.url, control_plane.alice, retry=FAST)
    first = client.execute_failover(GPU, request_id="deploy-42")
    again = client.execute_failover(GPU, request_id="deploy-42")
    assert again.id == first.id and client.action(first.id).gpu_id == GPU
    assert client.failover_status(GPU).gpu_id == GPU


def test_an_unreachable_control_plane_says_which_setting_to_fix(monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("DUMONT_API_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("DUMONT_API_KEY", "k")
    with pytest.raises(errors.Unreachable, match="DUMONT_API_URL"):
        ControlPlaneClient(retry=FAST).global_settings()
