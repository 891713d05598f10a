"""Engine and the per-request session that owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base
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
from landmarket.core.errors import FieldError, ServiceUnavailable, ValidationFailed
from landmarket.db.readpool import PoolClosed
from landmarket.db.readpool import PoolTimeout as ReadPoolTimeout


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the asyncpg driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    args = connect_args(settings)
    if settings.db_transaction_pooler:
        # Behind PgBouncer in transaction mode consecutive transactions may run on different
        # server connections, which keep the prepared statements of other clients: asyncpg's
        # numbered names would collide and cached statements be missing. Unique names, no
        # caches (SQLAlchemy's here, asyncpg's in connect_args).
        url = (
            make_url(async_url(url))
            .update_query_dict({"prepared_statement_cache_size": "0"})
            .render_as_string(hide_password=False)
        )
        args["prepared_statement_name_func"] = _statement_name
    return create_async_engine(
        async_url(url),
        pool_pre_ping=True,
        # Bound values (key digests, webhook secrets, personal data) stay out of exception
        # messages and of SQL logging at DEBUG level.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=args,
    )


def _statement_name() -> str:
    return f"__lm_{uuid.uuid4().hex}__"


def connect_args(settings: Settings, application_name: str = "landmarket") -> dict[str, Any]:
    """asyncpg connection arguments of every API connection (``db.reads`` has its own pool)."""
    if settings.db_transaction_pooler:
        # A pooler passes no startup parameters but the application name (PgBouncer refuses
        # the others): statement_timeout and jit are then the role's or database's settings.
        return {
            "server_settings": {"application_name": application_name},
            "statement_cache_size": 0,
            "timeout": 5,
        }
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


# SQLSTATE class 22, "data exception": a value the database cannot hold or compare
# (numeric_value_out_of_range, untranslatable_character, string_data_right_truncation,
# invalid_escape_sequence, datetime_field_overflow, ...).
DATA_EXCEPTION_CLASS = "22"


def is_data_error(exc: BaseException) -> bool:
    """Whether a database error means a value of the request cannot be represented: a class
    22 error from the server, or the driver refusing to encode an argument (e.g. an integer
    beyond its column type), as asyncpg raises it or as SQLAlchemy wraps it."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        return orig is not None and (is_data_error(orig) or _driver_cause_is_data(orig))
    if isinstance(exc, asyncpg_base.DataError):  # the driver's own: an argument it cannot encode
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(exc, asyncpg.PostgresError) and str(state or "").startswith(
        DATA_EXCEPTION_CLASS
    )


def _driver_cause_is_data(orig: BaseException) -> bool:
    # SQLAlchemy's asyncpg adapter raises its own DB-API error from the asyncpg one.
    cause = orig.__cause__
    return cause is not None and cause is not orig and is_data_error(cause)


def as_data_error(exc: BaseException) -> ValidationFailed | None:
    """The guard of last resort, installed as the app's first error translator: a value the
    database cannot represent is the client's input, not a server fault (422, not 500 or a
    503 that blames the database). Validation should have refused it first, naming the
    field; reaching here is logged (as every translated error is) so that check can be
    added."""
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return as_data_error(exc.exceptions[0])
    if not is_data_error(exc):
        return None
    detail = "A value in the request cannot be stored or compared by the database"
    return ValidationFailed(detail, errors=[FieldError(pointer="", detail=detail)])


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the database is down, restarting or unreachable (the request
    may succeed later), not that the statement or its data were wrong."""
    if is_data_error(exc):
        return False  # the driver could not encode a value (wrapped as an InterfaceError)
    if isinstance(exc, OSError | InterfaceError | asyncpg.InterfaceError):
        # Refused, reset or timed out connecting; the driver's "connection closed" and
        # "another operation is in progress" (a connection left mid-protocol by a failure).
        return True
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


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The one translation of database trouble the client cannot fix into 503 + Retry-After
    (None for anything else): the database is down, restarting or dropped the connection, a
    statement ran over ``statement_timeout`` (the transaction is rolled back, so the pooled
    connection is reused healthy), or no pooled connection came free within
    ``db_pool_timeout_seconds``. Covers both pools: SQLAlchemy's (driver errors wrapped in
    ``DBAPIError``) and ``db.readpool`` (bare asyncpg errors).

    Installed as the app's error translator, so it applies wherever such an error surfaces,
    also in code that opens its own session (the event feed, streams) or runs outside
    FastAPI's dependencies (the OGC API).
    """
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return as_unavailable(exc.exceptions[0])  # from a task group (streams, middleware)
    if isinstance(exc, PoolTimeout | ReadPoolTimeout):
        return unavailable("All database connections are busy; try again shortly")
    if isinstance(exc, PoolClosed):
        return unavailable("The service is shutting down; try again shortly")
    # SQLAlchemy's asyncpg adapter copies the SQLSTATE onto the exception it wraps.
    source = exc.orig if isinstance(exc, DBAPIError) else exc
    state = str(getattr(source, "sqlstate", None) or "")
    if state == QUERY_CANCELED:
        return unavailable(
            "The query took too long and was cancelled; try again later or narrow it"
        )
    if is_outage(exc) or (isinstance(exc, asyncpg.PostgresError) and is_unavailable_state(state)):
        return unavailable("The database is not reachable; try again shortly")
    return None


@asynccontextmanager
async def outage_as_503() -> AsyncIterator[None]:
    """``as_unavailable`` for a block: its database trouble becomes the 503 right here (so a
    dependency's transaction ends with a clean rollback before the response is rendered)."""
    try:
        yield
    except (OSError, DBAPIError, PoolTimeout, asyncpg.InterfaceError, asyncpg.PostgresError) as exc:
        problem = as_unavailable(exc)
        if problem is None:
            raise
        raise problem from exc


async def started(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream`` run up to its first chunk now, before any status is sent: a stream that opens
    its own connection first (a server-side cursor) then answers a database that is away or
    a full pool with the 503 like any request, instead of a 200 cut off after the headers."""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = None

    async def rest() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield first
        async for chunk in stream:
            yield chunk

    return rest()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    Declared with ``scope="function"`` below so the commit happens before the response is
    sent: a client never sees 2xx for a write that then fails to commit.
    """
    # Reads routed to a replica (db.replicas) run there; writes in them still go to the primary.
    replicas = getattr(request.app.state, "replicas", None)
    routed = await replicas.session_for(request.scope) if replicas is not None else None
    if routed is not None:
        async with outage_as_503(), routed:
            yield routed
            await routed.commit()
        return
    maker = get_sessionmaker(request)
    async with outage_as_503(), maker() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
