"""Pytest fixtures for deploying Pulumi programs through the engine protocol.

Enable them in a ``conftest.py``::

    pytest_plugins = ["dumont_iac.testing.fixtures"]

``deployment_factory(program, **kwargs)`` builds a ``Deployment`` whose state file lives in the
test's temporary directory; ``provider_process_factory(**kwargs)`` starts a provider process for
contract tests. Both stop every process they started when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dumont_iac.testing.driver import Deployment
from dumont_iac.testing.engine_process import ProviderProcess


@pytest.fixture
def deployment_factory(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(program: Any, **kwargs: Any) -> Deployment:
        kwargs.setdefault("state_file", tmp_path / f"stack-state-{len(made)}.json")
        deployment = Deployment(program, **kwargs)
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.close()


@pytest.fixture
def provider_process_factory() -> Iterator[Callable[..., ProviderProcess]]:
    started: list[ProviderProcess] = []

    def make(**kwargs: Any) -> ProviderProcess:
        process = ProviderProcess(**kwargs)
        started.append(process)
        return process.start()

    yield make
    for process in started:
        process.stop()
