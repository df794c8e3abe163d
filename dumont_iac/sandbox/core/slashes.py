"""Serving a path with or without its trailing slash, as the marketplace does."""

from __future__ import annotations

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class EitherTrailingSlash:
    """Routes a path that matches nothing to its twin with (or without) the trailing slash.

    No redirect: clients send PUT and DELETE bodies that a redirect could lose.
    """

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "/")
        if scope["type"] == "http" and path != "/" and not self._routed(scope):
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            candidate = {**scope, "path": other, "raw_path": other.encode()}
            if self._routed(candidate):
                # In place, as routers change the scope: outer middlewares (the request
                # metrics) read the route matched for it afterwards.
                scope.update(path=other, raw_path=other.encode())
        await self.app(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] != Match.NONE for route in self.router.routes)
