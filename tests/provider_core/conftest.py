"""Fixtures for the provider core tests: a toy record store in the test's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from dumont_iac.testing.fixtures import deployment_factory, provider_process_factory
from dumont_iac.testing.toy import STORE_ENV, ToyStore

__all__ = ["deployment_factory", "provider_process_factory"]


@pytest.fixture
def toy_store(tmp_path: Path) -> ToyStore:
    return ToyStore(tmp_path / "toy.db")


@pytest.fixture
def toy_env(toy_store: ToyStore) -> dict[str, str]:
    """Environment for a provider process that keeps its records in ``toy_store``."""
    return {STORE_ENV: str(toy_store.path)}
