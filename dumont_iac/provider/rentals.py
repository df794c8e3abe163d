"""Helpers every GPU-renting provider shares: what a rental shows as outputs, and destroying
rentals so that nothing is left billing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.errors import DumontError, ProviderError
from dumont_iac.provider.labels import LABEL_MARK
from dumont_iac.provider.waiter import wait_for

log = logging.getLogger("dumont_iac.provider")

DELETE_TIMEOUT_SECONDS = 300.0


def ssh_command_of(instance: Instance) -> str | None:
    host, port = instance.ssh_host, instance.ssh_port
    return f"ssh -p {port} root@{host}" if host and port else None


def price_of(instance: Instance) -> float | None:
    return round(instance.dph_total, 4) if instance.dph_total else None


def status_of(instance: Instance) -> str:
    return instance.actual_status or "provisioning"


def destroy_after_failure(
    client: MarketplaceClient, contract_id: int, logical_id: str, error: Exception
) -> None:
    """Destroy a rental whose create failed; if that fails too, say how it will be found."""
    log.info("GPU %s: destroying contract %d after a failed create", logical_id, contract_id)
    try:
        client.destroy(contract_id)
    except DumontError as exc:
        raise ProviderError(
            f"{error}; destroying contract {contract_id} afterwards failed too ({exc}). It "
            f"carries the label marker {LABEL_MARK}{logical_id}: the next deploy adopts it, or "
            "destroy it on the marketplace."
        ) from error


def destroy_all(client: MarketplaceClient, contract_ids: Collection[int], what: str) -> None:
    """Destroy every contract, then return once the marketplace lists none of them (one
    listing per poll, however many there are)."""
    if not contract_ids:
        return
    for contract_id in contract_ids:
        log.info("%s: destroying contract %d", what, contract_id)
        client.destroy(contract_id)
    wait_for(
        functools.partial(_none_listed, client, frozenset(contract_ids)),
        timeout=DELETE_TIMEOUT_SECONDS,
        what=f"contracts {sorted(contract_ids)} of {what} to be destroyed",
    )


def _none_listed(client: MarketplaceClient, contract_ids: frozenset[int]) -> bool:
    return not any(instance.id in contract_ids for instance in client.instances())
