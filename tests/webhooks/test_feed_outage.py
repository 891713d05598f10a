"""The database goes away under the event feed (a private cluster of this test's own, never the
shared one): waiting and new polls, other endpoints and the OGC read pool answer 503 with
Retry-After instead of 500; when it is back, the listener reconnects and a write wakes a poll
again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from landmarket.core.config import Settings
from landmarket.main import create_app
from landmarket.webhooks.models import WebhookEvent
from tests.faults.conftest import Throwaway, cluster, throwaway  # noqa: F401 (fixtures)
from tests.helpers import assert_problem, bearer
from tests.matching.world import World, make_world
from tests.webhooks.test_feed_wait import listener_of, until_listening, until_waiting


@pytest.fixture
async def outage_world(throwaway: Throwaway) -> World:  # noqa: F811
    engine = create_async_engine(throwaway.url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            return await make_world(session)
    finally:
        await engine.dispose()


@pytest.fixture
async def outage_app(throwaway: Throwaway) -> AsyncIterator[FastAPI]:  # noqa: F811
    settings = Settings(
        rate_limit_per_second=0,
        db_pool_size=2,
        db_pool_timeout_seconds=2,
        event_feed_poll_seconds=30,
    )
    application = create_app(settings, database_url=throwaway.url)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


def assert_503(response: httpx.Response) -> None:
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1, response.headers


async def write_event(url: str, org_id: uuid.UUID) -> None:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            await session.execute(
                insert(WebhookEvent).values(
                    organization_id=org_id, type="match.created", payload={"back": True}
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


async def test_feed_and_reads_answer_503_while_the_database_is_away(
    throwaway: Throwaway,  # noqa: F811
    outage_app: FastAPI,
    outage_world: World,
) -> None:
    transport = httpx.ASGITransport(app=outage_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
        key = bearer(outage_world.company)
        first = await client.get("/v1/events", headers=key)
        assert first.status_code == 200, first.text
        cursor = first.json()["next_cursor"]
        await until_listening(outage_app)

        waiting = asyncio.create_task(
            client.get("/v1/events", params={"after": cursor, "wait": 3}, headers=key)
        )
        await until_waiting(outage_app, 1)
        await asyncio.to_thread(throwaway.stop)
        try:
            # The poll that was waiting when the database went away.
            assert_503(await asyncio.wait_for(waiting, 20))
            started = time.monotonic()
            for path in (
                "/v1/events",
                "/v1/events?wait=1",
                "/v1/me",
                "/ogc/collections/plots/items",
                "/ogc/collections/plots/items?limit=5",
                "/ogc/collections/plots/items?limit=2000",  # streamed from a cursor
            ):
                assert_503(await client.get(path, headers=key))
            assert time.monotonic() - started < 15
            assert not listener_of(outage_app).listening
        finally:
            await asyncio.to_thread(throwaway.start)

        # Back: the listener reconnects on its own and a write wakes a waiting poll again.
        await until_listening(outage_app, 20)
        for path in ("/ogc/collections/plots/items", "/ogc/collections/plots/items?limit=2000"):
            back = await client.get(path)
            assert back.status_code == 200, back.text
        waiting = asyncio.create_task(
            client.get("/v1/events", params={"after": cursor, "wait": 10}, headers=key)
        )
        await until_waiting(outage_app, 1)
        written = time.monotonic()
        await write_event(throwaway.url, outage_world.company_id)
        response = await asyncio.wait_for(waiting, 15)
        assert response.status_code == 200, response.text
        assert [e["data"] for e in response.json()["items"]] == [{"back": True}]
        assert time.monotonic() - written < 2
