"""Logical ids and the rental labels that carry them, for every resource that rents GPUs.

A logical id is derived from the stack/resource name and every argument that replaces the
resource, so a rerun derives the same id and finds its rentals by label. It rides at the end of
the rental's label as ``dumont:<logical id>``, after the user's own label if any:

    train | dumont:gpu-0123456789ab            a GpuInstance
    workers | dumont:fleet-0123456789ab-3      member 3 of a GpuFleet
    train | dumont:pool-0123456789ab           a WarmPool's primary (the logical GPU)
    train | dumont:pool-0123456789ab.standby-2 its standby 2 (stopped, same machine)

A failover moves the logical GPU by moving its marker: the promoted standby (or the newly
rented GPU) is relabelled with the primary's marker, and the contract carrying it is the
current one. ``logical_id_of`` recognises every form, so anything that looks for managed
rentals (the providers, ``dumont_iac.testing.Market``) sees fleet members and standbys too.
"""

from __future__ import annotations

import hashlib
import json
import re

from dumont_iac.schema import ResourceSchema, fields_of

LABEL_MARK = "dumont:"
LABEL_SEPARATOR = " | "
GPU_PREFIX = "gpu"
FLEET_PREFIX = "fleet"
POOL_PREFIX = "pool"
STANDBY_SUFFIX = ".standby-"
_LABEL_ID = re.compile(
    r"(?:^|\s\|\s)dumont:(gpu-[0-9a-f]{12}|fleet-[0-9a-f]{12}-\d{1,4}"
    r"|pool-[0-9a-f]{12}(?:\.standby-\d{1,2})?)$"
)


def logical_id_for(args: ResourceSchema, prefix: str = GPU_PREFIX) -> str:
    """Deterministic in the stack/resource name and every argument that replaces the resource."""
    replacing = {
        name: getattr(args, name)
        for name, policy in fields_of(type(args)).arguments.items()
        if policy.replaces
    }
    digest = hashlib.sha256(json.dumps(replacing, sort_keys=True, default=str).encode())
    return f"{prefix}-{digest.hexdigest()[:12]}"


def member_id(fleet_id: str, index: int) -> str:
    """The logical id of a fleet's member ``index``."""
    return f"{fleet_id}-{index}"


def member_index(fleet_id: str, logical_id: str | None) -> int | None:
    """The index of a member of the fleet from its logical id; None for anything else."""
    head = f"{fleet_id}-"
    if not logical_id or not logical_id.startswith(head) or not logical_id[len(head) :].isdigit():
        return None
    return int(logical_id[len(head) :])


def standby_id(pool_id: str, index: int) -> str:
    """The marker id of a warm pool's standby ``index`` (1-based)."""
    return f"{pool_id}{STANDBY_SUFFIX}{index}"


def standby_index(pool_id: str, logical_id: str | None) -> int | None:
    """The index of a standby of the pool from its marker id; None for anything else."""
    head = pool_id + STANDBY_SUFFIX
    if not logical_id or not logical_id.startswith(head) or not logical_id[len(head) :].isdigit():
        return None
    return int(logical_id[len(head) :])


def rental_label(logical_id: str, label: str | None) -> str:
    """The marketplace label: the user's label (if any), then the logical id marker."""
    marker = LABEL_MARK + logical_id
    return f"{label}{LABEL_SEPARATOR}{marker}" if label else marker


def logical_id_of(label: str | None) -> str | None:
    found = _LABEL_ID.search(label or "")
    return found.group(1) if found else None


def user_label_of(label: str | None) -> str | None:
    """The user's part of a rental label (the marker stripped); None when there is none."""
    if not label:
        return None
    found = _LABEL_ID.search(label)
    text = label[: found.start()] if found else label
    return text or None
