"""A real `landmarket serve` process shared by the package, and the choreography that makes
"concurrent" deterministic: hold a table lock, let every request pile up behind it, release."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.servers import serving

# Enough pooled connections that 50 requests can all be inside the database at once
# (2 x 25: pool plus overflow), well under the test cluster's max_connections of 100.
SERVER_POOL_SIZE = 25


@pytest.fixture(scope="package")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("serve")
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(data_dir),
        "LANDMARKET_DB_POOL_SIZE": str(SERVER_POOL_SIZE),
    }
    with serving(env, data_dir / "serve.log", "--no-worker") as running:
        yield running.base


async def waiting_backends(conn: AsyncConnection) -> int:
    """Backends blocked on a lock (pg_locks is read live, even inside a transaction)."""
    waiting = await conn.scalar(text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"))
    return int(waiting or 0)


async def wait_for_waiters(conn: AsyncConnection, expected: int) -> None:
    """Until ``expected`` backends wait on a lock; fails after about 30 s."""
    for _ in range(600):
        if await waiting_backends(conn) >= expected:
            return
        await asyncio.sleep(0.05)
    seen = await waiting_backends(conn)
    raise AssertionError(f"only {seen} of {expected} requests reached the lock")
