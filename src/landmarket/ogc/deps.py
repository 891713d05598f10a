"""A read-only database connection for the OGC endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from landmarket.db.session import outage_as_503


def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """Autocommit: these endpoints only read, single statements need no BEGIN/ROLLBACK round
    trips, and the statement timeout of the engine still applies."""
    async with outage_as_503(), get_engine(request).connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


ReadConnection = Annotated[AsyncConnection, Depends(get_connection, scope="function")]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
