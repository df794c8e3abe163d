"""The sandbox's state and rules: offers, rentals, instances, volumes, users, on SQLite.

Every public method runs under one process-wide lock, first bringing the market up to the
clock's present (lifecycle steps, billing, stopped instances waiting for their GPUs), then
doing its work in one transaction. So twenty renters at once can neither rent the same slice
twice nor lose a write, and every answer reflects sandbox time.

A machine's free GPUs are offered as slices of 1, 2, 4 and 8 GPUs (those that fit). Whenever
its free GPUs or disk change, all its offers are withdrawn and the rest re-offered under fresh
ids, so an ask id rents at most once. GPUs are held by instances that are created, loading,
running or rebooting, and by leases of other tenants (a taken offer, a winning bid).

Client mistakes raise ``marketplace.errors`` exceptions; nothing else is raised for bad input.
The parts: ``base`` (database, clock, GPU accounting), ``offers``, ``instances``, ``volumes``
(with the account and SSH keys), ``workspace`` (instances' files), ``faults`` (an instance's
crash, GPUs taken from under it, its GPU utilisation), ``schema`` (the tables, as
migrations), ``rows`` (API shapes, typed in ``shapes``).
"""

from dumont_iac.sandbox.marketplace.store.base import StoreBase
from dumont_iac.sandbox.marketplace.store.faults import FaultActions
from dumont_iac.sandbox.marketplace.store.instances import InstanceActions
from dumont_iac.sandbox.marketplace.store.offers import OfferActions
from dumont_iac.sandbox.marketplace.store.volumes import VolumeActions
from dumont_iac.sandbox.marketplace.store.workspace import WorkspaceActions


class Store(
    OfferActions, InstanceActions, VolumeActions, WorkspaceActions, FaultActions, StoreBase
):
    """``Store(settings, clock)``: opens or creates the database at ``settings.db_path`` and
    seeds the market from ``settings.seed`` when it is new; thread-safe; ``close()`` it."""


__all__ = ["Store"]
