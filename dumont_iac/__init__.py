"""dumont-iac: rented GPUs, their failover and their budgets as Pulumi code."""

from typing import Any

from dumont_iac import errors, registry
from dumont_iac._version import __version__
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.lookups import Workload, cheapest_offer, find_offers, recommend_gpu, spot_pricing

globals().update(registry.public_names())

__all__ = [
    "MarketplaceClient",
    "OfferFilter",
    "Workload",
    "__version__",
    "cheapest_offer",
    "errors",
    "find_offers",
    "recommend_gpu",
    "spot_pricing",
]
__all__ += registry.public_names()
__all__.sort()


def __getattr__(name: str) -> Any:
    # Only reached for names not set above; it tells type checkers that the resource classes,
    # set from the registry, are attributes of the package.
    raise AttributeError(f"module 'dumont_iac' has no attribute {name!r}")
