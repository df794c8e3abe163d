"""Rate limits on a served control plane: per verified user inside the key check, per address
before it, on /api/v1 only, configurable and able to be turned off."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dumont_iac.cli import app as cli_app
from dumont_iac.control_plane.ratelimit import DEFAULT_RATE_LIMIT, RateLimit, parse_rate_limit
from dumont_iac.control_plane.settings import ControlPlaneSettings

from .test_ratelimit import FakeClock


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def rate_clock() -> FakeClock:
    return FakeClock()


def test_each_user_has_one_bucket_for_all_of_its_keys(serve_control_plane, rate_clock):
    served = serve_control_plane(rate_limit=RateLimit(2, per=10), rate_clock=rate_clock)
    alice = served.handle.store.users.check(served.alice).user_id
    second_key = "dcp_alices-second-key"
    served.handle.store.users.add_key(alice, second_key)
    with served.client() as http:
        codes = [http.get("/api/v1/budgets", headers=bearer(served.alice)).status_code]
        codes.append(http.get("/api/v1/budgets", headers=bearer(second_key)).status_code)
        refused = http.get("/api/v1/budgets", headers=bearer(served.alice))
        assert codes == [200, 200]
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "5"
        assert refused.json() == {
            "error": "rate limit exceeded: 2 requests per 10 s for this user; retry after 5 s"
        }
        assert http.get("/api/v1/budgets", headers=bearer(second_key)).status_code == 429
        # Bob's bucket is his own.
        assert http.get("/api/v1/budgets", headers=bearer(served.bob)).status_code == 200
        rate_clock.advance(5)  # one token back
        assert http.get("/api/v1/budgets", headers=bearer(second_key)).status_code == 200
        assert http.get("/api/v1/budgets", headers=bearer(served.alice)).status_code == 429


def test_made_up_keys_share_their_addresss_bucket(serve_control_plane, rate_clock):
    served = serve_control_plane(rate_limit=RateLimit(2, per=10), rate_clock=rate_clock)
    allowance = RateLimit(2, per=10).for_addresses().capacity
    assert allowance == 10
    with served.client() as http:
        codes = [
            http.get("/api/v1/budgets", headers=bearer(f"dcp_made-up-{n}")).status_code
            for n in range(allowance)
        ]
        assert codes == [403] * allowance
        refused = http.get("/api/v1/budgets", headers=bearer("dcp_made-up-again"))
        assert refused.status_code == 429
        assert refused.json()["error"].startswith("rate limit exceeded: 10 requests per 10 s ")
        assert "for this address" in refused.json()["error"]
        assert http.get("/api/v1/budgets").status_code == 429  # no key: the same address
        # The open paths are never limited.
        assert http.get("/health").status_code == 200
        assert http.get("/metrics").status_code == 200
        rate_clock.advance(1)  # one token for the address; alice's own bucket is full
        assert http.get("/api/v1/budgets", headers=bearer(served.alice)).status_code == 200


def test_off_means_no_limit(serve_control_plane, rate_clock):
    served = serve_control_plane(rate_limit=None, rate_clock=rate_clock)
    with served.client(served.alice) as http:
        codes = {http.get("/api/v1/budgets").status_code for _ in range(60)}
    assert codes == {200}


def test_the_default_is_20_per_second_with_bursts_of_40(serve_control_plane, rate_clock):
    assert ControlPlaneSettings().rate_limit == DEFAULT_RATE_LIMIT == RateLimit(20, 1.0, 40)
    served = serve_control_plane(rate_clock=rate_clock)
    with served.client(served.alice) as http:
        codes = [http.get("/api/v1/budgets").status_code for _ in range(41)]
    assert codes == [200] * 40 + [429]


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("20/1,40", RateLimit(20, 1.0, 40)),
        ("5/60", RateLimit(5, 60.0)),
        (" OFF ", None),
    ],
)
def test_rate_limits_are_written_n_per_s_with_an_optional_burst(text, limit):
    assert parse_rate_limit(text) == limit


@pytest.mark.parametrize("text", ["", "20", "20/", "x/1", "20/1,", "0/1", "20/0", "20/1,0"])
def test_a_malformed_rate_limit_is_refused_with_the_expected_form(text):
    with pytest.raises(ValueError, match="N/S"):
        parse_rate_limit(text)


def test_the_cli_refuses_a_malformed_rate_limit(tmp_path):
    db = str(tmp_path / "cp.db")
    result = CliRunner().invoke(cli_app, ["control-plane", "--db", db, "--rate-limit", "fast"])
    assert result.exit_code == 2
    assert "N/S" in result.output
