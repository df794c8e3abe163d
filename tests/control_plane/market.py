"""Renting a GPU in the sandbox the way the provider does: its label carries ``dumont:<id>``."""

from __future__ import annotations

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance, RentRequest
from dumont_iac.clients.marketplace.offer_filter import OfferFilter
from dumont_iac.provider.gpu_instance import rental_label

IMAGE = RentRequest(image="pytorch/pytorch:latest")


def marketplace(sandbox) -> MarketplaceClient:
    return MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0)


def rent_stopped_gpu(sandbox, gpu_id: str) -> int:
    """A rental labelled for ``gpu_id`` and then stopped by its renter; returns its contract."""
    client = marketplace(sandbox)
    offer = client.search_offers(OfferFilter(limit=1), cached=False)[0]
    rental = client.rent(offer.id, IMAGE, label=rental_label(gpu_id, "train"))
    client.stop(rental.instance_id)
    return rental.instance_id


def contract(sandbox, contract_id: int) -> Instance:
    found = marketplace(sandbox).instance(contract_id)
    assert found is not None
    return found
