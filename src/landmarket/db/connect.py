"""Getting a database for CLI commands: the configured server or the embedded cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from landmarket.core.config import Settings
from landmarket.db import migrate
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import create_engine


class SchemaBehindError(RuntimeError):
    pass


@contextmanager
def database_url(settings: Settings) -> Iterator[tuple[str, bool]]:
    """Yield (url, embedded). The embedded cluster is started if needed and, if this call
    started it, stopped again afterwards."""
    url = settings.database_url_value()
    if url:
        yield url, False
        return
    cluster = EmbeddedCluster(settings.data_dir)
    started = cluster.start()
    try:
        yield cluster.url(), True
    finally:
        if started:
            cluster.stop()


async def ensure_schema(engine: AsyncEngine, *, migrate_now: bool) -> None:
    """Bring the embedded database to head; refuse to touch an external one that is behind."""
    if await migrate.is_at_head(engine):
        return
    if migrate_now:
        await migrate.upgrade(engine)
        return
    current = await migrate.current_revision(engine)
    raise SchemaBehindError(
        f"The database schema is at {current or 'no revision'}, this version needs "
        f"{migrate.head_revision()}: run `landmarket db upgrade` (or pass --migrate)"
    )


@asynccontextmanager
async def cli_session(
    settings: Settings, url: str, *, embedded: bool
) -> AsyncIterator[AsyncSession]:
    """One transaction for a CLI command: committed on success, rolled back on any error."""
    engine = create_engine(url, settings)
    try:
        await ensure_schema(engine, migrate_now=embedded)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker() as session, session.begin():
            yield session
    finally:
        await engine.dispose()
