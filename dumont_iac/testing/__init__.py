"""Test Pulumi stacks without the Pulumi CLI or credentials.

``Deployment`` runs a program through up / preview / refresh / destroy with the real dynamic
providers in a real provider process; ``ProviderProcess`` drives one provider process directly
for contract tests. Pytest fixtures: ``dumont_iac.testing.fixtures`` (deployments) and
``dumont_iac.testing.sandbox`` (a local marketplace).
"""

from dumont_iac.testing.driver import Deployment, DeploymentError
from dumont_iac.testing.engine_monitor import UnsupportedByDriverError
from dumont_iac.testing.engine_process import UNKNOWN, ProviderError, ProviderProcess
from dumont_iac.testing.engine_state import ResourceState, StackState
from dumont_iac.testing.engine_steps import CheckFailedError, DeploymentResult
from dumont_iac.testing.project import ProjectError, load_project

__all__ = [
    "UNKNOWN",
    "CheckFailedError",
    "Deployment",
    "DeploymentError",
    "DeploymentResult",
    "ProjectError",
    "ProviderError",
    "ProviderProcess",
    "ResourceState",
    "StackState",
    "UnsupportedByDriverError",
    "load_project",
]
