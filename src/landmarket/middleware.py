"""The app's middleware stack, in one place because the order matters. It lives beside the app
factory, not in core: it assembles a domain's middleware (OGC dispatch) and core knows none.

From the outside in:

1. SecurityHeaders: every response, errors and refusals included, gets the headers.
2. CORS (when origins are configured): answers preflights before they count against a rate
   limit, and labels 413/429/500 responses too so browsers can read them.
3. RateLimit (unless disabled): refuses a flood before a body is read or a query runs.
4. UnhandledAsProblem: a crash becomes the 500 problem here, inside the layers above, and
   a request cut off by the end of a drain a 503.
5. BodySizeLimit: oversized bodies are refused before a handler reads them.
6. OgcDispatch: the OGC API's reads skip FastAPI's own layers (see ogc.dispatch).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from landmarket.core.config import Settings
from landmarket.core.errors import UnhandledAsProblem
from landmarket.core.headers import DOCS_CSP, SecurityHeaders
from landmarket.core.limits import BodySizeLimit
from landmarket.core.ratelimit import Limiter, RateLimit
from landmarket.ogc.dispatch import OgcDispatch

# Response headers a browser script may read across origins.
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Content-Crs",
    "Retry-After",
    "Idempotent-Replayed",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]


def install_middleware(app: FastAPI, settings: Settings) -> None:
    # add_middleware puts each one outside those added before: innermost first.
    app.add_middleware(OgcDispatch)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnhandledAsProblem)
    if settings.rate_limit_per_second > 0:
        limiter = Limiter(
            settings.rate_limit_per_second, settings.rate_limit_burst, settings.redis_url_value()
        )
        app.state.limiter = limiter  # closed with the app (main.lifespan)
        app.add_middleware(RateLimit, limiter=limiter)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    docs = [app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url]
    app.add_middleware(
        SecurityHeaders,
        hsts_max_age=settings.hsts_max_age_seconds,
        csp_by_path={path: DOCS_CSP for path in docs if path},
    )
