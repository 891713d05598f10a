"""The browser side: the web app at ``/`` (built from ``web/`` into ``web/dist``), its hashed
assets under ``/assets``, and the API documentation pages (``/docs``, ``/redoc``) from copies
of Swagger UI and ReDoc that the same build places in ``/assets/vendor``.

Nothing here loads from another host: an intranet without internet gets every page whole.
Without a build, each page says how to make one instead of showing a blank screen.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from landmarket.core.headers import DOCS_CSP

# The checkout's web/dist (an editable install, the way `make run` and the Dockerfile run it).
DEFAULT_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"

# The app: its own scripts and styles only (no inline script or style), data from this
# origin, MapLibre's worker from a blob: URL it makes itself, tiles drawn into blob: images.
APP_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src blob:; child-src blob:; font-src 'self'; "
    "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The how-to-build page: static text, it loads nothing.
PLAIN_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>landmarket: {what} not built</title></head>
<body><h1>The {what} is not built</h1>
<p>landmarket serves its web app and API documentation from <code>{dist}</code>, which does
not exist yet. Build it with <code>make run</code> (or <code>make web</code>), or by hand:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (Node.js 18 or newer).</p>
<p>The API works without it: <a href="/openapi.json">/openapi.json</a>,
<a href="/v1/regions">/v1/regions</a>, <a href="/ogc">/ogc</a>.</p>
<p lang="de">Die Web-Anwendung ist nicht gebaut: <code>make run</code> baut sie.</p>
</body></html>"""

_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>landmarket API: {title}</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head>
<body>{body}</body></html>"""
_SWAGGER = _DOCS_PAGE.format(
    title="Swagger UI",
    head='<link rel="stylesheet" href="/assets/vendor/swagger-ui/swagger-ui.css">',
    body='<div id="swagger-ui"></div>'
    '<script src="/assets/vendor/swagger-ui/swagger-ui-bundle.js"></script>'
    '<script src="/assets/vendor/swagger-init.js"></script>',
)
_REDOC = _DOCS_PAGE.format(
    title="ReDoc",
    head="",
    body='<div id="redoc"></div><script src="/assets/vendor/redoc/redoc.standalone.js"></script>'
    '<script src="/assets/vendor/redoc-init.js"></script>',
)


class _AssetHeaders:
    """Cache and CSP headers for ``/assets``: Vite's file names carry a content hash, so those
    files never change (immutable); the vendor copies keep their names and are revalidated
    (StaticFiles answers a conditional request with 304)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.app = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.directory.is_dir():
            # Not built (yet): a plain 404 problem, like any unknown path.
            raise HTTPException(status_code=404)
        # (The mounted app sees the full path, /assets included, in current Starlette.)
        hashed = "/vendor/" not in scope["path"]
        cache = b"public, max-age=31536000, immutable" if hashed else b"no-cache"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"cache-control", cache),
                    (b"content-security-policy", APP_CSP.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _not_built(what: str, dist: Path) -> HTMLResponse:
    # 503: the server is fine, this part of it is not available until it is built.
    page = _NOT_BUILT.format(what=escape(what), dist=escape(str(dist)))
    return HTMLResponse(page, status_code=503, headers={"Content-Security-Policy": PLAIN_CSP})


def install_web(app: FastAPI, dist: Path | None = None) -> None:
    """Serves the app and the documentation pages from ``dist`` (default: the checkout's
    ``web/dist``). Checked per request, so a build made while the server runs is picked up."""
    root = dist or DEFAULT_DIST

    @app.get("/", include_in_schema=False, response_model=None)
    async def web_app() -> Response:
        index = root / "index.html"
        if not index.is_file():
            return _not_built("web app", root)
        # no-cache: the page names the current hashed bundles, so it is revalidated each time.
        headers = {"Content-Security-Policy": APP_CSP, "Cache-Control": "no-cache"}
        return FileResponse(index, media_type="text/html", headers=headers)

    def docs_page(page: str, marker: str) -> HTMLResponse:
        if not (root / "assets" / "vendor" / marker).is_file():
            return _not_built("API documentation", root)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return docs_page(_SWAGGER, "swagger-ui/swagger-ui-bundle.js")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return docs_page(_REDOC, "redoc/redoc.standalone.js")

    app.mount("/assets", _AssetHeaders(root / "assets"), name="assets")
