"""The published resource reference matches the schemas it documents."""

from pathlib import Path

from dumont_iac.resources.__main__ import reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "resources.md"


def test_docs_resources_md_is_generated_from_the_current_schemas():
    assert DOC.read_text() == reference(), (
        "docs/resources.md is stale: run `python -m dumont_iac.resources > docs/resources.md`"
    )


def test_every_argument_says_whether_a_change_replaces():
    rows = [line for line in reference().splitlines() if line.startswith("| `")]
    arguments = [row for row in rows if row.count("|") >= 6]
    assert arguments, "no argument rows found"
    for row in arguments:
        assert "replaces the resource" in row or "updated in place" in row, row
