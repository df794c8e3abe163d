"""A resource's worst case without the network: its provider's own ``cost()`` against a
marketplace that has no offers.

Every ``cost()`` derives its worst case from the resource's caps (price caps, counts, listed
EC2 rates), not from live offers, so pricing it against no offers gives that worst case with
no expected price. A ``cost()`` that needs more of the marketplace than offer searches cannot
be bounded offline, and is reported unbounded rather than guessed.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Offer, VolumeOffer
from dumont_iac.costs import ResourceCost
from dumont_iac.errors import ProviderError


class NoOffers(MarketplaceClient):
    """Searches find nothing; any other call is refused (nothing here reaches a server)."""

    def __init__(self) -> None:  # no settings: there is no server to reach
        pass

    def search_offers(self, *args: Any, **kwargs: Any) -> list[Offer]:
        return []

    def search_volume_offers(self, *args: Any, **kwargs: Any) -> list[VolumeOffer]:
        return []

    def gpu_names(self) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Any:
        raise ProviderError(f"{name} needs the marketplace, and the worst case is priced offline")


def offline_cost(provider: type[Any], args: Any) -> ResourceCost | None:
    """The provider's ``cost(args)`` without live offers; None for a resource that bills
    nothing itself."""
    try:
        cost: ResourceCost | None = provider.cost(args, NoOffers())
    except Exception as exc:  # whatever the provider needed, it has no bound offline
        return ResourceCost(None, None, f"not priced offline: {exc}")
    return cost
