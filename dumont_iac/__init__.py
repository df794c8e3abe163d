"""dumont-iac: rented GPUs, their failover and their budgets as Pulumi code."""

from dumont_iac._version import __version__
from dumont_iac.clients import errors
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.offer_filter import OfferFilter
from dumont_iac.lookups import Workload, cheapest_offer, find_offers, recommend_gpu, spot_pricing
from dumont_iac.resources.gpu_instance import GpuInstance, GpuInstanceArgs

__all__ = [
    "GpuInstance",
    "GpuInstanceArgs",
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
