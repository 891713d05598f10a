"""When every pooled connection is busy for longer than LANDMARKET_DB_POOL_TIMEOUT_SECONDS, a
request is answered 503 with Retry-After (not a 500 after SQLAlchemy's pool timeout), and the
app serves again as soon as a connection comes free."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from sqlalchemy import text

from tests.helpers import assert_problem
from tests.limits.apps import app_with, client_of


async def test_exhausted_pool_is_503_and_recovers(database_url: str) -> None:
    async with (
        app_with(database_url, db_pool_size=1, db_pool_timeout_seconds=0.5) as app,
        client_of(app) as client,
    ):
        engine = app.state.engine
        async with AsyncExitStack() as held:
            # pool_size 1 + max_overflow 1: two connections, both taken.
            for _ in range(2):
                conn = await held.enter_async_context(engine.connect())
                await conn.execute(text("SELECT 1"))
            async with asyncio.timeout(10):
                response = await client.get("/v1/municipalities")
            body = assert_problem(response, 503)
            assert "connections are busy" in body["detail"]
            assert int(response.headers["retry-after"]) > 0
            assert "QueuePool" not in response.text
        assert (await client.get("/v1/municipalities")).status_code == 200


async def test_exhausted_read_pool_is_503_and_recovers(database_url: str) -> None:
    """The OGC API reads on its own pool (db.readpool): the same answer when it is full."""
    async with (
        app_with(database_url, db_pool_size=1, db_pool_timeout_seconds=0.5) as app,
        client_of(app) as client,
    ):
        held = asyncio.create_task(app.state.read_pool.fetch("SELECT pg_sleep(2)", []))
        await asyncio.sleep(0.3)
        async with asyncio.timeout(10):
            response = await client.get("/ogc/collections/plots/items")
        body = assert_problem(response, 503)
        assert "connections are busy" in body["detail"]
        assert int(response.headers["retry-after"]) > 0
        await held
        assert (await client.get("/ogc/collections/plots/items")).status_code == 200
