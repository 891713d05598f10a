"""Security headers on every response.

The API answers JSON, so by default a response may load nothing and be framed by nobody.
HTML pages that need more (the OGC map views, the interactive docs) say so: a handler can set
its own ``Content-Security-Policy``, and ``csp_by_path`` names pages by path.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Nothing may be loaded, run, framed or submitted by a JSON (or CSV, PDF, tile) response.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The Swagger UI and ReDoc pages (landmarket.web): scripts from this origin only (local copies,
# no CDN, no external fonts); ReDoc (styled-components) and Swagger UI insert <style>
# elements, so styles may be inline. The pages show no user content.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


Raw = list[tuple[bytes, bytes]]


def _raw(headers: Mapping[str, str]) -> Raw:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


_CSP = b"content-security-policy"
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """ASGI middleware; ``hsts_max_age`` 0 sends no Strict-Transport-Security.

    Works on the raw header list of the response start (no header objects): it runs on every
    response, the hottest reads included."""

    def __init__(
        self, app: ASGIApp, *, hsts_max_age: int = 0, csp_by_path: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.csp_by_path = {
            path: csp.encode("latin-1") for path, csp in (csp_by_path or {}).items()
        }
        always = dict(ALWAYS)
        if hsts_max_age > 0:
            always["strict-transport-security"] = f"max-age={hsts_max_age}; includeSubDomains"
        self.always = _raw(always)
        self.replaced = frozenset(name for name, _ in self.always)
        self.api_csp = API_CSP.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A response to a request with credentials is for that caller only: no cache may
        # keep it (RFC 9111 §5.2.2.5). ASGI header names are lower case.
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])
        csp = self.csp_by_path.get(scope["path"], self.api_csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Ours replace a handler's, except the CSP, which a page may set for itself.
                headers = [
                    h for h in message.get("headers", ()) if h[0].lower() not in self.replaced
                ]
                if authenticated:
                    headers = [h for h in headers if h[0].lower() != _NO_STORE[0]]
                    headers.append(_NO_STORE)
                if not any(h[0].lower() == _CSP for h in headers):
                    headers.append((_CSP, csp))
                message["headers"] = headers + self.always
            await send(message)

        await self.app(scope, receive, send_with_headers)
