"""Security headers on every response.

The API answers JSON, so by default a response may load nothing and be framed by nobody.
HTML pages that need more (the OGC map views, the interactive docs) say so: a handler can set
its own ``Content-Security-Policy``, and ``csp_by_path`` names pages by path.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Nothing may be loaded, run, framed or submitted by a JSON (or CSV, PDF, tile) response.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger UI and ReDoc pages: their bundles come from jsdelivr and each page starts
# them with a short inline script. The pages show no user content, so allowing inline
# script there is not an injection risk.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    """ASGI middleware; ``hsts_max_age`` 0 sends no Strict-Transport-Security."""

    def __init__(
        self, app: ASGIApp, *, hsts_max_age: int = 0, csp_by_path: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.csp_by_path = dict(csp_by_path or {})
        self.always = dict(ALWAYS)
        if hsts_max_age > 0:
            self.always["strict-transport-security"] = f"max-age={hsts_max_age}; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A response to a request with credentials is for that caller only: no cache may
        # keep it (RFC 9111 §5.2.2.5).
        authenticated = "authorization" in Headers(scope=scope)
        csp = self.csp_by_path.get(scope["path"], API_CSP)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.always.items():
                    headers[name] = value
                headers.setdefault("content-security-policy", csp)
                if authenticated:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
