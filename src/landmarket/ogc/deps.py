"""A read-only database connection for the OGC endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from landmarket.core.errors import ServiceUnavailable


def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """Autocommit: these endpoints only read, single statements need no BEGIN/ROLLBACK round
    trips, and the statement timeout of the engine still applies."""
    try:
        async with get_engine(request).connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
    except (OSError, InterfaceError) as exc:
        raise ServiceUnavailable("The database is not reachable; try again shortly") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise ServiceUnavailable("The database connection was lost; try again") from exc
        raise


ReadConnection = Annotated[AsyncConnection, Depends(get_connection, scope="function")]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
