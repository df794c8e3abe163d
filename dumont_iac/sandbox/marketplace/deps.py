"""FastAPI dependencies of the marketplace's routes: the store and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dumont_iac.sandbox.core.auth import NO_KEY, presented_key
from dumont_iac.sandbox.marketplace.errors import AuthError
from dumont_iac.sandbox.marketplace.store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def optional_user(request: Request) -> int | None:
    key = presented_key(request)
    if key is None:
        return None
    return require_user(request)


def require_user(request: Request) -> int:
    key = presented_key(request)
    if key is None:
        raise AuthError(NO_KEY, status=403)
    user_id = get_store(request).user_for_key(key)
    if user_id is None:
        raise AuthError("Invalid user key")
    return user_id


StoreDep = Annotated[Store, Depends(get_store)]
User = Annotated[int, Depends(require_user)]
MaybeUser = Annotated[int | None, Depends(optional_user)]
