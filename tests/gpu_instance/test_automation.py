"""The quickstart through the real Pulumi CLI (``pulumi.automation``), with a local file backend,
against the sandbox: up, an idle second up, refresh, destroy. Runs where the ``pulumi`` binary
is installed (the GitHub workflow installs it); elsewhere it is skipped, saying why."""

from __future__ import annotations

from dumont_iac.testing.market import Market
from tests.projects import EXAMPLES_DIR, cli_stack, local_backend, needs_pulumi_cli, project_copy

pytestmark = needs_pulumi_cli("run the quickstart through pulumi.automation")


def test_quickstart_with_the_pulumi_cli(tmp_path, gpu_sandbox, market: Market):
    from pulumi import automation as auto

    env = {
        **local_backend(tmp_path),
        "DUMONT_PACING_SCALE": "0",
        "VAST_URL": "",
        "VAST_API_KEY": "",
    }
    project = project_copy(EXAMPLES_DIR / "quickstart", tmp_path)
    with cli_stack(project, "ci", env) as stack:
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
