"""A minimal connection pool for single-statement reads (``db.reads``).

asyncpg's own pool costs a hot read more than the statement's round trip on the client side:
every release goes through ``asyncio.shield`` (a task and an extra turn of the event loop),
arms an idle timer and runs a reset hook, and every acquire enters an ``asyncio.timeout``.
Measured on the OGC items request (2 cores, 4 clients): 0.25 ms of server CPU per request
with asyncpg's pool, 0.16 ms with this one, and a third more requests per second.

These reads never change session state (no SET, LISTEN, cursors, advisory locks or open
transactions), so a connection needs no reset between users. What this pool does:

- connections are opened on demand up to ``max_size``; a free one is taken without awaiting;
- when all are busy a caller waits in line, at most ``timeout`` seconds (then
  ``PoolTimeout``);
- a connection whose statement failed or was cancelled is closed, not reused (its protocol
  state is unknown), and its slot goes to the next caller in line;
- ``close`` closes the idle connections at once and the busy ones as they come back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class PoolTimeout(Exception):
    """No connection came free in time."""


class PoolClosed(Exception):
    """The pool was closed (the app is shutting down)."""


class ReadPool:
    def __init__(
        self, connect: Connect, max_size: int, timeout: float, *, in_transaction: bool = False
    ) -> None:
        self._connect = connect
        # Behind a transaction-pooling proxy: an unnamed statement is parsed and executed in
        # two round trips, between which the proxy may switch server connections unless a
        # transaction holds it.
        self._in_transaction = in_transaction
        self._max_size = max_size
        self._timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        # A waiter gets a connection, or None: a slot came free, open a connection yourself.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._slots = 0  # connections open or being opened
        self._closed = False

    @property
    def size(self) -> int:
        return self._slots

    async def fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        conn = await self._acquire()
        try:
            if self._in_transaction:
                async with conn.transaction(readonly=True):
                    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            else:
                rows = await conn.fetch(sql, *args)
        except BaseException:
            self._discard(conn)
            raise
        self._release(conn)
        return rows

    async def _acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise PoolClosed
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._slots -= 1  # the server closed it while it was idle
        if self._slots < self._max_size:
            return await self._open()
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        try:
            handed = await asyncio.wait_for(asyncio.shield(waiter), self._timeout)
        except TimeoutError:
            raise self._give_up(waiter) from None
        except asyncio.CancelledError:
            self._give_up(waiter)
            raise
        return handed if handed is not None else await self._open(reserved=True)

    def _give_up(self, waiter: asyncio.Future[asyncpg.Connection | None]) -> PoolTimeout:
        """The caller stops waiting: whatever was handed to it meanwhile is passed on."""
        if waiter.done():
            handed = waiter.result()
            if handed is None:
                self._slots -= 1
                self._free_slot()
            else:
                self._release(handed)
        else:
            waiter.cancel()
        return PoolTimeout(f"no database connection came free within {self._timeout:g} s")

    async def _open(self, *, reserved: bool = False) -> asyncpg.Connection:
        """A new connection in a free slot (``reserved``: the slot was handed to us)."""
        if not reserved:
            self._slots += 1
        try:
            return await self._connect()
        except BaseException:
            self._slots -= 1
            self._free_slot()
            raise

    def _release(self, conn: asyncpg.Connection) -> None:
        if self._closed:
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: asyncpg.Connection) -> None:
        conn.terminate()
        self._slots -= 1
        self._free_slot()

    def _free_slot(self) -> None:
        """A slot came free: it is reserved for the first caller in line, who opens a
        connection in it (nobody arriving meanwhile can take it)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._slots += 1
                waiter.set_result(None)
                return

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._slots -= 1
            await conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed())
