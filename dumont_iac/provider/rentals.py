"""Helpers every GPU-renting provider shares: what a rental shows as outputs, and destroying
rentals so that nothing is left billing."""

from __future__ import annotations

import functools
import logging
import re
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


def published_ports(instance: Instance) -> dict[str, int]:
    """Each published TCP container port (SSH aside) to its public port, while it runs."""
    ports: dict[str, int] = {}
    for spec in instance.ports or {}:
        port, _, protocol = spec.partition("/")
        host = instance.host_port(int(port)) if protocol == "tcp" and port != "22" else None
        if host is not None:
            ports[port] = host
    return ports


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


def rental_outputs(logical_id: str, instance: Instance) -> dict:
    """What one rental shows as a GPU's outputs (GpuInstance, a warm pool's primary)."""
    return {
        "logical_id": logical_id,
        "contract_id": instance.id,
        "machine_id": instance.machine_id,
        "gpu_name": instance.gpu_name,
        "num_gpus": instance.num_gpus,
        "vram_gb": round(instance.gpu_ram / 1000, 1) if instance.gpu_ram else None,
        "price_per_hour": price_of(instance),
        "status": status_of(instance),
        "outbid_by": outbid_by(instance),
        "status_message": instance.status_msg,
        "ssh_host": instance.ssh_host,
        "ssh_port": instance.ssh_port,
        "ssh_command": ssh_command_of(instance),
        "public_ip": instance.public_ipaddr,
        "region": instance.geolocation,
    }


_PRICE = re.compile(r"\$\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*h")


def outbid_by(instance: Instance) -> float | None:
    """The winning bid when an interruptible rental lost its GPUs to one (meant to run, but
    stopped); the marketplace's message names it, else its current minimum bid stands for it."""
    if not (instance.is_bid and instance.intended_status == "running"):
        return None
    if instance.actual_status != "stopped" or "outbid" not in (instance.status_msg or "").lower():
        return None
    named = _PRICE.search(instance.status_msg or "")
    return float(named.group(1)) if named else instance.min_bid
