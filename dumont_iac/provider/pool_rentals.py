"""What a warm pool holds on the marketplace, found by its label markers, and taking it down.

The primary is the newest contract carrying ``dumont:<pool id>`` (a failover moves that marker
onto a promoted standby, which is newer than the primary it replaces); standby ``k`` is the
newest carrying ``dumont:<pool id>.standby-<k>``. The shared volume is named after the pool's
marker, so a pool whose rentals are gone can still find (and delete) its volume.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.errors import BadRequest, ProviderError
from dumont_iac.provider.labels import logical_id_of, rental_label, standby_id, standby_index
from dumont_iac.provider.rentals import DELETE_TIMEOUT_SECONDS, destroy_all
from dumont_iac.provider.waiter import wait_for

log = logging.getLogger("dumont_iac.provider")


@dataclass
class PoolRentals:
    primary: Instance | None = None
    standbys: dict[int, Instance] = field(default_factory=dict)
    others: list[Instance] = field(default_factory=list)
    """Older contracts carrying a marker a newer one carries (a primary being replaced)."""

    @property
    def every(self) -> list[Instance]:
        held = [self.primary] if self.primary is not None else []
        return [*held, *self.standbys.values(), *self.others]

    def marked(self, pool_id: str) -> Iterable[tuple[str, Instance]]:
        """(marker id, rental) of the primary and each standby."""
        if self.primary is not None:
            yield pool_id, self.primary
        for index, instance in sorted(self.standbys.items()):
            yield standby_id(pool_id, index), instance


def pool_rentals(listed: Iterable[Instance], pool_id: str) -> PoolRentals:
    held = PoolRentals()
    for instance in sorted(listed, key=lambda i: i.id, reverse=True):  # newest first
        marker = logical_id_of(instance.label)
        index = standby_index(pool_id, marker)
        if marker == pool_id and held.primary is None:
            held.primary = instance
        elif index is not None and index not in held.standbys:
            held.standbys[index] = instance
        elif marker == pool_id or index is not None:
            held.others.append(instance)
    return held


def volume_name(pool_id: str) -> str:
    return rental_label(pool_id, None)


def attached_volume_id(instance: Instance) -> int | None:
    """The local volume the marketplace shows attached to a rental, if any."""
    info = instance.volume_info
    rows = info if isinstance(info, list) else [info] if isinstance(info, dict) else []
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("id"), int | float):
            return int(row["id"])
    return None


def pool_volume_ids(client: MarketplaceClient, pool_id: str) -> list[int]:
    """The volumes named after the pool (listed afresh)."""
    name = volume_name(pool_id)
    return [v.id for v in client.volumes() if name in (v.name, v.label)]


def delete_volumes(client: MarketplaceClient, volume_ids: Collection[int], what: str) -> None:
    """Delete each volume; one still attached to an instance being destroyed is retried until
    the marketplace lets it go (a volume outlives its instances by design)."""
    for volume_id in sorted(set(volume_ids)):
        log.info("%s: deleting volume %d", what, volume_id)
        wait_for(
            functools.partial(_deleted, client, volume_id),
            timeout=DELETE_TIMEOUT_SECONDS,
            what=f"volume {volume_id} of {what} to be deleted",
        )


def _deleted(client: MarketplaceClient, volume_id: int) -> bool:
    try:
        client.delete_volume(volume_id)
    except BadRequest:
        return False  # still attached: its instances are on their way out
    return True


def destroy_pool(
    client: MarketplaceClient,
    pool_id: str,
    contract_ids: Collection[int] = (),
    volume_ids: Collection[int] = (),
) -> None:
    """Destroy every contract carrying the pool's markers (listed afresh, twice: a standby
    rented elsewhere meanwhile must not be left billing) plus ``contract_ids``, then delete
    the pool's volumes."""
    what = f"warm pool {pool_id}"
    doomed = set(contract_ids)
    for _ in range(2):
        doomed |= {i.id for i in pool_rentals(client.instances(), pool_id).every}
        if not doomed:
            break
        destroy_all(client, doomed, what)
        doomed = set()
    delete_volumes(client, {*volume_ids, *pool_volume_ids(client, pool_id)}, what)


def rollback_sentence(error: Exception, pool_id: str, undo: Exception) -> ProviderError:
    """The error for a rollback that failed too: what may be left, and how it is found."""
    return ProviderError(
        f"{error}; undoing the placement failed too ({undo}). What is left carries the label "
        f"marker dumont:{pool_id} (volume named {volume_name(pool_id)!r}): the next deploy "
        "removes it before placing the pool, or destroy it on the marketplace."
    )


__all__ = [
    "PoolRentals",
    "attached_volume_id",
    "delete_volumes",
    "destroy_pool",
    "pool_rentals",
    "pool_volume_ids",
    "rollback_sentence",
    "volume_name",
]
