"""Request body size limit, enforced before a handler reads the body."""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmarket.core.errors import problem_response


class _TooLarge(StarletteHTTPException):
    # An HTTPException so FastAPI's body parser lets it through (it turns any other exception
    # raised while reading into a 400) and the problem+json handler renders it.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {max_bytes} bytes")


class BodySizeLimit:
    """Rejects bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            # No body at all (RFC 9112 §6.3), as in every GET: nothing to count, and the
            # wrappers below would cost the hot read paths on every message.
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"The request body exceeds the limit of {self.max_bytes} bytes",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
