"""The budget example's preview through the real Pulumi CLI (``pulumi.automation``), with a
local file backend: over its limit, the preview fails naming each resource with its figure.
Runs where the ``pulumi`` binary is installed; elsewhere it is skipped, saying why."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "budget"

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the Pulumi CLI (`pulumi`) is not on PATH; install it to preview the budget "
    "example through pulumi.automation (the GitHub workflow does)",
)


def test_a_preview_over_the_budget_fails_through_the_pulumi_cli(tmp_path):
    from pulumi import automation as auto

    project = tmp_path / "budget"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
    manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    backend = tmp_path / "backend"
    backend.mkdir()
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "sandbox-only-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    work_dir = str(project)
    stack = auto.create_or_select_stack(
        "over", work_dir=work_dir, opts=auto.LocalWorkspaceOptions(work_dir=work_dir, env_vars=env)
    )
    try:
        with pytest.raises(auto.CommandError) as failed:
            stack.preview()
        text = str(failed.value)
        assert "train (GpuInstance) $438.00" in text and "workers (GpuFleet) $584.00" in text
        assert "total $1,022.00" in text
    finally:
        stack.workspace.remove_stack("over")
