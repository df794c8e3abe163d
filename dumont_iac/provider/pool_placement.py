"""Placing a warm pool: a primary and N stopped standbys on one machine, sharing one volume.

The marketplace has no "rent these together" call, so placement goes step by step on the
cheapest machine that has room for every GPU of the pool:

1. machines with at least (1 + standbys) x gpu_count free GPUs that satisfy the constraints
   (a search for offers of that many GPUs), ordered by their cheapest offer of gpu_count GPUs;
2. the volume, from that machine's volume offer;
3. the primary, from an offer on that machine, with the volume attached; then each standby
   the same way, rented stopped (only storage bills);
4. the primary waited for until it runs, the standbys until they are stopped.

When another tenant takes the machine's GPUs between two steps, what was rented and the volume
are removed and the next machine is tried (at most ``MAX_HOSTS_TRIED``). Any other failure
removes everything too before it surfaces: a failed placement leaves nothing billing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Offer, VolumeAttachment
from dumont_iac.clients.marketplace.offer_filter import MAX_LIMIT, OfferFilter
from dumont_iac.errors import DumontError, NoMatchingOffer, ProviderError
from dumont_iac.models.warm_pool import WarmPoolArgs
from dumont_iac.provider.labels import rental_label, standby_id
from dumont_iac.provider.pool_rentals import destroy_pool, rollback_sentence, volume_name
from dumont_iac.provider.renting import (
    no_offer_sentence,
    offer_filter_for,
    rent_cheapest,
    settle,
)

log = logging.getLogger("dumont_iac.provider")

MAX_HOSTS_TRIED = 3
HOST_SEARCH_LIMIT = 500  # machines with room are rarer than offers: look further down the list


@dataclass
class Placement:
    """What a placement holds on one machine (filled in as it goes)."""

    machine_id: int
    volume_id: int | None = None
    primary: int | None = None
    standbys: dict[int, int] = field(default_factory=dict)

    @property
    def contracts(self) -> list[int]:
        held = [self.primary] if self.primary is not None else []
        return [*held, *self.standbys.values()]


def gpus_needed(args: WarmPoolArgs, standbys: int | None = None) -> int:
    return (1 + (args.standbys if standbys is None else standbys)) * args.gpu_count


def slice_filter(args: WarmPoolArgs, machine_id: int | None = None) -> OfferFilter:
    """Offers of gpu_count GPUs satisfying every constraint, price cap included."""
    return offer_filter_for(args).model_copy(update={"machine_id": machine_id})


def room_filter(args: WarmPoolArgs, gpus: int, machine_id: int | None = None) -> OfferFilter:
    """Offers of at least ``gpus`` GPUs of the constraints' kind, whatever they cost together
    (the price cap is per rental, checked on each slice rented)."""
    return offer_filter_for(args).model_copy(
        update={
            "num_gpus": None,
            "min_num_gpus": gpus,
            "max_price_per_hour": None,
            "machine_id": machine_id,
            "limit": HOST_SEARCH_LIMIT,
        }
    )


def has_room(client: MarketplaceClient, args: WarmPoolArgs, machine_id: int, gpus: int) -> bool:
    """Whether the machine offers ``gpus`` free GPUs of the constraints' kind now."""
    return bool(client.search_offers(room_filter(args, gpus, machine_id), cached=False))


def hosts(client: MarketplaceClient, args: WarmPoolArgs) -> list[Offer]:
    """The cheapest offer of gpu_count GPUs on each machine with room for the whole pool,
    cheapest first; NoMatchingOffer saying which constraint is in the way when there is none."""
    needed = gpus_needed(args)
    with_room = client.search_offers(room_filter(args, needed), cached=False)
    roomy = {offer.machine_id for offer in with_room}
    wanted = slice_filter(args).model_copy(update={"limit": MAX_LIMIT})
    slices = client.search_offers(wanted, cached=False)
    chosen: dict[int | None, Offer] = {}
    for offer in slices:
        if offer.machine_id in roomy:
            chosen.setdefault(offer.machine_id, offer)
    if chosen:
        return list(chosen.values())
    if not slices:
        raise NoMatchingOffer(no_offer_sentence(client, wanted, 0, []))
    raise NoMatchingOffer(
        f"no machine has {needed} free GPUs for this pool (gpu_count {args.gpu_count} for the "
        f"primary and for each of its standbys={args.standbys}) among those satisfying the "
        f"constraints ({len(slices)} offers of {args.gpu_count} GPU(s) fit, on machines with "
        f"{len(with_room)} larger offers of any price); lower standbys or gpu_count, or widen "
        "gpu_models, regions or min_reliability"
    )


def place(client: MarketplaceClient, args: WarmPoolArgs, pool_id: str) -> Placement:
    """Place the pool on the first machine that takes it (see the module's steps)."""
    return place_on_first(client, args, pool_id, hosts(client, args))


def place_on_first(
    client: MarketplaceClient, args: WarmPoolArgs, pool_id: str, candidates: list[Offer]
) -> Placement:
    """Try the candidate machines in order; each failed try is undone before the next."""
    reasons: list[str] = []
    for offer in candidates[:MAX_HOSTS_TRIED]:
        assert offer.machine_id is not None
        placement = Placement(offer.machine_id)
        try:
            reason = _place_on(client, args, pool_id, placement)
        except Exception as exc:
            _undo(client, pool_id, placement, exc)
            raise
        if reason is None:
            return placement
        log.info("warm pool %s: machine %d lost room (%s); trying the next machine",
                 pool_id, placement.machine_id, reason)  # fmt: skip
        _undo(client, pool_id, placement, None)
        reasons.append(f"machine {placement.machine_id}: {reason}")
    raise NoMatchingOffer(
        f"every machine tried lost its free GPUs to other renters during placement "
        f"({'; '.join(reasons)}); what was rented there was removed. Deploy again, or lower "
        "standbys to need fewer free GPUs on one machine"
    )


def _place_on(
    client: MarketplaceClient, args: WarmPoolArgs, pool_id: str, placement: Placement
) -> str | None:
    """Place the pool on ``placement.machine_id``; a reason when the machine has no room."""
    machine_id = placement.machine_id
    volume_offers = client.search_volume_offers(
        machine_id=machine_id, min_size_gb=args.volume_size_gb, limit=1
    )
    if not volume_offers:
        return f"no room for a {args.volume_size_gb:g} GB volume"
    created = client.create_volume(
        volume_offers[0].id, args.volume_size_gb, name=volume_name(pool_id)
    )
    placement.volume_id = created.volume_id
    if placement.volume_id is None:
        raise ProviderError(
            f"the marketplace created volume {created.name!r} without saying its id"
        )
    log.info("warm pool %s: volume %d (%g GB) on machine %d%s",
             pool_id, placement.volume_id, args.volume_size_gb, machine_id,
             " (recovered by name)" if created.recovered else "")  # fmt: skip
    attach = VolumeAttachment(volume_id=placement.volume_id, mount_path=args.volume_mount_path)
    placement.primary = rent_on(client, args, machine_id, pool_id, "running", attach)
    if placement.primary is None:
        return "its GPUs were taken before the primary was rented"
    for index in range(1, args.standbys + 1):
        marker = standby_id(pool_id, index)
        contract = rent_on(client, args, machine_id, marker, "stopped", attach)
        if contract is None:
            return f"its GPUs were taken before standby {index} was rented"
        placement.standbys[index] = contract
    settle(client, placement.primary, "running", args.create_timeout_seconds, "create")
    for contract in placement.standbys.values():
        settle(client, contract, "stopped", args.create_timeout_seconds, "create")
    # Stopped standbys hold no GPUs: the machine must still offer one primary's worth of them.
    if not has_room(client, args, machine_id, args.gpu_count):
        return "another renter took its free GPUs, so no standby could start"
    return None


def rent_on(
    client: MarketplaceClient,
    args: WarmPoolArgs,
    machine_id: int,
    marker: str,
    state: Literal["running", "stopped"],
    attach: VolumeAttachment,
) -> int | None:
    """Rent gpu_count GPUs on the machine under ``marker``; None when it has no offer left."""
    try:
        return rent_cheapest(client, args, rental_label(marker, args.label), target_state=state,
                             machine_id=machine_id, volume=attach)  # fmt: skip
    except NoMatchingOffer:
        return None


def _undo(
    client: MarketplaceClient, pool_id: str, placement: Placement, error: Exception | None
) -> None:
    volumes = [placement.volume_id] if placement.volume_id is not None else []
    try:
        destroy_pool(client, pool_id, placement.contracts, volumes)
    except (DumontError, TimeoutError) as undo:
        raise rollback_sentence(error or ProviderError("placement failed"), pool_id, undo) from (
            error or undo
        )
