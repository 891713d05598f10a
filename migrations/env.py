"""Alembic environment: async engine, GeoAlchemy2 helpers, PostGIS's own tables ignored."""

from __future__ import annotations

import asyncio

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from landmarket.db.migrate import include_object
from landmarket.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        compare_server_default=False,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    # Called from landmarket.db.migrate with a live connection (CLI, serve, tests).
    _run(connection)
else:
    # Plain `alembic ...` from a shell: use the app's settings.
    from landmarket.core.config import get_settings
    from landmarket.db.session import async_url

    url = get_settings().database_url_value()
    if not url:
        raise SystemExit("set LANDMARKET_DATABASE_URL, or use `landmarket db upgrade`")
    asyncio.run(_run_with_url(async_url(url)))
