"""dumont-iac budgets as a CrossGuard policy pack:

    pulumi preview --policy-pack policy/

The same rule as the ``Budget`` resource's own check (``dumont_iac.provider.budget_rules``),
as a mandatory stack policy, so an organisation can enforce it on stacks it does not write.
"""

from budget_policy import budget_policy
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="dumont-budgets",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[budget_policy()],
)
