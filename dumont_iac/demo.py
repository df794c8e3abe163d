"""``dumont-iac demo``: deploy a project on a fresh sandbox, show its outputs, destroy it.

It is the same path a CI job takes with ``dumont_iac.testing``: the real provider in its own
process over gRPC, against a real HTTP marketplace, with no account and no Pulumi CLI.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings

DEFAULT_EXAMPLE = Path("examples/quickstart")


def demo(
    example: Annotated[
        Path, typer.Option(help="Pulumi project directory to deploy (from the repository root).")
    ] = DEFAULT_EXAMPLE,
    speed: Annotated[
        float, typer.Option(min=1.0, help="Sandbox clock speed: instances boot this much faster.")
    ] = 60.0,
    seed: Annotated[
        int, typer.Option(help="Market seed: the same seed gives the same offers.")
    ] = 0,
    keep: Annotated[
        bool, typer.Option(help="Leave the stack deployed and keep serving until Ctrl-C.")
    ] = False,
) -> None:
    """Start a sandbox marketplace, deploy a project on it, print the outputs, then destroy it."""
    from dumont_iac.testing import Deployment  # imports the Pulumi SDK; only this command needs it

    console = Console()
    if not (example / "Pulumi.yaml").is_file():
        raise typer.BadParameter(
            f"{example} is not a Pulumi project (no Pulumi.yaml); run from the repository root "
            "or pass --example PATH",
            param_hint="--example",
        )
    with tempfile.TemporaryDirectory(prefix="dumont-demo-") as scratch:
        settings = SandboxSettings(
            db_path=str(Path(scratch) / "sandbox.db"), seed=seed, speed=speed
        )
        with running_sandbox(settings) as sandbox:
            console.print(f"sandbox marketplace on [bold]{sandbox.url}[/] (realistic rate limits)")
            stack = Deployment(
                example,
                stack="demo",
                secret_config={"dumont:vastApiKey": sandbox.api_key},
                config={"dumont:vastUrl": sandbox.url},
                state_file=Path(scratch) / "state.json",
            )
            started = time.monotonic()
            result = stack.up()
            console.print(
                f"up: {len(result.created)} created in {time.monotonic() - started:.1f} s"
            )
            table = Table("output", "value")
            for name, value in sorted(result.outputs.items()):
                table.add_row(name, str(value))
            console.print(table)
            if keep:
                console.print("deployed; press Ctrl-C to destroy the stack and stop the sandbox")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
            destroyed = stack.destroy()
            left = sandbox.store.snapshot_counts()
            console.print(
                f"destroy: {len(destroyed.deleted)} deleted; the sandbox holds "
                f"{left.get('instances', 0)} running or stopped instances"
            )
