"""The engine side of ``WarmPool``: a primary GPU and stopped standbys on one machine, sharing a
volume, registered with the control plane, which fails the pool over.

Identity: the resource id is the pool's logical id (``pool-<hex>``, derived like a
GpuInstance's). The primary carries ``dumont:<pool id>``, standby ``k`` carries
``dumont:<pool id>.standby-<k>``. A failover is the control plane's: it starts a standby,
relabels it with the primary's marker, destroys the dead primary and rents a replacement
standby. ``read`` follows the markers (the newest contract carrying the primary's marker is
the primary) and never changes the inputs, so after a failover a refresh shows the same pool
with a new ``contract_id`` and the next deploy has nothing to do. A dead primary is never a
reason to replace the pool: that is the control plane's job, and while it is at it (no
primary, its status ``failover`` or ``recovering``) the pool stays in the state.

On change: the machine arguments, ``volume_size_gb`` and ``volume_mount_path`` replace the pool
(old pool first); ``standbys`` adds or removes standbys in place while the machine has free GPUs
for them, and replaces the pool when it has not; ``label``, bids and the offer-choice rules are
changed in place and re-registered (they bind the control plane's replacement standbys).

The control plane is required: without one that answers, create fails before renting anything.
"""

from __future__ import annotations

import logging
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import HOURS_PER_MONTH, VolumeAttachment
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.models.responses import WarmPoolStatus
from dumont_iac.control_plane.models.warm_pools import WarmPoolRegistration
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import CreateFailed, DumontError, ProviderError
from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.models.warm_pool import WarmPoolArgs
from dumont_iac.provider import labels, pool_placement
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.provider.labels import rental_label, standby_id
from dumont_iac.provider.policy_state import held_by_policy
from dumont_iac.provider.pool_rentals import (
    PoolRentals,
    attached_volume_id,
    destroy_pool,
    pool_rentals,
    pool_volume_ids,
)
from dumont_iac.provider.rentals import destroy_all, rental_outputs
from dumont_iac.provider.renting import bid_for, offer_filter_for, price_rentals, settle
from dumont_iac.schema import fields_of, is_unknown

log = logging.getLogger("dumont_iac.provider")

FAILING_OVER = frozenset({"failover", "recovering"})
NOT_PROTECTED = frozenset({"degraded", "error"})
CONTROL_PLANE_NEEDED = (
    "a warm pool needs the control plane, which promotes a standby when the primary fails: "
    "point dumont:apiUrl (or DUMONT_API_URL) at it, with its key in dumont:apiKey (or "
    "DUMONT_API_KEY)"
)


def pool_id_for(args: WarmPoolArgs) -> str:
    return labels.logical_id_for(args, labels.POOL_PREFIX)


def registration(args: WarmPoolArgs, machine_id: int, volume_id: int) -> WarmPoolRegistration:
    """What the control plane keeps of the pool; ``gpu`` holds the arguments a GpuInstance
    would take, which every replacement standby must satisfy."""
    wanted = fields_of(GpuInstanceArgs).arguments
    arguments = {k: v for k, v in args.model_dump(mode="json").items() if k in wanted}
    return WarmPoolRegistration.model_validate(
        {
            "host_machine_id": machine_id,
            "volume_id": volume_id,
            "standbys": args.standbys,
            "volume_mount_path": args.volume_mount_path,
            "gpu": GpuSpec.model_validate({"arguments": arguments, "label": args.label}),
        }
    )


class WarmPoolProvider(SchemaProvider[WarmPoolArgs]):
    schema = WarmPoolArgs

    @classmethod
    def cost(cls, args: WarmPoolArgs, market: MarketplaceClient) -> ResourceCost:
        """The primary as a GpuInstance is priced, plus what the stopped standbys' disks and
        the shared volume bill (storage only), at the priced offer's storage rate."""
        primary = price_rentals(args, market, count=1)
        offers = market.search_offers(offer_filter_for(args))
        rate = (offers[0].storage_cost or 0.0) if offers else 0.0
        storage = (args.standbys * args.disk_gb + args.volume_size_gb) * rate / HOURS_PER_MONTH
        basis = (
            f"{primary.basis}; {args.standbys} stopped standby disk(s) of {args.disk_gb:g} GB "
            f"and a {args.volume_size_gb:g} GB volume at {rate:g} $/GB/month"
        )

        def plus(value: float | None) -> float | None:
            return None if value is None else round(value + storage, 4)

        return ResourceCost(
            plus(primary.expected_per_hour),
            plus(primary.worst_per_hour),
            basis,
            primary.gpus,  # the standbys' GPUs are stopped: only the primary's run at once
        )

    # --- diff ------------------------------------------------------------------------------

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """As the schema says; more standbys than the machine has free GPUs for replaces."""
        planned = super().diff(id_, olds, news)
        old, new, machine = olds.get("standbys"), news.get("standbys"), olds.get("machine_id")
        if planned.replaces or is_unknown(new):
            return planned
        if not isinstance(machine, int | float) or not isinstance(old, int | float):
            return planned
        if not isinstance(new, int | float) or new <= old:
            return planned
        try:
            args = self.args(news)
            room = pool_placement.has_room(
                MarketplaceClient(), args, int(machine), int(new) * args.gpu_count
            )
        except DumontError:
            return planned  # the update checks again, and says why if there is no room
        if room:
            return planned
        return DiffResult(
            changes=True,
            replaces=["standbys"],
            stables=[],
            delete_before_replace=WarmPoolArgs.delete_before_replace,
        )

    # --- create ----------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        if not args.logical_name:
            raise ProviderError(
                "logical_name is not set: declare pools with dumont_iac.WarmPool, which sets "
                "it to project/stack/resource, or give a logical_name unique to this pool"
            )
        pool_id = pool_id_for(args)
        control_plane = _reachable_control_plane(args, pool_id)
        client = MarketplaceClient()
        # A deploy interrupted mid-placement leaves rentals carrying the markers, or a
        # volume: they are removed, and the pool placed from scratch.
        left = pool_rentals(client.instances(), pool_id).every
        if left or pool_volume_ids(client, pool_id):
            log.info("warm pool %s: removing what an earlier deploy left", pool_id)
            destroy_pool(client, pool_id)
        try:
            placement = pool_placement.place(client, args, pool_id)
        except DumontError as exc:
            raise CreateFailed(
                f"WarmPool {args.logical_name} ({pool_id}) with standbys={args.standbys}: "
                f"{exc}; nothing was left billing"
            ) from exc
        assert placement.primary is not None and placement.volume_id is not None
        try:
            control_plane.put_warm_pool(
                pool_id, registration(args, placement.machine_id, placement.volume_id)
            )
        except DumontError as exc:
            destroy_pool(client, pool_id, placement.contracts, [placement.volume_id])
            raise CreateFailed(
                f"WarmPool {args.logical_name} ({pool_id}): registering it with the control "
                f"plane failed ({exc}); its GPUs and volume were removed, so nothing is left "
                "billing"
            ) from exc
        held = pool_rentals(client.instances(), pool_id)
        status = _status(control_plane, pool_id)
        return CreateResult(pool_id, self._outs(args, pool_id, held, status, props))

    # --- read ------------------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        # Cached: every resource of a refresh shares one listing.
        held = pool_rentals(MarketplaceClient().instances(cached=True, reader=id_), id_)
        status = _status(_control_plane_or_error(), id_)
        failing_over = isinstance(status, WarmPoolStatus) and status.state in FAILING_OVER
        if held.primary is None and not held.every and not failing_over:
            # Moving through its CPU standby, or asleep: still the stack's GPU.
            if held_by_policy(id_) is None:
                return self.gone()
        args = self.args(props)
        inputs = {k: v for k, v in props.items() if k in fields_of(WarmPoolArgs).arguments}
        return ReadResult(id_, self._outs(args, id_, held, status, props), inputs)

    # --- update ----------------------------------------------------------------------------

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = self.args(olds), self.args(news)
        control_plane = _reachable_control_plane(new, id_)
        client = MarketplaceClient()
        held = pool_rentals(client.instances(), id_)
        if held.primary is None or held.primary.machine_id is None:
            raise ProviderError(
                f"WarmPool {new.logical_name} ({id_}): no contract carries the primary's "
                "marker (the control plane may be failing the pool over); run `pulumi "
                "refresh`, then deploy again once the pool has a primary."
            )
        machine_id = held.primary.machine_id
        for marker, instance in held.marked(id_):
            if instance.label != rental_label(marker, new.label):
                client.set_label(instance.id, rental_label(marker, new.label))
        bids = (old.bid_price, old.bid_headroom, old.max_price_per_hour)
        if new.interruptible and bids != (new.bid_price, new.bid_headroom, new.max_price_per_hour):
            for _, instance in held.marked(id_):
                if instance.is_interruptible:
                    client.change_bid(instance.id, bid_for(new, instance.min_bid or 0.0))
        leaving = [i.id for k, i in held.standbys.items() if k > new.standbys]
        destroy_all(client, leaving, f"warm pool {id_} (standbys beyond {new.standbys})")
        volume_id = attached_volume_id(held.primary) or _int(olds.get("volume_id"))
        missing = [k for k in range(1, new.standbys + 1) if k not in held.standbys]
        if missing:
            _add_standbys(client, new, id_, machine_id, volume_id, missing)
        if volume_id is not None:
            control_plane.put_warm_pool(id_, registration(new, machine_id, volume_id))
        held = pool_rentals(client.instances(), id_)
        return UpdateResult(self._outs(new, id_, held, _status(control_plane, id_), olds))

    # --- delete ----------------------------------------------------------------------------

    def delete(self, id_: str, props: dict) -> None:
        """Forget the pool on the control plane first (so it does not fail over a primary
        being destroyed), then destroy every contract carrying its markers and, once they are
        gone, its volume. Safe to repeat."""
        forgotten: DumontError | None = None
        try:
            ControlPlaneClient().delete_warm_pool(id_)
        except DumontError as exc:
            forgotten = exc
        standbys = props.get("standby_contract_ids") or []
        recorded = [_int(props.get("contract_id")), *map(_int, standbys)]
        client = MarketplaceClient()
        listed = {i.id: i for i in client.instances()}
        # A recorded contract whose label lost its marker is destroyed only if nothing else
        # claims it.
        unmarked = [
            c for c in recorded if c in listed and labels.logical_id_of(listed[c].label) is None
        ]
        volumes = [v for v in (_int(props.get("volume_id")),) if v is not None]
        destroy_pool(client, id_, unmarked, volumes)
        if forgotten is not None:
            raise ProviderError(
                f"WarmPool {id_}: its GPUs and volume were destroyed, but the control plane "
                f"could not be told to forget the pool ({forgotten}); {CONTROL_PLANE_NEEDED}, "
                "then destroy again."
            )

    # --- outputs ---------------------------------------------------------------------------

    def _outs(
        self,
        args: WarmPoolArgs,
        pool_id: str,
        held: PoolRentals,
        status: WarmPoolStatus | str | None,
        props: dict,
    ) -> dict:
        primary = held.primary
        computed: dict[str, Any] = {"logical_id": pool_id}
        if primary is not None:
            computed.update(rental_outputs(pool_id, primary))
        else:  # no primary (a failover in progress?): the machine and volume stay as they were
            computed.update(
                {k: props.get(k) for k in ("machine_id", "gpu_name", "num_gpus", "region")}
            )
            failing_over = isinstance(status, WarmPoolStatus) and status.state in FAILING_OVER
            computed["status"] = "failover" if failing_over else "missing"
        machine_id = computed.get("machine_id")
        ready = [
            i for i in held.standbys.values()
            if i.machine_id == machine_id and i.actual_status == "stopped"
        ]  # fmt: skip
        volume = attached_volume_id(primary) if primary is not None else None
        computed["volume_id"] = volume or _int(props.get("volume_id"))
        computed["standby_contract_ids"] = [held.standbys[k].id for k in sorted(held.standbys)]
        computed["standbys_ready"] = len(ready)
        computed.update(_control_plane_view(status, props, primary is None))
        reasons = []
        if isinstance(status, str):
            reasons.append(f"the control plane did not answer ({status})")
        elif status is not None and status.state in NOT_PROTECTED:
            reasons.append(status.error_message or f"the control plane reports {status.state}")
        if primary is None:
            reasons.append("no contract carries the primary's marker")
        if len(ready) < args.standbys:
            reasons.append(
                f"{len(ready)} of {args.standbys} standbys are stopped on machine {machine_id}"
            )
        computed["degraded_reason"] = "; ".join(reasons) or None
        return self.outs(args, **computed)


# --- helpers --------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _reachable_control_plane(args: WarmPoolArgs, pool_id: str) -> ControlPlaneClient:
    """The control plane, once it has answered an authenticated call; else a ProviderError
    naming the settings, before anything is rented."""
    try:
        client = ControlPlaneClient()
        client.warm_pool(pool_id)
    except DumontError as exc:
        raise ProviderError(
            f"WarmPool {args.logical_name} ({pool_id}): {CONTROL_PLANE_NEEDED}. {exc} "
            "Nothing was rented."
        ) from exc
    return client


def _control_plane_or_error() -> ControlPlaneClient | str:
    try:
        return ControlPlaneClient()
    except DumontError as exc:
        return str(exc)


def _status(control_plane: ControlPlaneClient | str, pool_id: str) -> WarmPoolStatus | str:
    """The control plane's status of the pool, or why it could not be had (a refresh goes on
    without it)."""
    if isinstance(control_plane, str):
        return control_plane
    try:
        return control_plane.warm_pool(pool_id)
    except DumontError as exc:
        return str(exc)


def _control_plane_view(
    status: WarmPoolStatus | str | None, props: dict, no_primary: bool
) -> dict[str, Any]:
    if not isinstance(status, WarmPoolStatus):  # unknown now: what was last seen stays
        return {k: props.get(k) for k in ("state", "failover_count", "last_failover_at")}
    state = status.state
    if no_primary and state in FAILING_OVER:
        state = "failover"
    return {
        "state": state,
        "failover_count": status.failover_count,
        "last_failover_at": status.last_failover_at,
    }


def _add_standbys(
    client: MarketplaceClient,
    args: WarmPoolArgs,
    pool_id: str,
    machine_id: int,
    volume_id: int | None,
    indices: list[int],
) -> None:
    """Rent the missing standbys on the pool's machine, stopped, with its volume; all or none."""
    if volume_id is None:
        raise ProviderError(f"WarmPool {pool_id}: the primary shows no volume for standbys")
    if not pool_placement.has_room(client, args, machine_id, args.standbys * args.gpu_count):
        raise ProviderError(
            f"WarmPool {args.logical_name} ({pool_id}): machine {machine_id} has no free GPUs "
            f"for standbys={args.standbys} any more (gpu_count {args.gpu_count} each); nothing "
            "was changed. Deploy again to place the pool anew on a machine with room "
            "(`pulumi up --replace` on the pool), or keep fewer standbys."
        )
    attach = VolumeAttachment(volume_id=volume_id, mount_path=args.volume_mount_path)
    rented: list[int] = []
    try:
        for index in indices:
            marker = standby_id(pool_id, index)
            contract = pool_placement.rent_on(client, args, machine_id, marker, "stopped", attach)
            if contract is None:
                raise ProviderError(
                    f"machine {machine_id} offered no {args.gpu_count} GPU(s) for standby {index}"
                )
            rented.append(contract)
            settle(client, contract, "stopped", args.create_timeout_seconds, "update")
    except DumontError as exc:
        destroy_all(client, rented, f"warm pool {pool_id} (standbys being added)")
        raise ProviderError(
            f"WarmPool {args.logical_name} ({pool_id}): adding standbys failed ({exc}); those "
            "it rented were destroyed and the pool is as before"
        ) from exc
