"""Fixtures of the store tests: a small market on a frozen clock, and its user."""

from collections.abc import Iterator

import pytest

from dumont_iac.sandbox.marketplace.store import Store

from .frozen_store import KEY, make_store


@pytest.fixture
def store() -> Iterator[Store]:
    store = make_store()
    yield store
    store.close()


@pytest.fixture
def user(store: Store) -> int:
    user_id = store.user_for_key(KEY)
    assert user_id is not None
    return user_id
