"""Failover without a deployment: place a warm pool or a CPU standby by hand in a sandbox world,
break it, and wait on the sandbox's clock for the control plane to move the GPU.

    with FailoverWorld(world) as lab:
        placed = lab.place_pool("pool-0123456789ab")
        lab.fault(f"instances/{placed['primary']}/fail")
        lab.wait("the failover", lambda: lab.events("pool-0123456789ab", "action.succeeded"), 120)

It registers with the control plane exactly what the resources register (``WarmPool``,
``CpuStandby``), so the failover engine's tests and ``bench/failover.py`` measure the control
plane alone; the resources' own tests place them through a deployment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import VolumeAttachment
from dumont_iac.control_plane.store.documents import STANDBY, WARM_POOL
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider.labels import rental_label, standby_id
from dumont_iac.provider.renting import offer_filter_for, rent_cheapest
from dumont_iac.sandbox.world import World

T = TypeVar("T")
IMAGE = "alpine:3"


class FailoverWorld:
    """One world, one user: place pools and standbys, break them, wait in sandbox time."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key,
                                        pacing_scale=0)  # fmt: skip
        user = self.store.users.id_of("sandbox")
        assert user is not None
        self.user_id: int = user
        self.http = world.marketplace.client()

    @property
    def store(self) -> Any:
        """The serving control plane's store (a new one after a restart)."""
        return self.world.control_plane.store

    def __enter__(self) -> FailoverWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def now(self) -> float:
        return self.world.marketplace.clock.now()

    def fault(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.post(f"/_sandbox/{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, what: str, probe: Callable[[], T | None], sandbox_seconds: float) -> T:
        """``probe()``'s first truthy answer."""
        deadline = self.now() + sandbox_seconds
        while self.now() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {sandbox_seconds} sandbox seconds")

    def args(self, logical_name: str, **extra: Any) -> GpuInstanceArgs:
        given = {"image": IMAGE, "disk_gb": 10, "max_price_per_hour": 5.0, **extra}
        return GpuInstanceArgs(logical_name=logical_name, **given)

    def spec(self, args: GpuInstanceArgs) -> dict[str, Any]:
        arguments = args.model_dump(mode="json", exclude_none=True)
        return {"arguments": arguments, "label": None}

    def running(self, contract_id: int) -> bool:
        instance = self.market.instance(contract_id)
        return bool(instance and instance.actual_status == "running")

    def place_pool(self, gpu_id: str, standbys: int = 1) -> dict[str, Any]:
        """A primary and ``standbys`` stopped standbys on one machine, sharing one volume."""
        args = self.args(f"test/{gpu_id}")
        room = offer_filter_for(args).model_copy(
            update={"num_gpus": None, "min_num_gpus": 1 + standbys, "max_price_per_hour": None}
        )
        offers = self.market.search_offers(room, cached=False)
        machine = offers[0].machine_id
        volume_offer = self.market.search_volume_offers(machine_id=machine, min_size_gb=20)[0]
        volume = self.market.create_volume(volume_offer.id, 20, name=gpu_id).volume_id
        assert volume is not None
        attach = VolumeAttachment(volume_id=volume, mount_path="/workspace")
        primary = rent_cheapest(self.market, args, rental_label(gpu_id, None),
                                machine_id=machine, volume=attach)  # fmt: skip
        spares = [
            rent_cheapest(self.market, args, rental_label(standby_id(gpu_id, k), None),
                          target_state="stopped", machine_id=machine, volume=attach)
            for k in range(1, standbys + 1)
        ]  # fmt: skip
        self.wait("the primary to run", lambda: self.running(primary) or None, 120)
        self.store.documents.put(self.user_id, WARM_POOL, {
            "host_machine_id": machine, "volume_id": volume, "standbys": standbys,
            "volume_mount_path": "/workspace", "gpu": self.spec(args),
        }, key=gpu_id)  # fmt: skip
        return {"machine": machine, "volume": volume, "primary": primary, "standbys": spares}

    def place_standby(
        self, gpu_id: str, gpu: dict[str, Any] | None = None, **settings: Any
    ) -> dict[str, Any]:
        """A GPU (``gpu``: more of its arguments) with a CPU standby VM on moto's EC2,
        associated in the control plane (``settings``: the association's)."""
        args = self.args(f"test/{gpu_id}", **(gpu or {}))
        contract = rent_cheapest(self.market, args, rental_label(gpu_id, None))
        self.wait("the GPU to run", lambda: self.running(contract) or None, 120)
        vm = self.associate(gpu_id, args, **settings)
        rented = self.market.instance(contract)
        assert rented is not None
        return {"contract": contract, "vm": vm, "machine": rented.machine_id}

    def associate(self, gpu_id: str, args: GpuInstanceArgs | None = None, **settings: Any) -> str:
        """A CPU standby VM on moto's EC2 for the GPU, associated in the control plane."""
        args = args or self.args(f"test/{gpu_id}")
        ec2 = self.ec2()
        vm = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                               InstanceType="t3.medium")["Instances"][0]["InstanceId"]  # fmt: skip
        self.store.documents.put(self.user_id, STANDBY, {
            "cpu_instance_name": f"standby-{gpu_id}", "zone": "us-east-1a", "ip": None,
            "sync_enabled": True, "ec2_instance_id": vm, "region": "us-east-1",
            "sync_interval_seconds": 30, "failure_threshold": 3, "auto_failover": True,
            "auto_recovery": True, "gpu": self.spec(args), **settings,
        }, key=gpu_id)  # fmt: skip
        return vm

    def ec2(self) -> Any:
        assert self.world.aws is not None
        return boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=self.world.aws.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def events(self, gpu_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        log = self.world.control_plane.app.state.events
        return [e.public() for e in log.query(self.user_id, gpu_id=gpu_id, kind=kind, limit=500)]
