"""The library installs where users install it: the built wheel into a fresh virtualenv (which
then runs the quickstart program), and the quickstart's requirements from a fresh checkout, as
`pulumi up` installs them in the example's folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
pytestmark = [pytest.mark.cli, pytest.mark.slow]

PROGRAM = """
import json, runpy, sys
import pulumi
from pulumi.runtime import Mocks, set_mocks
from pulumi.runtime.sync_await import _sync_await

seen = []

class Record(Mocks):
    def new_resource(self, args):
        seen.append({"type": args.typ, "name": args.name, "image": args.inputs.get("image")})
        return [args.name + "-id", args.inputs]

    def call(self, args):
        return {}

set_mocks(Record(), project="quickstart", stack="dev", preview=False)
program = runpy.run_path(sys.argv[1], run_name="__main__")
_sync_await(program["gpu"].logical_name.future())
import dumont_iac
print(json.dumps({"seen": seen, "from": dumont_iac.__file__}))
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The files a fresh clone has (tracked, or new and not ignored), copied: building from
    it leaves nothing behind in this working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    target = tmp_path / "checkout"
    for name in listed:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def python_of(env_dir: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(env_dir)
    return env_dir / "bin" / "python"


def pip(python: Path, *args: str, cwd: Path | None = None) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *args],
        cwd=cwd, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_quickstart(tmp_path, checkout):
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(checkout)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("dumont_iac-*.whl")
    python = python_of(tmp_path / "venv")
    pip(python, str(wheel))
    ran = subprocess.run(
        [str(python), "-c", PROGRAM, str(QUICKSTART / "__main__.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["seen"] == [
        {
            "type": "pulumi-python:dynamic/dumont:GpuInstance",
            "name": "quickstart",
            "image": "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
        }
    ]
    assert str(tmp_path / "venv") in result["from"]  # the wheel's copy, not this checkout


def test_the_quickstart_requirements_install_the_library_from_the_checkout(tmp_path, checkout):
    python = python_of(tmp_path / "venv")
    # Dependencies come with the wheel test above; here only what the file names matters.
    pip(python, "--no-deps", "-r", "requirements.txt", cwd=checkout / "examples" / "quickstart")
    shown = subprocess.run(
        [str(python), "-m", "pip", "show", "--files", "dumont-iac"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "dumont_iac/registry.py" in shown.stdout and "Name: dumont-iac" in shown.stdout
