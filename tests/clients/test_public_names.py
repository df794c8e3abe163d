"""The clients package's public names."""

from __future__ import annotations

import dumont_iac.clients as clients


def test_the_public_names_are_pinned_and_resolve():
    assert clients.__all__ == [
        "CreatedVolume",
        "Instance",
        "MarketplaceClient",
        "Offer",
        "OfferFilter",
        "RentRequest",
        "Rental",
        "User",
        "Volume",
        "VolumeAttachment",
        "VolumeOffer",
    ]
    for name in clients.__all__:
        assert getattr(clients, name).__name__ == name
