"""The components under Pulumi's mocks: every child is parented to its component, the outputs
are registered and follow the children's, and bad arguments are refused before anything is
declared, naming the field, the value and what is allowed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from dumont_iac import GpuInstance
from dumont_iac.components import InferenceFleet, ResilientGpu
from dumont_iac.components.inference_fleet import endpoints_of
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.registry import RESOURCES
from dumont_iac.testing.engine_monitor import EngineMonitor, Registration

KIND = {entry.type_token: entry.name for entry in RESOURCES}
MEMBERS = [
    {"index": 1, "logical_id": "f-1", "contract_id": 12, "status": "running",
     "public_ip": "198.51.100.2", "ports": {"8000": 40002}},
    {"index": 0, "logical_id": "f-0", "contract_id": 11, "status": "running",
     "public_ip": "198.51.100.1", "ports": {"8000": 40001}},
]  # fmt: skip
# What the mocked providers answer, by kind: distinct values, so each output can be traced.
COMPUTED: dict[str, dict[str, Any]] = {
    "WarmPool": {"logical_id": "pool-1", "contract_id": 101, "machine_id": 7, "state": "active",
                 "ssh_command": "ssh -p 40022 root@198.51.100.9", "price_per_hour": 0.42},
    "CpuStandby": {"ec2_instance_id": "i-0abc", "state": "syncing"},
    "FailoverPolicy": {"effective_strategy": "both"},
    "SnapshotPolicy": {"snapshot_count": 3},
    "HibernationPolicy": {"state": "awake"},
    "Budget": {"spend_usd": 12.5, "worst_per_month": 900.0},
    "GpuFleet": {"logical_id": "fleet-1", "members": MEMBERS, "running_count": 2,
                 "total_price_per_hour": 0.6, "ssh_commands": ["ssh a", "ssh b"]},
    "GpuInstance": {"logical_id": "gpu-1"},
}  # fmt: skip


def mocked_provider(registration: Registration) -> tuple[str, dict[str, Any]]:
    """Each Dumont resource created at once: its inputs echoed, its outputs from COMPUTED."""
    kind = KIND[registration.type]
    return f"{registration.name}-id", {**registration.inputs, **COMPUTED[kind]}


@dataclass
class Recorded:
    """Every registration (type, name, parent URN) and every component's registered outputs."""

    resources: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def urn_of(self, name: str) -> str:
        return next(urn for urn, (_, n, _) in self.resources.items() if n == name)

    def children_of(self, urn: str) -> list[str]:
        return sorted(n for (_, n, parent) in self.resources.values() if parent == urn)

    def kinds(self) -> list[str]:
        return sorted(KIND.get(t, t) for (t, _, _) in self.resources.values())


class Recorder(EngineMonitor):
    """The SDK's mock monitor, as the driver extends it (no event loop left in worker threads),
    answering for the dynamic providers and recording parents and registered outputs."""

    def __init__(self, recorded: Recorded) -> None:
        super().__init__(mocked_provider)
        self.recorded = recorded

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the engine's method name
        answer = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.resources[answer.urn] = (request.type, request.name, request.parent)
        return answer

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        outputs = rpc.deserialize_properties(request.outputs)
        self.recorded.outputs[request.urn] = dict(outputs)
        return super().RegisterResourceOutputs(request)


def run(program: Callable[[], dict[str, pulumi.Output[Any]]]) -> Recorded:
    """Run ``program`` under the mocks in a fresh thread (Pulumi's settings and event loop are
    its own); the values of the outputs it returns are collected once known."""
    recorded = Recorded()
    failure: list[BaseException] = []

    def target() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            monitor = Recorder(recorded)
            pulumi.runtime.set_mocks(monitor.mocks, "components", "unit", False, monitor=monitor)

            @pulumi.runtime.test
            def declare() -> pulumi.Output[Any]:
                outputs = program()
                return pulumi.Output.all(**outputs).apply(recorded.values.update)

            declare()
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the program did not finish in 60 s"
    if failure:
        raise failure[0]
    return recorded


def _resilient() -> dict[str, pulumi.Output[Any]]:
    gpu = ResilientGpu("trainer", image="ubuntu:22.04", snapshot_bucket="team-snapshots")
    names = ("gpu_id", "contract_id", "ssh_command", "pool_state", "standby_state", "strategy",
             "spend_usd", "hibernation_state")  # fmt: skip
    return {name: getattr(gpu, name) for name in names}


def test_a_resilient_gpu_declares_its_six_children_under_it_and_registers_their_outputs():
    recorded = run(_resilient)
    component = recorded.urn_of("trainer")
    assert recorded.resources[component][0] == "dumont:components:ResilientGpu"
    assert recorded.children_of(component) == sorted(
        f"trainer-{c}"
        for c in ("pool", "standby", "failover", "snapshots", "hibernation", "budget")
    )
    assert recorded.kinds().count("WarmPool") == 1 and len(recorded.resources) == 7
    for name in recorded.children_of(component):  # the URN carries the component's type
        assert "dumont:components:ResilientGpu$" in recorded.urn_of(name)
    registered = recorded.outputs[component]
    assert registered["gpu_id"] == "pool-1" and registered["contract_id"] == 101
    assert registered["ssh_command"] == "ssh -p 40022 root@198.51.100.9"
    assert registered["pool_state"] == "active" and registered["standby_state"] == "syncing"
    assert registered["spend_usd"] == 12.5 and registered["strategy"] == "both"
    assert recorded.values["hibernation_state"] == "awake"


def test_a_resilient_gpu_wires_its_policies_to_its_pool_with_the_documented_defaults():
    seen: dict[str, Any] = {}

    def program() -> dict[str, pulumi.Output[Any]]:
        gpu = ResilientGpu("t", image="ubuntu:22.04", snapshot_bucket="b-1", standbys=2)
        for child in (gpu.pool, gpu.standby, gpu.failover, gpu.snapshots, gpu.hibernation,
                      gpu.budget):  # fmt: skip
            seen[type(child).__name__] = child.declared_arguments
        return {}

    run(program)
    assert seen["WarmPool"]["standbys"] == 2 and seen["WarmPool"]["max_price_per_hour"] == 0.8
    assert seen["WarmPool"]["min_vram_gb"] == 16.0 and seen["WarmPool"]["volume_size_gb"] == 50
    assert seen["FailoverPolicy"]["strategy"] == "both"
    assert seen["SnapshotPolicy"]["bucket"] == "b-1"
    assert seen["SnapshotPolicy"]["interval_minutes"] == 15
    assert seen["HibernationPolicy"]["idle_minutes"] == 60
    assert seen["HibernationPolicy"]["destroy_after_minutes"] == 0
    assert seen["Budget"]["action"] == "stop" and seen["Budget"]["limit_usd"] == 1000
    # The budget covers the component's own rentals, not what else the program declares.
    assert len(seen["Budget"]["scope_costs"]) == 2


def test_an_inference_fleet_publishes_its_port_and_lists_each_members_endpoint():
    seen: dict[str, Any] = {}

    def program() -> dict[str, pulumi.Output[Any]]:
        GpuInstance("outside", image="ubuntu:22.04", max_price_per_hour=0.2)
        fleet = InferenceFleet("serve", image="ubuntu:22.04", count=2, port=8000, ports=[9000])
        seen.update(fleet.fleet.declared_arguments)
        seen["budget"] = fleet.budget.declared_arguments
        return {"endpoints": fleet.endpoints, "running": fleet.running_count}

    recorded = run(program)
    component = recorded.urn_of("serve")
    assert recorded.resources[component][0] == "dumont:components:InferenceFleet"
    assert recorded.children_of(component) == ["serve-budget", "serve-fleet"]
    assert recorded.resources[recorded.urn_of("outside")][2] != component
    assert seen["ports"] == [8000, 9000] and seen["count"] == 2
    assert seen["max_price_per_hour"] == 0.4
    assert [c["name"] for c in seen["budget"]["scope_costs"]] == ["serve-fleet"]
    endpoints = ["198.51.100.1:40001", "198.51.100.2:40002"]  # by member index
    assert recorded.values["endpoints"] == endpoints
    assert recorded.outputs[component]["endpoints"] == endpoints
    assert recorded.outputs[component]["running_count"] == 2


def test_endpoints_leave_out_members_that_publish_nothing_yet():
    members = [{"index": 0, "public_ip": "198.51.100.1", "ports": {}},
               {"index": 1, "public_ip": None, "ports": {"8000": 1}},
               {"index": 2, "public_ip": "198.51.100.3", "ports": {"8000": 40003}}]  # fmt: skip
    assert endpoints_of(8000, members) == ["198.51.100.3:40003"]
    assert endpoints_of(8000, None) == []


@pytest.mark.parametrize(
    ("component", "arguments", "expected"),
    [
        (ResilientGpu, {"image": "ubuntu:22.04"}, "snapshot_bucket: is required"),
        (ResilientGpu, {"image": "u", "snapshot_bucket": "b-1", "standbys": 9},
         "standbys: Input should be less than or equal to 7; got 9"),
        (ResilientGpu, {"image": "u", "snapshot_bucket": "b-1", "snapshot_interval_minutes": 7},
         "snapshot_interval_minutes: Input should be 5, 15, 30 or 60; got 7"),
        (ResilientGpu, {"image": "u", "snapshot_bucket": "b-1", "budget_action": "halt"},
         "budget_action: Input should be 'alert', 'stop' or 'destroy'; got 'halt'"),
        (ResilientGpu, {"image": "u", "snapshot_bucket": "b-1", "standby": 1},
         "standby: is not an argument of ResilientGpu; allowed: "),
        (InferenceFleet, {"image": "u", "count": 0},
         "count: Input should be greater than or equal to 1; got 0"),
        (InferenceFleet, {"image": "u", "count": 1, "port": 70000},
         "port: Input should be less than or equal to 65535; got 70000"),
        (InferenceFleet, {"image": "u", "count": 1, "budget_webhook_url": "x" * 3000},
         "budget_webhook_url: String should have at most 2000 characters; got <secret>"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_anything_is_declared(component, arguments, expected):
    def program() -> dict[str, pulumi.Output[Any]]:
        component("bad", **arguments)
        return {}

    with pytest.raises(InvalidArgumentsError) as refused:
        run(program)
    assert expected in str(refused.value)
    assert f"invalid arguments for {component.__name__} 'bad'" in str(refused.value)
