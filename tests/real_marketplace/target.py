"""Where the cost-capped scenarios run: the local world (every CI run) or the real marketplace
(opt-in). A target knows its caps, its run's label prefix, how to make a GPU fail, how to wait
on its clock, and the sweeper that leaves nothing of the run behind."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dumont_iac.clients.aws.ec2 import Ec2
from dumont_iac.clients.aws.s3 import S3Store
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.sweep import Scope, Sweeper

T = TypeVar("T")
GB = 1024**3
# The sandbox's offers are priced like the real market's but nothing bills: its scenarios cap
# at a price its cheapest offers meet. The refusal test uses a cap below every offer on both.
SANDBOX_MAX_COST = 1.0
BELOW_EVERY_OFFER = 0.0001


@dataclass
class Target:
    name: str
    prefix: str  # the run's label prefix: every rental the scenarios make starts with it
    max_cost: float  # $/h
    max_size_bytes: int
    failover_timeout: float  # seconds on the target's clock
    env: dict[str, str]
    market: MarketplaceClient
    control_plane: ControlPlaneClient | None
    s3_endpoint: str | None = None
    world: Any = None
    aws: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def sandbox(self) -> bool:
        return self.world is not None

    def label(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def bucket(self, name: str) -> str:
        return f"{self.prefix}-{name}".lower()

    def now(self) -> float:
        return self.world.marketplace.clock.now() if self.sandbox else time.monotonic()

    def wait(self, what: str, probe: Callable[[], T | None], seconds: float) -> T:
        """``probe()``'s first truthy answer within ``seconds`` of the target's clock."""
        deadline = self.now() + seconds
        while True:
            found = probe()
            if found:
                return found
            if self.now() >= deadline:
                raise AssertionError(f"{what}: not within {seconds:g} s ({self.name} clock)")
            time.sleep(0.05 if self.sandbox else 2.0)

    def fail_gpu(self, contract_id: int) -> None:
        """The sandbox fails the instance; on the real marketplace it is destroyed under the
        control plane's feet (a stopped one would read as stopped on purpose, not failed):
        no rental carries the GPU's marker any more, which its health checks see as a loss."""
        if self.sandbox:
            with self.world.marketplace.client(timeout=10) as http:
                answer = http.post(f"/_sandbox/instances/{contract_id}/fail", json={})
                assert answer.status_code == 200, answer.text
        else:
            self.market.destroy(contract_id)

    def write_workspace(self, contract_id: int, files: dict[str, bytes]) -> None:
        """Files for the snapshot (the sandbox only: a real GPU's workspace is its own)."""
        if not self.sandbox:
            return
        with self.world.marketplace.client(timeout=10) as http:
            for name, data in files.items():
                body = {"content": base64.b64encode(data).decode(), "encoding": "base64"}
                answer = http.put(f"/_sandbox/instances/{contract_id}/workspace/{name}", json=body)
                assert answer.status_code == 200, answer.text

    def sweeper(self, timeout: float = 300.0) -> Sweeper:
        return Sweeper(
            market=self.market,
            scope=Scope(label_prefix=self.prefix),
            control_plane=self.control_plane,
            ec2=Ec2() if self.aws else None,
            s3=S3Store(self.s3_endpoint) if self.aws else None,
            timeout=timeout,
        )

    def sweep_clean(self) -> None:
        """Sweep the run; fail naming whatever could not be destroyed."""
        result = self.sweeper().sweep()
        assert not result.left, "left after the sweep: " + "; ".join(
            f"{item}: {why}" for item, why in result.left
        )
