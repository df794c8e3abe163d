"""Renting a GPU for a resource: the cheapest offer that satisfies it, and the wait for it to run.

Offers are searched once and the answer shared by every resource of the deployment (the client
caches identical searches briefly). Concurrent creates in one provider process would otherwise
all pick the same cheapest offer and all but one would lose a rent slot (4.5 s each on the
marketplace) to ``no_such_ask``: an offer is therefore claimed in-process before it is rented,
and the next create takes the next offer. A fleet renting many members at once passes a
``gate``: an offer it refuses (a machine already holding a member) is skipped.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Literal, Protocol

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import (
    HOURS_PER_MONTH,
    Instance,
    Offer,
    RentRequest,
    VolumeAttachment,
)
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import (
    DumontError,
    InstanceNotReady,
    NoMatchingOffer,
    NoResponse,
    OfferUnavailable,
    RateLimited,
    ServerError,
    Unreachable,
)
from dumont_iac.models.gpu_constraints import NEVER_RUNS_AGAIN, GpuConstraints
from dumont_iac.provider.waiter import wait_for

log = logging.getLogger("dumont_iac.provider")

MAX_OFFERS_TRIED = 5  # offers found taken between search and rent before giving up
SEARCH_LIMIT = 100  # enough cheap candidates for a fleet sharing one search
# Statuses the marketplace never brings back to running (reference: instance lifecycle).
TERMINAL = NEVER_RUNS_AGAIN

_claims_lock = threading.Lock()
_claimed: set[tuple[str, int]] = set()


class OfferGate(Protocol):
    """Decides which offers one renter of many may take (thread-safe)."""

    def admit(self, offer: Offer) -> bool:
        """Reserve what the offer would use; False skips the offer."""

    def release(self, offer: Offer) -> None:
        """Undo ``admit`` for an offer that was not rented after all."""


def offer_filter_for(args: GpuConstraints) -> OfferFilter:
    return OfferFilter(
        gpu_names=tuple(args.gpu_models),
        num_gpus=args.gpu_count if args.gpu_count_match == "exactly" else None,
        min_num_gpus=args.gpu_count if args.gpu_count_match == "at_least" else None,
        choice=args.gpu_choice,
        min_vram_gb=args.min_vram_gb,
        max_price_per_hour=args.max_price_per_hour,
        interruptible=args.interruptible,
        regions=tuple(args.regions),
        min_reliability=args.min_reliability,
        verified_only=args.verified_only,
        min_cuda=args.min_cuda,
        min_disk_gb=args.disk_gb,
        disk_gb=args.disk_gb,
        order="price",
        limit=SEARCH_LIMIT,
    )


def rent_cheapest(
    client: MarketplaceClient,
    args: GpuConstraints,
    label: str,
    *,
    target_state: Literal["running", "stopped"] = "running",
    gate: OfferGate | None = None,
    machine_id: int | None = None,
    volume: VolumeAttachment | None = None,
) -> int:
    """Rent the first satisfying offer in the arguments' order (the cheapest of the most
    preferred GPU model that has one, or the cheapest of all), under ``label``; returns the
    contract id. ``machine_id`` keeps to one machine (a warm pool's host), and ``volume``
    attaches a local volume (which lives on that machine).

    A taken offer moves on to the next one. When the shared (cached) search runs out of
    candidates, or ``MAX_OFFERS_TRIED`` of its offers were taken (a busy market: the listing is
    stale), the marketplace is searched again once, with as many tries of its own."""
    wanted = offer_filter_for(args)
    if machine_id is not None:
        wanted = wanted.model_copy(update={"machine_id": machine_id})
    taken: list[int] = []
    found = 0
    for fresh in (False, True):
        offers = client.search_offers(wanted, cached=not fresh)
        found = max(found, len(offers))
        taken_here = 0
        for offer in offers:
            if offer.id in taken or not _claim(client.base_url, offer.id):
                continue
            if gate is not None and not gate.admit(offer):
                _release(client.base_url, offer.id)
                continue
            try:
                request = rent_request(args, offer, target_state).model_copy(
                    update={"volume": volume}
                )
                rental = client.rent(offer.id, request, label=label)
            except BaseException as exc:
                if gate is not None:
                    gate.release(offer)
                if not isinstance(exc, OfferUnavailable):
                    raise
                log.info("%s: offer %d was taken before it could be rented", label, offer.id)
                taken.append(offer.id)
                taken_here += 1
                if taken_here < MAX_OFFERS_TRIED:
                    continue
                if fresh:
                    raise NoMatchingOffer(no_offer_sentence(client, wanted, found, taken)) from None
                break  # the listing is stale: search afresh
            finally:
                _release(client.base_url, offer.id)
            log.info(
                "%s: rented offer %d (%s x%d, %.4f $/h) as contract %d%s",
                label, offer.id, offer.gpu_name, offer.num_gpus, wanted.price(offer),
                rental.instance_id, " (recovered by label)" if rental.recovered else "",
            )  # fmt: skip
            return rental.instance_id
    raise NoMatchingOffer(no_offer_sentence(client, wanted, found, taken))


def price_rentals(
    args: GpuConstraints, market: MarketplaceClient, *, count: int, one_per_machine: bool = False
) -> ResourceCost:
    """What ``count`` rentals under these constraints would cost now: the offers a create would
    take first (one per machine when asked), each at the bid it would place; and the price cap
    times ``count`` as the worst case (None: no cap, no bound)."""
    wanted = offer_filter_for(args)
    worst = None if args.max_price_per_hour is None else args.max_price_per_hour * count
    chosen: list[Offer] = []
    machines: set[int | None] = set()
    for offer in market.search_offers(wanted):
        if one_per_machine and offer.machine_id in machines:
            continue
        machines.add(offer.machine_id)
        chosen.append(offer)
        if len(chosen) == count:
            break
    gpus = args.gpu_count * count
    if len(chosen) < count:
        return ResourceCost(None, worst, f"{len(chosen)} of {count} offers fit now", gpus)
    hourly = sum(_rental_price(args, wanted, offer) for offer in chosen)
    first = chosen[0]
    where = f" in {first.geolocation}" if first.geolocation else ""
    what = f"offer {first.id}: {first.gpu_name} x{first.num_gpus}{where}"
    basis = what if count == 1 else f"{count} offers from {len(machines)} machines, first {what}"
    return ResourceCost(round(hourly, 4), worst, basis, gpus)


def _rental_price(args: GpuConstraints, wanted: OfferFilter, offer: Offer) -> float:
    """What the rental of ``offer`` bills per hour: the bid it would place, or the on-demand
    price, plus its disk."""
    if not args.interruptible:
        return wanted.price(offer)
    storage = args.disk_gb * (offer.storage_cost or 0.0) / HOURS_PER_MONTH
    return bid_for(args, offer.min_bid or 0.0, storage) + storage


def bid_for(args: GpuConstraints, min_bid: float, storage_per_hour: float = 0.0) -> float:
    """The bid for an interruptible rental: the fixed ``bid_price``, or the minimum bid plus
    ``bid_headroom``, capped so that GPUs plus disk stay within ``max_price_per_hour``."""
    if args.bid_price is not None:
        return args.bid_price
    bid = min_bid * (1 + args.bid_headroom)
    if args.max_price_per_hour is not None:
        bid = min(bid, args.max_price_per_hour - storage_per_hour)
    # Rounded up to 1/100 cent (a bid rounded below the minimum would be refused), after
    # dropping float noise (0.2 * 1.1 is 0.22000000000000003).
    return math.ceil(round(max(bid, min_bid) * 10_000, 6)) / 10_000


def settle(
    client: MarketplaceClient,
    contract_id: int,
    desired: Literal["running", "stopped"],
    timeout: float,
    operation: str,
) -> Instance:
    """Wait until the rental is in the desired state; fail fast on states it never leaves.

    The wait never outlives ``timeout``: every call made while waiting is bounded by what is
    left of it, so a marketplace that stops answering costs the timeout, not a read timeout per
    poll. A poll that gets no answer is not the end (the next may): the wait goes on, and if
    it runs out, the error says the marketplace did not answer rather than that it loaded.
    """
    deadline = time.monotonic() + timeout
    latest: list[Instance | None] = [None]
    unanswered: list[DumontError] = []

    def arrived() -> bool:
        try:
            instance = client.instance(contract_id, deadline=deadline)
        except (NoResponse, Unreachable, ServerError, RateLimited) as exc:
            unanswered[:] = [exc]
            return False
        unanswered.clear()
        latest[0] = instance
        return has_arrived(instance, contract_id, desired, operation)

    try:
        wait_for(arrived, timeout=timeout, what=f"contract {contract_id} to be {desired}")
    except TimeoutError as exc:
        if unanswered:
            last = latest[0]
            status = (last.actual_status if last is not None else None) or "provisioning"
            raise InstanceNotReady(
                f"the marketplace did not answer about contract {contract_id} within "
                f"{timeout:g} s (create_timeout_seconds): {str(unanswered[0]).rstrip('.')}. "
                "Deploy again once it answers, or raise create_timeout_seconds",
                status,
            ) from exc
        raise not_ready_in_time(latest[0], contract_id, desired, timeout) from exc
    assert latest[0] is not None
    return latest[0]


def has_arrived(
    instance: Instance | None,
    contract_id: int,
    desired: Literal["running", "stopped"],
    operation: str,
) -> bool:
    """Whether a rental (as just read; None: not found) is in the desired state; raises
    InstanceNotReady for a rental that is gone or in a state it never leaves."""
    if instance is None:
        raise InstanceNotReady(
            f"contract {contract_id} was destroyed (outside this {operation}) before it "
            f"was {desired}",
            "destroyed",
        )
    status = instance.actual_status or "provisioning"
    if status in TERMINAL:
        raise InstanceNotReady(
            f"contract {contract_id} went {status!r} "
            f"({instance.status_msg or 'no message'}) and will not run",
            status,
        )
    if desired == "stopped":
        return status == "stopped"
    return instance.is_ready


def not_ready_in_time(
    instance: Instance | None, contract_id: int, desired: str, timeout: float
) -> InstanceNotReady:
    """The error for a rental still not in the desired state when its wait ran out."""
    status = (instance.actual_status if instance is not None else None) or "provisioning"
    message = f" ({instance.status_msg})" if instance is not None and instance.status_msg else ""
    return InstanceNotReady(
        f"contract {contract_id} was still {status!r}{message} after {timeout:g} s "
        f"(create_timeout_seconds), not {desired}",
        status,
    )


def rent_request(
    args: GpuConstraints, offer: Offer, target_state: Literal["running", "stopped"]
) -> RentRequest:
    storage = args.disk_gb * (offer.storage_cost or 0.0) / HOURS_PER_MONTH
    return RentRequest(
        image=args.image,
        disk_gb=args.disk_gb,
        env=args.env,
        ports=tuple(args.ports),
        onstart=args.onstart,
        bid_price=bid_for(args, offer.min_bid or 0.0, storage) if args.interruptible else None,
        target_state=target_state,
    )


def _claim(base_url: str, offer_id: int) -> bool:
    with _claims_lock:
        if (base_url, offer_id) in _claimed:
            return False
        _claimed.add((base_url, offer_id))
        return True


def _release(base_url: str, offer_id: int) -> None:
    with _claims_lock:
        _claimed.discard((base_url, offer_id))


# The constraints a GpuInstance sets on a search, by the filter's field and the user's argument.
_ARGUMENT_OF = {
    "max_price_per_hour": "max_price_per_hour",
    "gpu_names": "gpu_models",
    "regions": "regions",
    "min_vram_gb": "min_vram_gb",
    "num_gpus": "gpu_count",
    "min_num_gpus": "gpu_count",
    "min_reliability": "min_reliability",
    "min_cuda": "min_cuda",
    "verified_only": "verified_only",
    "min_disk_gb": "disk_gb",
}
_RELAXED = {"gpu_names": (), "regions": (), "verified_only": False}


def no_offer_sentence(
    client: MarketplaceClient, wanted: OfferFilter, found: int, taken: list[int]
) -> str:
    """Why nothing could be rented, in the user's argument names: the one constraint that
    excludes every offer, with the figure that would admit one."""
    if taken:
        return (
            f"every matching offer tried was taken before it could be rented (offers {taken}); "
            "deploy again, or widen the constraints"
        )
    given = [f for f in _ARGUMENT_OF if getattr(wanted, f) != OfferFilter.model_fields[f].default]
    for field in given:
        relaxed = wanted.model_copy(update={field: _RELAXED.get(field), "limit": 1})
        try:
            admitted = client.search_offers(relaxed)
        except DumontError:
            break  # the explanation is a courtesy: never let it hide the real failure
        if admitted:
            return (
                f"no offer satisfies these arguments ({found} found): "
                f"{_admits(wanted, field, admitted[0])}"
            )
    settings = ", ".join(f"{_ARGUMENT_OF[f]}={getattr(wanted, f)!r}" for f in given) or "none"
    return (
        f"no offer satisfies these arguments ({found} found), and no single one of them is the "
        f"cause (set: {settings}); widen several, or try again when the market has changed"
    )


def _admits(wanted: OfferFilter, field: str, offer: Offer) -> str:
    """The sentence for the constraint whose relaxing admits ``offer``."""
    argument, value = _ARGUMENT_OF[field], getattr(wanted, field)
    kind = " interruptible" if wanted.interruptible else ""
    what = f"{offer.gpu_name} x{offer.num_gpus}"
    if field == "max_price_per_hour":
        where = f" in {', '.join(wanted.regions)}" if wanted.regions else ""
        return (
            f"the cheapest{kind} {what}{where} costs ${wanted.price(offer):.4f}/h; "
            f"{argument} is {value:g}: raise max_price_per_hour to at least that"
        )
    if field == "min_reliability":
        return (
            f"the best matching host's reliability is below {argument}={value:g} "
            f"(e.g. {what} at {offer.reliability_score or 0:.3f}): lower min_reliability"
        )
    return (
        f"{argument}={list(value) if isinstance(value, tuple) else value!r} excludes every offer; "
        f"without it, {what} in {offer.geolocation or 'an unknown place'} costs "
        f"${wanted.price(offer):.4f}/h: change {argument}"
    )
