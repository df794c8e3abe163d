"""Warm-pool failover: start a stopped standby on the same machine and make it the GPU.

The standby shares the pool's local volume, so nothing is copied: the takeover is the time to
start a container whose image is already on the machine. A stopped standby holds no GPU
reservation, so another tenant may have taken its GPUs: then it cannot start, it is stopped
again (it must not grab GPUs later), and the next standby is tried. When the machine itself is
gone every standby went with it, and only the CPU standby can help.

After a promotion the pool provisions a replacement standby on the host when a GPU is free
there; when none is, the pool reads as degraded with the reason.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.clients.marketplace.models import Instance, VolumeAttachment
from dumont_iac.control_plane.failover import waiting
from dumont_iac.control_plane.failover.context import CannotFailOver, GpuContext
from dumont_iac.control_plane.failover.health import COMING_UP
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.store.documents import WARM_POOL, WARM_POOL_STATE
from dumont_iac.errors import DumontError
from dumont_iac.provider.labels import logical_id_of, rental_label, standby_id, standby_index
from dumont_iac.provider.renting import rent_cheapest

DEAD = frozenset({"offline", "exited", "unknown"})
# Control-plane seconds a started standby gets to take its GPUs before it counts as taken.
START_SECONDS = 20.0


def standbys(ctx: GpuContext) -> list[tuple[int, Instance]]:
    """``(index, contract)`` of the pool's standbys, lowest index first."""
    found = []
    for instance in ctx.market.instances():
        index = standby_index(ctx.gpu_id, logical_id_of(instance.label))
        if index is not None:
            found.append((index, instance))
    return sorted(found, key=lambda pair: pair[0])


def registration(ctx: GpuContext) -> dict[str, Any]:
    registered = ctx.doc(WARM_POOL)
    if registered is None:
        raise CannotFailOver("warm pool: none is registered for this GPU")
    return registered


def promote(ctx: GpuContext, failed: Instance | None, serve_seconds: float) -> dict[str, Any]:
    """Make a standby the logical GPU; ``failed`` (the dead primary) is destroyed."""
    pool = registration(ctx)
    alive = [(i, s) for i, s in standbys(ctx) if (s.actual_status or "") not in DEAD]
    if not alive:
        raise CannotFailOver(
            f"warm pool: no standby is left on host machine {pool.get('host_machine_id')} "
            "(the whole machine failed)"
        )
    ctx.merge(WARM_POOL_STATE, state="failover", error_message=None)
    taken: list[int] = []
    for index, standby in alive:
        ctx.market.start(standby.id)
        if _took_gpus(ctx, standby.id):
            promoted = index
            break
        ctx.market.stop(standby.id)  # waiting for GPUs it may get later would bill a second GPU
        taken.append(standby.id)
    else:
        raise CannotFailOver(
            f"warm pool: the GPUs of every standby ({', '.join(map(str, taken))}) were taken by "
            "another tenant while they were stopped"
        )
    if failed is not None:
        ctx.market.destroy(failed.id)
    label = GpuSpec.model_validate(pool["gpu"]).label
    ctx.market.set_label(standby.id, rental_label(ctx.gpu_id, label))
    ctx.record(
        "failover.promoted",
        f"standby {standby.id} promoted on machine {standby.machine_id}",
        contract_id=standby.id,
        replaced=failed.id if failed else None,
    )
    serving = waiting.until(ctx, serve_seconds, lambda: _settled(ctx, standby.id))
    if serving is None or serving.actual_status != "running":
        state = serving.actual_status if serving else "not running"
        raise CannotFailOver(f"warm pool: promoted standby {standby.id} is {state}, not running")
    ctx.record("failover.serving", f"contract {standby.id} serves the GPU", contract_id=standby.id)
    replacement = replenish(ctx, pool, promoted)
    return {"strategy": "warm_pool", "contract_id": standby.id, **replacement}


def replenish(ctx: GpuContext, pool: dict[str, Any], index: int) -> dict[str, Any]:
    """Rent a stopped standby ``index`` on the host again; or record why the pool is degraded."""
    spec = GpuSpec.model_validate(pool["gpu"])
    host, volume = pool.get("host_machine_id"), pool.get("volume_id")
    try:
        contract = rent_cheapest(
            ctx.market,
            spec.args(),
            rental_label(standby_id(ctx.gpu_id, index), spec.label),
            target_state="stopped",
            machine_id=host,
            volume=VolumeAttachment(
                volume_id=volume, mount_path=pool.get("volume_mount_path", "/workspace")
            )
            if volume
            else None,
        )
    except DumontError as exc:
        reason = f"no replacement standby on host machine {host}: {exc}"
        ctx.merge(WARM_POOL_STATE, state="degraded", error_message=reason)
        ctx.record("warm_pool.degraded", reason)
        return {"replacement_standby": None, "degraded": reason}
    ctx.merge(WARM_POOL_STATE, state="active", error_message=None)
    ctx.record("warm_pool.replenished", f"standby {index} rented again", contract_id=contract)
    return {"replacement_standby": contract}


def _took_gpus(ctx: GpuContext, contract_id: int) -> bool:
    def started() -> bool | None:
        instance = ctx.market.instance(contract_id)
        return True if instance and (instance.actual_status or "") in COMING_UP else None

    return bool(waiting.until(ctx, START_SECONDS, started))


def _settled(ctx: GpuContext, contract_id: int) -> Instance | None:
    """The contract once it runs, or once it died on the way."""
    instance = ctx.market.instance(contract_id)
    if instance is None or (instance.actual_status or "") in ("running", *DEAD):
        return instance
    return None
