"""Engine and the per-request session that owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from landmarket.core.config import Settings
from landmarket.core.errors import ServiceUnavailable


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the asyncpg driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        connect_args={
            "server_settings": {
                "application_name": "landmarket",
                "statement_timeout": str(settings.statement_timeout_ms),
            },
            "timeout": 5,
        },
    )


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


@asynccontextmanager
async def outage_as_503() -> AsyncIterator[None]:
    """A database that is down or dropped the connection is a 503 for the client, not a 500."""
    try:
        yield
    except (OSError, InterfaceError) as exc:
        raise ServiceUnavailable("The database is not reachable; try again shortly") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise ServiceUnavailable("The database connection was lost; try again") from exc
        raise


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    Declared with ``scope="function"`` below so the commit happens before the response is
    sent: a client never sees 2xx for a write that then fails to commit.
    """
    maker = get_sessionmaker(request)
    async with outage_as_503(), maker() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
