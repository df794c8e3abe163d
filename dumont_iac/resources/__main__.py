"""Print the resource reference (``docs/resources.md``) from the schemas themselves:
``python -m dumont_iac.resources > docs/resources.md``."""

from dumont_iac.registry import RESOURCES
from dumont_iac.schema import markdown_table

HEADER = """# Resource reference

Generated from the resource schemas by `python -m dumont_iac.resources > docs/resources.md`.
"On change" says whether changing an argument replaces the resource or updates it in place.
"""


def reference() -> str:
    return HEADER + "".join("\n" + markdown_table(entry.model) for entry in RESOURCES)


if __name__ == "__main__":
    print(reference(), end="")
