"""The read pool (db.readpool) on real connections: bounded, fair to waiters, never hands out a
connection whose statement failed or was cancelled, and closes cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from landmarket.db.readpool import PoolClosed, PoolTimeout, ReadPool


@pytest.fixture
async def dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture
async def opened(dsn: str) -> AsyncIterator[list[asyncpg.Connection]]:
    """Every connection the pools of a test opened."""
    seen: list[asyncpg.Connection] = []
    yield seen
    for conn in seen:
        conn.terminate()


def pool_of(dsn: str, opened: list[asyncpg.Connection], size: int, timeout: float) -> ReadPool:
    async def connect() -> asyncpg.Connection:
        conn = await asyncpg.connect(dsn)
        opened.append(conn)
        return conn

    return ReadPool(connect, size, timeout)


async def backend(pool: ReadPool, sleep: float = 0.0) -> int:
    rows = await pool.fetch("SELECT pg_backend_pid(), pg_sleep($1::float8)", [sleep])
    return int(rows[0][0])


async def test_callers_share_at_most_max_size_connections(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=2, timeout=10)
    pids = await asyncio.gather(*(backend(pool, 0.05) for _ in range(10)))
    assert len(set(pids)) == 2 and len(opened) == 2 and pool.size == 2
    # Free connections are reused, not reopened.
    assert await backend(pool) in pids and len(opened) == 2
    await pool.close()


async def test_waiting_longer_than_the_timeout_is_pool_timeout(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=1, timeout=0.2)
    busy = asyncio.create_task(backend(pool, 1.0))
    await asyncio.sleep(0.1)
    with pytest.raises(PoolTimeout):
        await backend(pool)
    await busy
    # The caller that gave up left nothing behind: the one connection serves the next.
    assert await backend(pool) == await backend(pool) and len(opened) == 1
    await pool.close()


async def test_a_failed_statement_discards_its_connection(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=1, timeout=5)
    first = await backend(pool)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool.fetch("SELECT 1 / 0", [])
    assert opened[0].is_closed() and pool.size == 0
    second = await backend(pool)
    assert second != first and pool.size == 1
    await pool.close()


async def test_a_cancelled_statement_discards_its_connection_and_frees_the_slot(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=1, timeout=5)
    running = asyncio.create_task(backend(pool, 5.0))
    await asyncio.sleep(0.2)
    interrupted = opened[0].get_server_pid()
    waiting = asyncio.create_task(backend(pool))  # in line for the only slot
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # The waiter gets a fresh connection, not the one whose statement was interrupted.
    async with asyncio.timeout(5):
        pid = await waiting
    assert opened[0].is_closed() and len(opened) == 2
    assert pid == opened[1].get_server_pid() != interrupted
    assert pool.size == 1
    await pool.close()


async def test_a_caller_that_stops_waiting_passes_its_connection_on(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=1, timeout=5)
    busy = asyncio.create_task(backend(pool, 0.3))
    await asyncio.sleep(0.05)
    gave_up = asyncio.create_task(backend(pool))
    patient = asyncio.create_task(backend(pool))
    await asyncio.sleep(0.05)
    gave_up.cancel()
    await busy
    async with asyncio.timeout(5):
        await patient
    assert len(opened) == 1 and pool.size == 1
    await pool.close()


async def test_close_closes_idle_and_returning_connections(
    dsn: str, opened: list[asyncpg.Connection]
) -> None:
    pool = pool_of(dsn, opened, size=2, timeout=5)
    await asyncio.gather(backend(pool, 0.05), backend(pool, 0.05))
    busy = asyncio.create_task(backend(pool, 0.3))
    await asyncio.sleep(0.1)
    await pool.close()
    assert [conn.is_closed() for conn in opened].count(True) == 1  # the idle one
    await busy
    assert all(conn.is_closed() for conn in opened) and pool.size == 0
    with pytest.raises(PoolClosed):
        await backend(pool)
