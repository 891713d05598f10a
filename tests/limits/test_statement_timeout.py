"""A query over LANDMARKET_STATEMENT_TIMEOUT_MS is a 503 with Retry-After, and the pooled
connection serves the next request. The slow query is real: another connection holds an
ACCESS EXCLUSIVE lock on the municipalities table, so existing read and write paths wait
on it until the timeout cancels them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from landmarket.db.session import is_query_canceled
from tests.helpers import assert_problem, bearer
from tests.limits.apps import app_with, client_of
from tests.limits.conftest import UTM, Keys, plot_feature

TIMEOUT_MS = 300


@asynccontextmanager
async def municipalities_locked(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text("LOCK TABLE municipalities IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await transaction.rollback()


async def _backend_pid(app: FastAPI) -> int:
    async with app.state.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def test_timeout_is_503_and_the_connection_stays_healthy(
    database_url: str, engine: AsyncEngine, keys: Keys
) -> None:
    async with (
        app_with(database_url, statement_timeout_ms=TIMEOUT_MS, db_pool_size=1) as app,
        client_of(app) as client,
    ):
        assert (await client.get("/v1/municipalities")).status_code == 200
        pid = await _backend_pid(app)
        # Without the timeout these requests would wait for the lock forever.
        async with asyncio.timeout(10), municipalities_locked(engine):
            listing = await client.get("/v1/municipalities")
            ogc = await client.get("/ogc/collections/municipalities/items")
            # A write path whose geometry check reads municipalities: the cancelled query is
            # the server's problem, not an "unreadable geometry" of the client's.
            write = await client.post(
                "/v1/plots", json=plot_feature("slow"), headers={**bearer(keys.municipality), **UTM}
            )
        for response in (listing, ogc, write):
            body = assert_problem(response, 503)
            assert "took too long" in body["detail"]
            assert int(response.headers["retry-after"]) > 0
            for internal in ("canceling statement", "statement timeout", "SELECT", "FROM"):
                assert internal not in response.text

        # The same pooled connection, rolled back and healthy, serves what comes next.
        assert (await client.get("/v1/municipalities")).status_code == 200
        created = await client.post(
            "/v1/plots", json=plot_feature("fast"), headers={**bearer(keys.municipality), **UTM}
        )
        assert created.status_code == 201, created.text
        assert await _backend_pid(app) == pid
        assert app.state.engine.pool.checkedout() == 0


async def test_only_cancelled_statements_count_as_cancelled(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SET statement_timeout = 50"))
        with pytest.raises(DBAPIError) as slow:
            await conn.execute(text("SELECT pg_sleep(2)"))
        await conn.rollback()
        with pytest.raises(DBAPIError) as wrong:
            await conn.execute(text("SELECT 1 / 0"))
        await conn.rollback()
    assert is_query_canceled(slow.value)
    assert not is_query_canceled(wrong.value)


async def test_the_statement_timeout_applies_to_api_connections(database_url: str) -> None:
    async with (
        app_with(database_url, statement_timeout_ms=1234) as app,
        app.state.engine.connect() as conn,
    ):
        assert await conn.scalar(text("SHOW statement_timeout")) == "1234ms"


async def test_default_app_has_a_timeout(app: FastAPI) -> None:
    async with app.state.engine.connect() as conn:
        assert await conn.scalar(text("SHOW statement_timeout")) == "30s"
