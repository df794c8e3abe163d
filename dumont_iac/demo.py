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

from dumont_iac.demo_failover import run_failover_demo
from dumont_iac.errors import DemoFailed
from dumont_iac.sandbox.server import running_sandbox
from dumont_iac.sandbox.settings import SandboxSettings

EXAMPLES = Path("examples")
DEFAULT_EXAMPLE = EXAMPLES / "quickstart"


def _has_failover(example: Path) -> bool:
    """A project that declares failover resources gets the failover scenario."""
    program = (example / "__main__.py").read_text() if (example / "__main__.py").is_file() else ""
    return "WarmPool" in program or "CpuStandby" in program


def demo(
    example: Annotated[
        Path,
        typer.Option(
            help="Pulumi project directory to deploy, or the name of one under examples/ "
            "(resilient-training fails its GPU over and shows the timeline)."
        ),
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
    if not example.exists() and (EXAMPLES / example).is_dir():
        example = EXAMPLES / example
    if not (example / "Pulumi.yaml").is_file():
        raise typer.BadParameter(
            f"{example} is not a Pulumi project (no Pulumi.yaml); run from the repository root "
            "or pass --example PATH",
            param_hint="--example",
        )
    if _has_failover(example):
        try:
            run_failover_demo(example, speed=speed, seed=seed, console=console)
        except DemoFailed as exc:
            console.print(f"[red]demo failed:[/] {exc}")
            raise typer.Exit(1) from None
        return
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
