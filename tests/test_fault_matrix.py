"""The fault matrix is whole and its page is current (``tests/faults/matrix.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.faults.matrix import FAULTS, PAGE, RESOURCES, TESTS, cell, missing


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    # Collected in a process of its own: a collection inside this run would share its plugins.
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.matrix", "--json"],
        cwd=TESTS.parent, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_cell_of_the_matrix_has_a_test(generated):
    cells = {(c["resource"], c["fault"]): c["tests"] for c in generated["cells"]}
    assert missing(cells) == [], "cells without a test"


def test_the_page_in_the_docs_is_the_generated_one(generated):
    assert PAGE.read_text() == generated["page"], (
        "docs/fault-matrix.md is stale: run `python -m tests.faults.matrix > docs/fault-matrix.md`"
    )


def test_a_mark_outside_the_matrix_is_refused_naming_what_is_allowed():
    with pytest.raises(ValueError, match="'Volume' is not a row"):
        cell("Volume", "hang")
    with pytest.raises(ValueError, match="'flood' is not a column"):
        cell("GpuInstance", "flood")


def test_missing_lists_the_cells_without_tests():
    cells = {(r, f): ["t"] for r in RESOURCES for f in FAULTS if (r, f) != ("Budget", "hang")}
    assert missing(cells) == [("Budget", "hang")]
