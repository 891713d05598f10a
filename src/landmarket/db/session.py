"""Engine and the per-request session that owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from landmarket.core.config import Settings
from landmarket.core.errors import ServiceUnavailable, is_data_error


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
        # Bound values (key digests, webhook secrets, personal data) stay out of exception
        # messages and of SQL logging at DEBUG level.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args(settings),
    )


def connect_args(settings: Settings, application_name: str = "landmarket") -> dict[str, Any]:
    """asyncpg connection arguments of every API connection (``db.reads`` has its own pool)."""
    return {
        "server_settings": {
            "application_name": application_name,
            "statement_timeout": str(settings.statement_timeout_ms),
            # API statements are short; JIT compiling a large one (matching's candidate
            # select is estimated expensive) costs 0.3-4 s before the first row.
            "jit": "off",
        },
        "timeout": 5,
    }


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


# SQLSTATE query_canceled: statement_timeout fired (or an operator cancelled the query).
QUERY_CANCELED = "57014"
# Seconds a client should wait before retrying after a 503 from the database layer.
RETRY_AFTER_S = 5


def is_query_canceled(exc: BaseException) -> bool:
    """Whether a driver error is a cancelled statement; code that turns database errors into
    input errors must let it through, so it ends up a 503 (``outage_as_503``)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED


# SQLSTATEs of a server that is going away or not there yet: admin_shutdown (fast shutdown),
# crash_shutdown (another backend crashed), cannot_connect_now (starting up or shutting down),
# too_many_connections; connection exceptions are class 08.
_SERVER_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the database is down, restarting or unreachable (the request
    may succeed later), not that the statement or its data were wrong."""
    if is_data_error(exc):
        return False  # the driver could not encode a value (wrapped as an InterfaceError)
    if isinstance(exc, (OSError, InterfaceError)):
        return True  # refused, reset or timed out connecting; the driver's "connection closed"
    if not isinstance(exc, DBAPIError):
        return False
    # Errors while connecting are not marked connection_invalidated: judge them by SQLSTATE.
    state = str(getattr(exc.orig, "sqlstate", None) or "")
    return exc.connection_invalidated or is_unavailable_state(state)


def is_unavailable_state(sqlstate: str) -> bool:
    """Whether a SQLSTATE says the server is unreachable, going away or not there yet."""
    return sqlstate.startswith("08") or sqlstate in _SERVER_UNAVAILABLE


def is_transient(exc: BaseException) -> bool:
    """An outage or a cancelled statement: code that turns database errors into input errors
    (e.g. "unreadable geometry") must let these through, so they end up a 503."""
    return is_outage(exc) or is_query_canceled(exc)


def unavailable(detail: str) -> ServiceUnavailable:
    """503 with Retry-After, so clients and proxies back off instead of hammering."""
    return ServiceUnavailable(detail, headers={"Retry-After": str(RETRY_AFTER_S)})


@asynccontextmanager
async def outage_as_503() -> AsyncIterator[None]:
    """The one translation of database trouble the client cannot fix into 503 + Retry-After
    instead of 500: the database is down, dropped the connection, a statement ran over
    ``statement_timeout`` (the transaction is rolled back, so the pooled connection is reused
    healthy), or no pooled connection came free within ``db_pool_timeout_seconds``."""
    try:
        yield
    except PoolTimeout as exc:
        raise unavailable("All database connections are busy; try again shortly") from exc
    except (OSError, DBAPIError) as exc:
        if is_query_canceled(exc):
            raise unavailable(
                "The query took too long and was cancelled; try again later or narrow it"
            ) from exc
        if is_outage(exc):
            raise unavailable("The database is not reachable; try again shortly") from exc
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
