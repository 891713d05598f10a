"""Migrations apply, revert and re-apply on an empty database, and match the models."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from landmarket.db import migrate
from landmarket.models import Base
from tests.pgserver import PgServer

OWN_TABLES = set(Base.metadata.tables)


@pytest.fixture
async def empty_engine(pg_server: PgServer) -> AsyncIterator[AsyncEngine]:
    url = await pg_server.acreate_database("lm_migrations")
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()
    await pg_server.adrop_database(url)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_upgrade_downgrade_upgrade(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        assert await conn.run_sync(_tables) >= OWN_TABLES
        postgis = await conn.exec_driver_sql("SELECT extname FROM pg_extension")
        assert "postgis" in {row[0] for row in postgis}
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()

    await migrate.downgrade(empty_engine, "base")
    async with empty_engine.connect() as conn:
        assert not OWN_TABLES & await conn.run_sync(_tables)
    assert await migrate.current_revision(empty_engine) is None

    await migrate.upgrade(empty_engine)
    assert await migrate.is_at_head(empty_engine)


async def test_models_and_migrations_agree(empty_engine: AsyncEngine) -> None:
    """Autogenerate against a fully migrated database must find nothing to do."""
    await migrate.upgrade(empty_engine)

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": migrate.include_object,
                "compare_type": True,
                "target_metadata": Base.metadata,
            },
        )
        return list(compare_metadata(context, Base.metadata))

    async with empty_engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models differ from migrations: {differences}"
