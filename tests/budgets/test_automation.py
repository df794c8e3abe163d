"""The budget example's preview through the real Pulumi CLI (``pulumi.automation``), with a
local file backend: over its limit, the preview fails naming each resource with its figure.
Runs where the ``pulumi`` binary is installed; elsewhere it is skipped, saying why."""

from __future__ import annotations

import pytest

from tests.projects import EXAMPLES_DIR, cli_stack, local_backend, needs_pulumi_cli, project_copy

pytestmark = needs_pulumi_cli("preview the budget example through pulumi.automation")


def test_a_preview_over_the_budget_fails_through_the_pulumi_cli(tmp_path):
    from pulumi import automation as auto

    project = project_copy(EXAMPLES_DIR / "budget", tmp_path)
    with cli_stack(project, "over", local_backend(tmp_path)) as stack:
        with pytest.raises(auto.CommandError) as failed:
            stack.preview()
        text = str(failed.value)
        assert "train (GpuInstance) $438.00" in text and "workers (GpuFleet) $584.00" in text
        assert "total $1,022.00" in text
