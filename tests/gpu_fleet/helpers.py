"""Programs and checks shared by the GpuFleet tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from dumont_iac import GpuFleet
from dumont_iac.testing import Deployment

CONFIGURABLE = ("count", "min_count", "image", "label", "scale_down", "create_timeout_seconds")
RTX_3090 = {"image": "ubuntu:22.04", "gpu_models": ["RTX 3090"], "max_price_per_hour": 1.0}


def fleet(**args: Any) -> Callable[[], None]:
    """A program of one fleet named workers; config keys (``set_config``) override ``args``."""

    def program() -> None:
        config = pulumi.Config()
        changed = {key: config.get(key) for key in CONFIGURABLE}
        numbers = {"count", "min_count", "create_timeout_seconds"}
        given = {k: int(v) if k in numbers else v for k, v in changed.items() if v is not None}
        workers = GpuFleet("workers", **{**RTX_3090, **args, **given})
        pulumi.export("ssh", workers.ssh_commands)
        pulumi.export("running", workers.running_count)

    return program


def members(deployment: Deployment) -> list[dict[str, Any]]:
    return deployment.state.by_name("workers").outputs["members"]


def contracts(deployment: Deployment) -> dict[int, int]:
    """Member index -> contract id, as the state records them."""
    return {int(m["index"]): int(m["contract_id"]) for m in members(deployment)}


def provider_log(deployment: Deployment) -> str:
    return deployment.provider_logs[-1]


def set_config(deployment: Deployment, **values: Any) -> None:
    deployment.config.update({f"{deployment.project}:{k}": str(v) for k, v in values.items()})
