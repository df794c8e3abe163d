"""The operations a FastAPI app serves, read from ``app.routes``, for tests that must cover
every one of them (a route added without a case fails its coverage test)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

# Starlette adds HEAD to every GET route: it answers as the GET does, without a body.
IMPLIED = {"HEAD"}


def operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the app routes, included routers flattened."""
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in set(route.methods or ()) - IMPLIED:
            found.add((method, route.path))
    return found
