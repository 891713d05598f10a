"""Database trouble the client cannot fix is a 503 with Retry-After on every endpoint: the event
feed (which opens its own short sessions) and any handler whose driver error escapes, through
the app's one error translator (db.session.as_unavailable), never a 500."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.helpers import assert_problem, bearer
from tests.limits.apps import app_with, client_of
from tests.matching.world import World


def assert_503(response: httpx.Response) -> dict[str, object]:
    body = assert_problem(response, 503)
    assert int(response.headers["retry-after"]) > 0, response.headers
    assert "QueuePool" not in response.text and "asyncpg" not in response.text
    return body


async def test_feed_with_every_connection_busy_is_503(database_url: str, world: World) -> None:
    async with (
        app_with(database_url, db_pool_size=1, db_pool_timeout_seconds=0.5) as app,
        client_of(app) as client,
        AsyncExitStack() as held,
    ):
        for _ in range(2):  # pool_size 1 + max_overflow 1
            conn = await held.enter_async_context(app.state.engine.connect())
            await conn.execute(text("SELECT 1"))
        async with asyncio.timeout(10):
            for params in ({}, {"wait": 2}):
                response = await client.get(
                    "/v1/events", params=params, headers=bearer(world.company)
                )
                assert "busy" in str(assert_503(response)["detail"])


def _probe_routes(app: FastAPI, dsn: str) -> None:
    """Handlers that let real driver errors escape, as a future endpoint might."""

    async def pool_timeout() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def busy_connection() -> None:
        # Two statements at once on one connection: asyncpg's "another operation is in
        # progress", what a connection shared after a failure gives.
        conn = await asyncpg.connect(dsn)
        try:
            await asyncio.gather(conn.fetch("SELECT pg_sleep(0.2)"), conn.fetch("SELECT 1"))
        finally:
            conn.terminate()

    async def refused() -> None:
        await asyncpg.connect("postgresql://nobody@127.0.0.1:9/none", timeout=5)

    for path, handler in (
        ("/v1/_probe/pool", pool_timeout),
        ("/v1/_probe/busy", busy_connection),
        ("/v1/_probe/refused", refused),
    ):
        app.add_api_route(path, handler)


async def test_escaping_database_errors_are_503_everywhere(database_url: str) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    async with (
        app_with(database_url, db_pool_size=1, db_pool_timeout_seconds=0.5) as app,
        client_of(app) as client,
        AsyncExitStack() as held,
    ):
        _probe_routes(app, dsn)
        async with asyncio.timeout(20):
            assert_503(await client.get("/v1/_probe/busy"))
            assert_503(await client.get("/v1/_probe/refused"))
            for _ in range(2):
                conn = await held.enter_async_context(app.state.engine.connect())
                await conn.execute(text("SELECT 1"))
            assert_503(await client.get("/v1/_probe/pool"))
