"""HEAD wherever GET works (RFC 9110 §9.3.2), for every route at once.

FastAPI registers a GET route for GET only, so HEAD was a 405 on every /v1 resource. Rather
than a HEAD route beside each GET route, the app's outermost layer runs a HEAD request as the
GET it stands for, through every layer (authentication, rate limit, security headers, the
OGC dispatch), and sends that response's status and headers without its body. A path that
has no GET answers HEAD with the 405 (and ``Allow``) its GET gets.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware; the outermost of the app (``main.create_app``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                # The GET body is dropped chunk by chunk; the last chunk ends the response.
                if finished or message.get("more_body", False):
                    return
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # Content-Length stays the GET's, as RFC 9110 allows for HEAD.
        await self.app({**scope, "method": "GET"}, receive, headers_only)
