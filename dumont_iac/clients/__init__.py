"""Clients of the outside systems, over one HTTP layer (pacing, retries, errors, logging).

One package per service (``marketplace``, ``control_plane``); the marketplace client and its
typed values are re-exported here, loaded on first use so that importing one client does not
load the others. Errors live in ``dumont_iac.errors``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MarketplaceClient": "dumont_iac.clients.marketplace",
    "OfferFilter": "dumont_iac.clients.marketplace.offer_filter",
    **{
        name: "dumont_iac.clients.marketplace.models"
        for name in (
            "CreatedVolume",
            "Instance",
            "Offer",
            "Rental",
            "RentRequest",
            "User",
            "Volume",
            "VolumeAttachment",
            "VolumeOffer",
        )
    },
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dumont_iac.clients' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
