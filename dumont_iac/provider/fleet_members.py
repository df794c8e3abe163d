"""Bringing a fleet's members up in parallel: rent every missing member at once (the client's
shared pacing spaces the rents at the marketplace's gap), and wait for all of them with one
listing per poll instead of one status call per member.

Each member is rented with ``renting.rent_cheapest`` under its own label, so a lost rent answer
is recovered by label and never rented twice, and a taken offer moves on to the next. A member
that cannot be rented, or does not run in time, is reported with the reason; whatever was
rented for it is destroyed before ``bring_up`` returns. If ``bring_up`` itself fails, the
contracts it rented are in ``Outcome.rented`` for the caller to destroy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance, Offer
from dumont_iac.config import resolve_pacing_scale
from dumont_iac.errors import DumontError, InstanceNotReady
from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.provider.labels import logical_id_of, member_id, member_index, rental_label
from dumont_iac.provider.rentals import destroy_all
from dumont_iac.provider.renting import (
    has_arrived,
    not_ready_in_time,
    offer_filter_for,
    rent_cheapest,
)

log = logging.getLogger("dumont_iac.provider")

MAX_PARALLEL_RENTS = 32  # threads only wait on the rent pacer; more would only hold memory
# Twice the list endpoint's gap: a boot takes a minute, and half the key's listing budget stays
# free for anything else listing under the same key meanwhile.
LIST_POLL_SECONDS = 2.0


@dataclass
class Outcome:
    """What one bring-up did: members running, members that failed and why, and every
    contract it rented (kept up to date while it runs)."""

    running: dict[int, Instance] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    rented: dict[int, int] = field(default_factory=dict)


class MachineGate:
    """With ``one_per_machine``, admits one offer per machine across the fleet's threads."""

    def __init__(self, enabled: bool, taken: Iterable[int | None]) -> None:
        self.enabled = enabled
        self._taken = {machine for machine in taken if machine is not None}
        self._lock = threading.Lock()

    def admit(self, offer: Offer) -> bool:
        if not self.enabled or offer.machine_id is None:
            return True
        with self._lock:
            if offer.machine_id in self._taken:
                return False
            self._taken.add(offer.machine_id)
            return True

    def release(self, offer: Offer) -> None:
        if self.enabled and offer.machine_id is not None:
            with self._lock:
                self._taken.discard(offer.machine_id)


def fleet_rentals(instances: Iterable[Instance], fleet_id: str) -> list[Instance]:
    """Every rental carrying one of the fleet's member ids."""
    return [i for i in instances if member_index(fleet_id, logical_id_of(i.label)) is not None]


def held_members(instances: Iterable[Instance], fleet_id: str) -> dict[int, Instance]:
    """The fleet's rentals by member index (the newest when a member has several)."""
    held: dict[int, Instance] = {}
    for instance in fleet_rentals(instances, fleet_id):
        index = member_index(fleet_id, logical_id_of(instance.label))
        assert index is not None
        if index not in held or instance.id > held[index].id:
            held[index] = instance
    return held


def member_args(args: GpuFleetArgs, index: int) -> GpuFleetArgs:
    """The constraints member ``index`` is rented with (its own region when spreading)."""
    if args.spread_regions and args.regions:
        return args.model_copy(update={"regions": [args.regions[index % len(args.regions)]]})
    return args


def free_indices(taken: Iterable[int], count: int) -> list[int]:
    """The ``count`` lowest member indices not taken."""
    used = set(taken)
    found: list[int] = []
    index = 0
    while len(found) < count:
        if index not in used:
            found.append(index)
        index += 1
    return found


def bring_up(
    client: MarketplaceClient,
    args: GpuFleetArgs,
    fleet_id: str,
    to_rent: list[int],
    adopted: Mapping[int, Instance],
    outcome: Outcome,
    *,
    machines_in_use: Iterable[int | None] = (),
) -> None:
    """Rent the members ``to_rent`` and wait until they and the ``adopted`` ones run, within
    ``create_timeout_seconds`` of each member's rent. Fills ``outcome``."""
    gate = MachineGate(
        args.one_per_machine, [*machines_in_use, *(i.machine_id for i in adopted.values())]
    )
    waiting = {index: instance.id for index, instance in adopted.items()}
    since = dict.fromkeys(waiting, time.monotonic())
    # One search per distinct region list, before the threads start: they then share it from
    # the client's cache instead of each spending one of the ten searches a minute.
    for regions in {tuple(member_args(args, i).regions) for i in to_rent}:
        client.search_offers(offer_filter_for(args.model_copy(update={"regions": list(regions)})))
    interval = max(LIST_POLL_SECONDS * resolve_pacing_scale(), 0.05)
    workers = min(max(len(to_rent), 1), MAX_PARALLEL_RENTS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleet-rent") as pool:
        rents: dict[Future[int], int] = {
            pool.submit(_rent_member, client, args, fleet_id, index, gate): index
            for index in to_rent
        }
        pending = set(rents)
        next_poll = time.monotonic()
        try:
            while pending or waiting:
                # Polls keep their cadence however rents land, so listing calls stay spaced.
                pause = max(next_poll - time.monotonic(), 0.0) if waiting else interval
                if pending:
                    done, pending = wait(pending, timeout=pause, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = rents[future]
                        try:
                            outcome.rented[index] = waiting[index] = future.result()
                            since[index] = time.monotonic()
                        except DumontError as exc:
                            outcome.failed[index] = str(exc)
                else:
                    time.sleep(pause)
                if waiting and time.monotonic() >= next_poll:
                    _poll(client, args.create_timeout_seconds, waiting, since, outcome)
                    next_poll = time.monotonic() + interval
        finally:
            # On an error, rents still running finish (or fail) before the pool closes; their
            # contracts are recorded so that the caller can destroy them.
            for future in pending:
                try:
                    outcome.rented[rents[future]] = future.result()
                except DumontError:
                    pass
    failed_rentals = {outcome.rented[i] for i in outcome.failed if i in outcome.rented}
    failed_rentals |= {adopted[i].id for i in outcome.failed if i in adopted}
    destroy_all(client, failed_rentals, f"fleet {fleet_id} (members that did not run)")


def _rent_member(
    client: MarketplaceClient, args: GpuFleetArgs, fleet_id: str, index: int, gate: MachineGate
) -> int:
    label = rental_label(member_id(fleet_id, index), args.label)
    return rent_cheapest(client, member_args(args, index), label, gate=gate)


def _poll(
    client: MarketplaceClient,
    timeout: float,
    waiting: dict[int, int],
    since: dict[int, float],
    outcome: Outcome,
) -> None:
    """One listing: move every waiting member that runs, or never will, out of ``waiting``."""
    listed = {instance.id: instance for instance in client.instances()}
    now = time.monotonic()
    for index, contract_id in list(waiting.items()):
        instance = listed.get(contract_id)
        try:
            if has_arrived(instance, contract_id, "running", "create"):
                assert instance is not None
                outcome.running[index] = instance
                del waiting[index]
            elif now - since[index] >= timeout:
                raise not_ready_in_time(instance, contract_id, "running", timeout)
        except InstanceNotReady as exc:
            log.info("fleet member %d: %s", index, exc)
            outcome.failed[index] = str(exc)
            del waiting[index]
