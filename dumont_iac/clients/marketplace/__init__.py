"""The marketplace (Vast.ai REST ``/api/v0``): a typed client, its values, offer filters and
the decoding of its error answers."""

from dumont_iac.clients.marketplace.client import MarketplaceClient, forget_cached_searches

__all__ = ["MarketplaceClient", "forget_cached_searches"]
