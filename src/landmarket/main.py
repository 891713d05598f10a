"""Application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import async_sessionmaker

import landmarket
from landmarket.auth.router import admin_router as auth_admin_router
from landmarket.auth.router import router as auth_router
from landmarket.core.config import Settings, get_settings
from landmarket.core.errors import install_error_handlers
from landmarket.core.head import HeadAsGet
from landmarket.core.logs import configure_logging
from landmarket.core.openapi import install_openapi
from landmarket.db.embedded import EmbeddedCluster, EmbeddedError
from landmarket.db.reads import connector, open_pool
from landmarket.db.replicas import ReadRouting, Replicas
from landmarket.db.session import as_data_error, as_unavailable, create_engine
from landmarket.health.router import router as health_router
from landmarket.matching.router import router as matching_router
from landmarket.middleware import install_middleware
from landmarket.municipalities.router import router as municipalities_router
from landmarket.ogc.router import router as ogc_router
from landmarket.plots.imports.router import router as plot_import_sessions_router
from landmarket.plots.router import router as plots_router
from landmarket.privacy.router import admin_router as privacy_admin_router
from landmarket.privacy.router import requirements_router as erasure_router
from landmarket.reports.router import router as reports_router
from landmarket.requirements.router import router as requirements_router
from landmarket.web import install_web
from landmarket.webhooks.feed_listener import FEED_APPLICATION_NAME, FeedListener, PollGate
from landmarket.webhooks.router import router as webhooks_router

DESCRIPTION = """
Inter-municipal commercial land marketplace: municipalities list reactivatable plots,
companies post space requirements, and matching pairs them across municipal boundaries.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457
`application/problem+json`. Requests are rate limited per API key (anonymous ones per client
address): over the limit the answer is 429 with `Retry-After`; `RateLimit-*` headers show the
budget. Boundary data: each municipality carries the licence line of its boundary set
(`attribution` in `/ogc/collections/municipalities/items`).
"""


def _operation_id(route: APIRoute) -> str:
    # Stable ids (the handler's name) so generated clients don't churn.
    return route.name


def resolve_database_url(settings: Settings) -> str:
    url = settings.database_url_value()
    if url:
        return url
    cluster = EmbeddedCluster(settings.data_dir)
    if not cluster.status().running:
        raise EmbeddedError(
            "No LANDMARKET_DATABASE_URL and the embedded database is not running; "
            "start it with `landmarket db start` or use `landmarket serve`"
        )
    return cluster.url()


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or resolve_database_url(settings)
        engine = create_engine(url, settings)
        app.state.engine = engine
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        # Single-statement reads (the OGC API) on their own connection pool; see db.reads.
        app.state.read_pool = open_pool(url, settings)
        # One LISTEN connection per process wakes the waiting event feed polls.
        listener = FeedListener(connector(url, settings, FEED_APPLICATION_NAME))
        app.state.feed_listener = listener
        listener.start()
        replicas: Replicas = app.state.replicas
        replicas.open(url)
        replicas.start()
        try:
            yield
        finally:
            await listener.close()
            await replicas.close()
            await app.state.feed_gate.close()
            limiter = getattr(app.state, "limiter", None)
            if limiter is not None:
                await limiter.close()
            await app.state.read_pool.close()
            await engine.dispose()

    app = FastAPI(
        title="landmarket",
        version=landmarket.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by landmarket.web from local copies (FastAPI's own pages load a CDN).
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        generate_unique_id_function=_operation_id,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.settings = settings
    app.state.feed_gate = PollGate(
        settings.event_feed_max_polls_per_key, settings.redis_url_value()
    )
    # Wherever they surface: a value the database cannot represent is a 422 (checked first:
    # the driver wraps some as interface errors), trouble the client cannot fix a 503.
    install_error_handlers(app, as_data_error, as_unavailable)
    install_openapi(app)
    # The OGC API first: its items and tiles are the hottest public reads, and routes are
    # matched in order (its paths all start with /ogc, so the order changes nothing else).
    # Described by its own OpenAPI document at /ogc/api (OGC clients read that one).
    app.include_router(ogc_router)
    app.include_router(health_router)
    app.include_router(municipalities_router, prefix="/v1")
    app.include_router(auth_router, prefix="/v1")
    app.include_router(plots_router, prefix="/v1")
    app.include_router(plot_import_sessions_router, prefix="/v1")
    app.include_router(requirements_router, prefix="/v1")
    app.include_router(erasure_router, prefix="/v1")
    app.include_router(matching_router, prefix="/v1")
    app.include_router(webhooks_router, prefix="/v1")
    app.include_router(reports_router, prefix="/v1")
    app.include_router(auth_admin_router, prefix="/v1/admin")
    app.include_router(privacy_admin_router, prefix="/v1/admin")
    # The web app at / and the documentation pages (last: only paths no API route has).
    install_web(app, settings.web_dist_dir)
    install_middleware(app, settings)
    # Which requests read from a replica (db.replicas); filled with replicas in the lifespan.
    app.state.replicas = Replicas(settings)
    if settings.read_database_urls:
        app.add_middleware(ReadRouting, replicas=app.state.replicas)
    # Outermost: HEAD runs as GET through every layer above and loses only its body.
    app.add_middleware(HeadAsGet)
    return app
