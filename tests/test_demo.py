"""The README's main job: ``dumont-iac demo`` deploys the quickstart on a fresh sandbox."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_deploys_the_quickstart_prints_its_outputs_and_destroys_it():
    done = subprocess.run(
        [sys.executable, "-m", "dumont_iac.cli", "demo", "--speed", "200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "up: 1 created" in out
    assert "ssh -p " in out and "price_per_hour" in out
    assert "destroy: 1 deleted; the sandbox holds 0 running or stopped instances" in out


def test_demo_names_the_option_when_the_project_is_missing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dumont_iac.cli", "demo", "--example", str(tmp_path)],
        env={**os.environ, "COLUMNS": "200"},  # the error box must not wrap the sentence
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--example" in done.stderr and "no Pulumi.yaml" in done.stderr


@pytest.mark.slow
def test_the_failover_demo_fails_the_primary_over_and_leaves_nothing_billing():
    done = subprocess.run(
        [sys.executable, "-m", "dumont_iac.cli", "demo", "--example", "resilient-training"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "up: 3 created" in out
    for step in ("detected", "promoted", "serving", "total"):
        assert f"│ {step}" in out, out
    assert "is the same resource, now on contract" in out and "the next up changes nothing" in out
    assert "destroy: 3 deleted; nothing is billing" in out
