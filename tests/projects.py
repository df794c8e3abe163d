"""The repository's Pulumi projects (examples/*), and running one through the real Pulumi CLI
(``pulumi.automation``) with a local file backend: where the ``pulumi`` binary is not on PATH,
those tests skip, saying so (the GitHub workflow's real-cli job installs it)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(path.parent for path in EXAMPLES_DIR.glob("*/Pulumi.yaml"))
# The stack of an example that has several: the one a user deploys first.
STACKS = {"budget": "within"}
PASSPHRASE = "sandbox-only-passphrase"


def example_stack(example: Path) -> str:
    return STACKS.get(example.name, "dev")


def needs_pulumi_cli(to: str) -> pytest.MarkDecorator:
    """Skips a test when the CLI is absent; ``to`` says what the test would have done."""
    return pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason=f"the Pulumi CLI is not installed: `pulumi` is not on PATH; install it to {to} "
        "(the GitHub workflow's real-cli job does)",
    )


def project_copy(project: Path, tmp_path: Path) -> Path:
    """A copy of the project (its stack files too) run with this test's interpreter instead of
    a fresh virtualenv, which would need the package from an index."""
    copy = tmp_path / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    manifest = yaml.safe_load((copy / "Pulumi.yaml").read_text())
    manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    (copy / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return copy


def local_backend(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI whose state is files under ``tmp_path``, not Pulumi Cloud."""
    backend = tmp_path / "backend"
    backend.mkdir(exist_ok=True)
    return {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }


@contextmanager
def cli_stack(project: Path, stack: str, env: dict[str, str]) -> Iterator[Any]:
    """The project's ``stack`` through the CLI; destroyed and removed afterwards, whatever the
    test did, so that a failed test leaves nothing rented."""
    from pulumi import automation as auto

    work_dir = str(project)
    opts = auto.LocalWorkspaceOptions(work_dir=work_dir, env_vars=env)
    handle = auto.create_or_select_stack(stack, work_dir=work_dir, opts=opts)
    try:
        yield handle
    finally:
        handle.destroy()
        handle.workspace.remove_stack(stack)
