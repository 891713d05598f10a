"""Which database errors are a 503 with Retry-After (db.session.as_unavailable, the app's one
translation): every way a database can be away, restarting, unreachable or too busy, whether
it arrives bare from asyncpg (the read pool, the feed listener) or wrapped by SQLAlchemy; and
none of the errors that are the statement's or the data's fault."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from landmarket.db.readpool import PoolClosed, PoolTimeout
from landmarket.db.session import as_unavailable

# Port 9 (discard) is closed on a test machine: connecting is refused at once.
REFUSED = "postgresql+asyncpg://nobody:x@127.0.0.1:9/none"


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another server"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        SqlPoolTimeout("QueuePool limit of size 1 overflow 1 reached"),
        PoolTimeout("no database connection came free"),
        PoolClosed(),
        ExceptionGroup("task group", [ConnectionRefusedError(111, "refused")]),
    ],
    ids=lambda e: type(e).__name__,
)
def test_outages_are_503(exc: BaseException) -> None:
    problem = as_unavailable(exc)
    assert problem is not None and problem.status == 503
    assert int(problem.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.DivisionByZeroError("division by zero"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.InvalidTextRepresentationError("invalid input syntax"),
        ValueError("not a database error"),
        ExceptionGroup("two", [ConnectionRefusedError(), ValueError()]),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_are_not_503(exc: BaseException) -> None:
    assert as_unavailable(exc) is None


async def test_real_driver_errors_through_sqlalchemy_are_503(database_url: str) -> None:
    refused = create_async_engine(REFUSED)
    try:
        with pytest.raises((OSError, DBAPIError)) as caught:
            async with refused.connect():
                pass
        assert as_unavailable(caught.value) is not None
    finally:
        await refused.dispose()

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as wrong:
                await conn.execute(text("SELECT 1 / 0"))
            assert as_unavailable(wrong.value) is None
    finally:
        await engine.dispose()
