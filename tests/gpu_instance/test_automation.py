"""The quickstart through the real Pulumi CLI (``pulumi.automation``), with a local file backend,
against the sandbox: up, an idle second up, refresh, destroy. Runs where the ``pulumi`` binary
is installed (the GitHub workflow installs it); elsewhere it is skipped, saying why."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from dumont_iac.testing.market import Market

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the Pulumi CLI (`pulumi`) is not on PATH; install it to run the quickstart "
    "through pulumi.automation (the GitHub workflow does)",
)


def project_copy(tmp_path: Path) -> Path:
    """The quickstart, run with this test's interpreter instead of a fresh virtualenv (which
    would need the package from an index)."""
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
    manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return project


def test_quickstart_with_the_pulumi_cli(tmp_path, gpu_sandbox, market: Market):
    from pulumi import automation as auto

    backend = tmp_path / "backend"
    backend.mkdir()
    env = {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "sandbox-only-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "DUMONT_PACING_SCALE": "0",
        "VAST_URL": "",
        "VAST_API_KEY": "",
    }
    work_dir = str(project_copy(tmp_path))
    stack = auto.create_or_select_stack(
        "ci", work_dir=work_dir, opts=auto.LocalWorkspaceOptions(work_dir=work_dir, env_vars=env)
    )
    try:
        stack.set_config("dumont:vastUrl", auto.ConfigValue(gpu_sandbox.url))
        stack.set_config("dumont:vastApiKey", auto.ConfigValue(gpu_sandbox.api_key, secret=True))

        up = stack.up()
        assert up.summary.result == "succeeded"
        assert up.summary.resource_changes.get("create") == 2  # the stack and the GPU
        (rental,) = market.managed()
        assert up.outputs["logical_id"].value in rental["label"]
        ssh = f"ssh -p {rental['ssh_port']} root@{rental['ssh_host']}"
        assert up.outputs["ssh_command"].value == ssh
        assert up.outputs["price_per_hour"].value == round(rental["dph_total"], 4)

        again = stack.up()
        assert again.summary.resource_changes == {"same": 2}
        assert [i["id"] for i in market.managed()] == [rental["id"]]

        stack.refresh()
        exported = str(stack.export_stack().deployment)
        assert gpu_sandbox.api_key not in exported

        stack.destroy()
        assert market.instances() == []
    finally:
        stack.destroy()
        stack.workspace.remove_stack("ci")
