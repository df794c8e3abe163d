"""Every project under examples/ through the real Pulumi CLI (``pulumi.automation``), with a
local file backend, on the whole local world (marketplace, control plane, moto): up, refresh,
an idle preview, destroy, after which nothing bills and no key is in the state. Runs where the
``pulumi`` binary is installed (the GitHub workflow's real-cli job); elsewhere it skips."""

from __future__ import annotations

import httpx
import pytest

from dumont_iac.clients.marketplace import MarketplaceClient
from tests.cpu_standby.conftest import billing
from tests.projects import (
    EXAMPLES,
    cli_stack,
    example_stack,
    local_backend,
    needs_pulumi_cli,
    project_copy,
)

pytestmark = needs_pulumi_cli("deploy every example through pulumi.automation")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_every_example_goes_up_refreshes_and_is_destroyed_through_the_pulumi_cli(
    example, tmp_path, world
):
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    env = {
        **local_backend(tmp_path),
        **world.exports(),
        "DUMONT_PACING_SCALE": "0",
        "AWS_MAX_ATTEMPTS": "2",
    }
    market = MarketplaceClient(world.marketplace.url, world.marketplace.api_key, pacing_scale=0)
    project = project_copy(example, tmp_path)
    with cli_stack(project, example_stack(example), env) as stack:
        up = stack.up()
        assert up.summary.result == "succeeded", up.stderr
        assert up.summary.resource_changes.get("create", 0) >= 2  # the stack and its resources
        assert market.instances(), "the example rented nothing"

        refreshed = stack.refresh()
        assert "delete" not in (refreshed.summary.resource_changes or {}), refreshed.stdout
        assert set(stack.preview().change_summary) == {"same"}
        state = str(stack.export_stack().deployment)
        assert world.marketplace.api_key not in state
        assert world.control_plane_key not in state

        stack.destroy()
    assert market.instances() == [] and market.volumes() == []
    assert billing(world.aws.url) == []
    credit = market.user().credit
    world.marketplace.clock.advance(60)
    assert market.user().credit == credit
