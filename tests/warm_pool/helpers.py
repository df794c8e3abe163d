"""Programs and checks shared by the WarmPool tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from dumont_iac import WarmPool
from dumont_iac.control_plane.store.documents import WARM_POOL, WARM_POOL_STATE
from dumont_iac.sandbox.world import CONTROL_PLANE_USER
from dumont_iac.testing import Deployment
from dumont_iac.testing.market import Market

CONFIGURABLE = ("standbys", "label", "create_timeout_seconds")
NUMBERS = {"standbys", "create_timeout_seconds"}
RTX_3090 = {"image": "ubuntu:22.04", "gpu_models": ["RTX 3090"], "max_price_per_hour": 1.0,
            "volume_size_gb": 50}  # fmt: skip


def pool(**args: Any) -> Callable[[], None]:
    """A program of one warm pool named train; config keys (``set_config``) override ``args``."""

    def program() -> None:
        config = pulumi.Config()
        given = {key: config.get(key) for key in CONFIGURABLE}
        given = {k: int(v) if k in NUMBERS else v for k, v in given.items() if v is not None}
        train = WarmPool("train", **{**RTX_3090, **args, **given})
        pulumi.export("ssh", train.ssh_command)
        pulumi.export("contract", train.contract_id)

    return program


def outputs(stack: Deployment) -> dict[str, Any]:
    return stack.state.by_name("train").outputs


def set_config(stack: Deployment, **values: Any) -> None:
    stack.config.update({f"{stack.project}:{k}": str(v) for k, v in values.items()})


def relabel(market: Market, contract_id: int, label: str) -> None:
    market._ok(market.http.put(f"/api/v0/instances/{int(contract_id)}/", json={"label": label}))


def write_agent_state(world: Any, pool_id: str, **body: Any) -> None:
    """What the control plane's failover agent records about a pool, written as it would."""
    store = world.control_plane.app.state.store
    user_id = store.users.id_of(CONTROL_PLANE_USER)
    store.documents.put(user_id, WARM_POOL_STATE, body, key=pool_id)


def hold_lease(world: Any, pool_id: str) -> None:
    """Another replica holds the pool's lease for an hour: the world's own agents cannot act
    on the pool, so what a test writes as the agent's state stays."""
    state = world.control_plane.app.state
    user_id = state.store.users.id_of(CONTROL_PLANE_USER)
    assert state.leases.acquire(user_id, pool_id, "another-replica", 3_600 * 60) is not None


def registered_pools(world: Any) -> dict[str, Any]:
    """Every warm pool registered with the world's control plane."""
    store = world.control_plane.app.state.store
    return store.documents.list(store.users.id_of(CONTROL_PLANE_USER), WARM_POOL)


def take_free_gpus(market: Market, machine_id: int, leave: int = 0) -> None:
    """Another renter takes the machine's free GPUs, all but ``leave`` of them."""
    while True:
        offers = market.search({"machine_id": {"eq": machine_id}, "limit": 10})
        free = max((o["num_gpus"] for o in offers), default=0)
        fitting = [o for o in offers if o["num_gpus"] <= free - leave]
        if not fitting:
            return
        market.take(max(fitting, key=lambda o: o["num_gpus"])["id"])
