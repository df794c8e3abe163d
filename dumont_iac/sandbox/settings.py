"""How a sandbox is started: one immutable value shared by the CLI, the app and the tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxSettings:
    db_path: str = ":memory:"
    seed: int = 0
    machines: int = 400
    api_key: str = "sandbox-key"
    starting_credit: float = 1000.0
    speed: float = 1.0
    # "realistic" (the marketplace's documented gaps), "off", or a scale factor as text ("0.1")
    rate_limits: str = "realistic"
    # moto's server of the world, for the /_sandbox/aws/ faults; None: a sandbox without AWS
    aws_endpoint_url: str | None = None
