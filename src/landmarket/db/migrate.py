"""Alembic, driven programmatically over the app's async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import landmarket

# Tables that belong to PostGIS (or its optional extensions), not to us.
_FOREIGN_TABLES = {"spatial_ref_sys", "layer", "topology"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: skip PostGIS's tables, let GeoAlchemy2 handle spatial indexes."""
    if type_ == "table" and name in _FOREIGN_TABLES:
        return False
    keep = alembic_helpers.include_object(  # type: ignore[no-untyped-call]
        obj, name, type_, reflected, compare_to
    )
    return bool(keep)


def migrations_dir() -> Path:
    packaged = Path(landmarket.__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(landmarket.__file__).resolve().parents[2] / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# pg_advisory_xact_lock key held while migrating ("landmarket" in ASCII, truncated): nodes
# started together with `serve --migrate` take turns, and those after the first find the
# schema at head and do nothing.
MIGRATION_LOCK = 0x6C616E646D61726B


async def _with_connection(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(sync_conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        action(cfg)

    async with engine.begin() as conn:
        # Held until the migration's transaction ends (DDL is transactional in PostgreSQL).
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _with_connection(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _with_connection(engine, lambda cfg: command.downgrade(cfg, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def is_at_head(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
