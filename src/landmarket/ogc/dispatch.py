"""Serves the OGC API's GET and HEAD requests from inside the middleware stack, in front of
FastAPI's exception layer and router.

Behind the app's own middlewares (security headers, CORS, rate limit, 500 as a problem) a
request passes FastAPI's exception middleware, its exit-stack middleware, the router (which
tries routes in order), Starlette's route wrapper and FastAPI's request bookkeeping before an
OGC handler runs. The handlers here need none of that: they are plain ``Request -> Response``
functions that raise ``AppError`` for problems. On a small items page that machinery was a
fifth of the server's CPU per request.

What this keeps the same: the routes stay registered on the app (so other methods still get
405 with ``Allow`` and the trailing-slash redirects still happen there), an ``AppError`` is
rendered by the same function as the app's handler, and anything else unexpected propagates
to ``UnhandledAsProblem`` as before.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from landmarket.core.errors import AppError, app_error_response
from landmarket.ogc.router import PREFIX, ROUTES, Endpoint

_METHODS = frozenset({"GET", "HEAD"})


def _compiled() -> tuple[tuple[re.Pattern[str], Endpoint], ...]:
    # compile_path gives the router's own regexes: the same paths match, with the same names.
    return tuple((compile_path(PREFIX + path)[0], endpoint) for path, endpoint in ROUTES)


class OgcDispatch:
    """ASGI middleware; the innermost of the app's own (``landmarket.middleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = _compiled()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _METHODS
            and scope["path"].startswith(PREFIX)
        ):
            path = scope["path"]
            for pattern, endpoint in self.routes:
                match = pattern.match(path)
                if match is not None:
                    scope["path_params"] = match.groupdict()
                    request = Request(scope, receive)
                    try:
                        response = await endpoint(request)
                    except AppError as exc:
                        response = app_error_response(exc, instance=path)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
