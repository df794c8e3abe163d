"""The package's public names are a promise to every program that imports them."""

import dumont_iac


def test_public_names_are_pinned_and_resolve():
    assert dumont_iac.__all__ == [
        "Budget",
        "BudgetArgs",
        "CpuStandby",
        "CpuStandbyArgs",
        "FailoverPolicy",
        "FailoverPolicyArgs",
        "GpuFleet",
        "GpuFleetArgs",
        "GpuInstance",
        "GpuInstanceArgs",
        "HibernationPolicy",
        "HibernationPolicyArgs",
        "MarketplaceClient",
        "OfferFilter",
        "SnapshotPolicy",
        "SnapshotPolicyArgs",
        "WarmPool",
        "WarmPoolArgs",
        "Workload",
        "__version__",
        "cheapest_offer",
        "errors",
        "find_offers",
        "recommend_gpu",
        "spot_pricing",
    ]
    for name in dumont_iac.__all__:
        assert getattr(dumont_iac, name) is not None, name
