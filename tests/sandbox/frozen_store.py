"""A store on a frozen clock: sandbox time moves only when a test advances it."""

from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.marketplace.store import Store
from dumont_iac.sandbox.settings import SandboxSettings

NOW = 1_767_225_600.0
FROZEN = 1e-9  # clock speed
KEY = "sandbox-key"
IMAGE = "pytorch/pytorch:latest"


def make_store(db: str = ":memory:", machines: int = 60, seed: int = 5) -> Store:
    settings = SandboxSettings(db_path=db, machines=machines, seed=seed, api_key=KEY)
    return Store(settings, Clock(speed=FROZEN, start=NOW))
