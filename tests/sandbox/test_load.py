"""The load bench's core (``bench/load.py``) at a tiny size, so the bench cannot rot: a run on
the world loses no write and reports its latencies, and its audit does count a write that is
gone."""

import asyncio

from dumont_iac.testing.load import LoadPlan, documents, market, run_load
from dumont_iac.testing.load.caller import Caller
from dumont_iac.testing.load.figures import Figures

MARKET_CALLS = {"search offers", "rent", "show instances", "manage instance", "show instance",
                "destroy instance"}  # fmt: skip
DOCUMENT_CALLS = {"put failover settings", "put snapshot policy", "create budget",
                  "replace budget", "get budget", "list budgets"}  # fmt: skip


def test_a_small_load_run_loses_no_write_and_reports_p95_per_call(world):
    report = run_load(world, LoadPlan(clients=4, ops=3, users=2, limits=False))
    text = "\n".join(report.lines())
    assert report.lost == 0, text
    assert "lost writes: 0" in text and "p95 ms" in text
    for service, calls in ((report.marketplace, MARKET_CALLS),
                           (report.control_plane, DOCUMENT_CALLS)):  # fmt: skip
        assert service.figures.errors == [], text
        latency = service.figures.latency()
        assert calls <= latency.keys(), text
        assert all(0 < each.p50 <= each.p95 <= each.max for each in latency.values())
    # 4 clients x 3 operations: 12 rents, of which each client's last stood until the audit.
    assert report.marketplace.figures.latency()["rent"].count >= 12
    assert report.marketplace.figures.latency()["destroy instance"].count == 12


def test_the_audit_counts_acknowledged_writes_that_are_gone(world):
    async def audit() -> Figures:
        figures = Figures()
        rentals = Caller(world.marketplace.url, world.marketplace.api_key, "127.0.0.1", figures,
                         pacing=False)  # fmt: skip
        settings = Caller(world.control_plane.url, world.control_plane_key, "127.0.0.1",
                          figures, pacing=False)  # fmt: skip
        try:
            await market.audit(rentals, market.Ledger(rented={987654: "load-c000-o00-v2"}))
            gone = documents.Expected(thresholds={424242: 1000.0}, strategies={"load-x": "both"})
            await documents.audit(settings, gone)
        finally:
            await rentals.aclose()
            await settings.aclose()
        return figures

    lost = asyncio.run(audit()).lost
    assert len(lost) == 3, lost
    assert any("987654" in each for each in lost)
    assert any("424242" in each for each in lost)
    assert any("load-x" in each for each in lost)
