"""A request cut off by the end of a drain is answered 503, not 500.

On SIGTERM `serve` lets requests in flight run for `shutdown_timeout_seconds` and then
cancels the rest (uvicorn's graceful shutdown). uvicorn answers a cancelled request whose
response has not started with a bare 500; this middleware answers it first with a 503
problem+json and `Retry-After`, so a client (or the proxy in front) retries on another node.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmarket.core.errors import problem_response

RETRY_AFTER_S = 1


class CancelledAs503:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not started:
                response = problem_response(
                    503,
                    "The server is shutting down; retry the request",
                    headers={"Retry-After": str(RETRY_AFTER_S), "Connection": "close"},
                    instance=scope["path"],
                )
                with contextlib.suppress(Exception):
                    await response(scope, receive, send)
            raise
