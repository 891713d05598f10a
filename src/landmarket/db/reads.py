"""Single-statement reads on their own engine: the hot read paths (the OGC API) without the
per-request costs of the read-write engine.

The read-write engine pings every connection it checks out (with asyncpg that is BEGIN, a
ping and ROLLBACK: three round trips) and wraps work in a transaction. A read of one
statement needs neither: this engine is autocommit, so a query is one round trip, and instead
of pinging it retries a read once when the server dropped the connection since its last use
(a restart, an idle timeout). Reads are idempotent, so the retry is safe; a database that is
still away is a 503 (``outage_as_503``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.requests import Request

from landmarket.core.config import Settings
from landmarket.db.session import async_url, connect_args, outage_as_503

T = TypeVar("T")


def create_read_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        isolation_level="AUTOCOMMIT",
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        connect_args=connect_args(settings, "landmarket-read"),
    )


def read_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.read_engine
    return engine


async def _retrying(engine: AsyncEngine, run: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with outage_as_503():
        try:
            async with engine.connect() as conn:
                return await run(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The pool has marked every connection older than the failure as stale, so this
        # checkout connects afresh.
        async with engine.connect() as conn:
            return await run(conn)


async def rows(
    engine: AsyncEngine, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Row[*tuple[Any, ...]]]:
    async def run(conn: AsyncConnection) -> Sequence[Row[*tuple[Any, ...]]]:
        return (await conn.execute(statement, params)).all()

    return await _retrying(engine, run)


async def scalar(
    engine: AsyncEngine, statement: Executable, params: Mapping[str, Any] | None = None
) -> Any:
    async def run(conn: AsyncConnection) -> Any:
        return await conn.scalar(statement, params)

    return await _retrying(engine, run)
