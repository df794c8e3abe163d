"""Test Pulumi stacks without the Pulumi CLI or credentials.

``Deployment`` runs a program through up / preview / refresh / destroy with the real dynamic
providers in a real provider process; ``ProviderProcess`` drives one provider process directly
for contract tests; ``Market`` looks into and breaks a sandbox marketplace over its API.
Pytest fixtures: ``dumont_iac.testing.fixtures`` (deployments) and
``dumont_iac.testing.sandbox`` (a local marketplace).
"""

from dumont_iac.errors import (
    CheckFailedError,
    DeploymentError,
    ProjectError,
    ProviderOperationError,
    UnsupportedByDriverError,
)
from dumont_iac.testing.driver import Deployment
from dumont_iac.testing.engine_process import UNKNOWN, ProviderProcess
from dumont_iac.testing.engine_state import ResourceState, StackState
from dumont_iac.testing.engine_steps import DeploymentResult
from dumont_iac.testing.market import Market, assert_rentals_match
from dumont_iac.testing.project import load_project

__all__ = [
    "UNKNOWN",
    "CheckFailedError",
    "Deployment",
    "DeploymentError",
    "DeploymentResult",
    "Market",
    "ProjectError",
    "ProviderOperationError",
    "ProviderProcess",
    "ResourceState",
    "StackState",
    "UnsupportedByDriverError",
    "assert_rentals_match",
    "load_project",
]
