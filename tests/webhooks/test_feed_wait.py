"""Long polls of GET /v1/events: hundreds wait without touching the connection pool, a write
wakes them, one key cannot open more than its share, and a key revoked while a poll waits
gets no event written after the revocation.

The app here has a pool of 2 (+2 overflow) connections and looks on its own only every 30 s,
so every read during a wait is one the listener caused.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from landmarket.auth import service as auth_service
from landmarket.auth.models import ApiKey
from landmarket.auth.schemas import ApiKeyCreate
from landmarket.core.config import Settings
from landmarket.main import create_app
from landmarket.webhooks.models import WebhookEvent
from tests.helpers import assert_problem, bearer
from tests.matching.world import World

PER_KEY = 5
KEYS = 60  # 300 polls waiting at once


@pytest.fixture(scope="module")
async def feed_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = Settings(
        rate_limit_per_second=0,
        db_pool_size=2,
        db_pool_timeout_seconds=5,
        event_feed_max_polls_per_key=PER_KEY,
        event_feed_poll_seconds=30,
    )
    application = create_app(settings, database_url=database_url)
    async with LifespanManager(application, startup_timeout=30):
        yield application


@pytest.fixture
async def client(feed_app: FastAPI, clean_db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=feed_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as c:
        yield c


@contextmanager
def checkouts(app: FastAPI) -> Iterator[list[float]]:
    """The times of every checkout from the app's read-write pool while the block runs."""
    seen: list[float] = []
    engine = app.state.engine.sync_engine

    def record(*_: Any) -> None:
        seen.append(time.monotonic())

    event.listen(engine, "checkout", record)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", record)


async def until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.02)


def listener_of(app: FastAPI) -> Any:
    # getattr: run against a version without a listener, these tests fail on behaviour.
    return getattr(app.state, "feed_listener", None)


async def until_listening(app: FastAPI, seconds: float = 10) -> None:
    listener = listener_of(app)
    if listener is not None:
        await until(lambda: listener.listening, seconds, "the listener listens")


async def until_waiting(app: FastAPI, polls: int, seconds: float = 5) -> None:
    """Until ``polls`` polls wait on the listener (without one: a second for them to start)."""
    listener = listener_of(app)
    if listener is None:
        await asyncio.sleep(1)
        return
    await until(lambda: listener.waiting_polls == polls, seconds, f"{polls} polls waiting")


async def write_event(session: AsyncSession, org_id: uuid.UUID, n: int = 1) -> None:
    """An event committed the way the outbox writes them (the trigger notifies on commit)."""
    await session.execute(
        insert(WebhookEvent).values(organization_id=org_id, type="match.created", payload={"n": n})
    )
    await session.commit()


async def end_cursor(client: httpx.AsyncClient, key: str) -> str:
    response = await client.get("/v1/events", params={"limit": 1000}, headers=bearer(key))
    assert response.status_code == 200, response.text
    cursor: str = response.json()["next_cursor"]
    return cursor


async def test_hundreds_of_waiting_polls_hold_no_connection(
    client: httpx.AsyncClient, feed_app: FastAPI, world: World, session: AsyncSession
) -> None:
    keys = [world.company]
    for i in range(KEYS - 1):
        created = await auth_service.create_api_key(
            session, world.company_id, ApiKeyCreate(name=f"poller {i}")
        )
        keys.append(created.key)
    await session.commit()
    await until_listening(feed_app)

    async def poll(key: str) -> httpx.Response:
        return await client.get("/v1/events", params={"wait": 10}, headers=bearer(key))

    started = time.monotonic()
    polls = [asyncio.create_task(poll(k)) for k in keys for _ in range(PER_KEY)]
    try:
        pool = feed_app.state.engine.pool
        await until_waiting(feed_app, KEYS * PER_KEY, 8)
        # Done with their first reads: nothing checked out.
        await until(lambda: pool.checkedout() == 0, 2, "every poll waiting without a connection")
        assert not any(p.done() for p in polls), [p.result().text for p in polls if p.done()][:3]
        # One poll more per key is refused before the key is even looked up.
        with checkouts(feed_app) as refusing:
            over = [await poll(k) for k in keys[:10]]
        assert refusing == [], "a poll over the cap reached the database"
        # Other requests are served at once although 300 polls are open.
        asked = time.monotonic()
        me = await client.get("/v1/me", headers=bearer(keys[-1]))
        me_took = time.monotonic() - asked
        with checkouts(feed_app) as seen:
            await asyncio.sleep(1.0)
        assert me.status_code == 200, me.text
        assert me_took < 1.0, f"/v1/me took {me_took:.2f} s beside the waiting polls"
        # The waiting polls read nothing while nothing is written.
        assert seen == [], f"{len(seen)} pool checkouts in 1 s while 300 polls waited"
        for refused in over:
            assert_problem(refused, 429)
            assert int(refused.headers["retry-after"]) >= 1
            assert str(PER_KEY) in refused.json()["detail"]
    finally:
        answers = await asyncio.wait_for(asyncio.gather(*polls), 30)
    took = time.monotonic() - started
    statuses = {r.status_code for r in answers}
    assert statuses == {200}, [r.text for r in answers if r.status_code != 200][:3]
    assert all(r.json()["items"] == [] for r in answers)
    assert took < 20, f"the polls took {took:.1f} s"
    assert feed_app.state.feed_gate.open_polls() == 0
    assert listener_of(feed_app).waiting_polls == 0
    # The slots came free: the key may poll again.
    assert (await poll_now(client, keys[0])).status_code == 200


async def poll_now(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/v1/events", headers=bearer(key))


async def test_a_write_wakes_the_waiting_poll(
    client: httpx.AsyncClient, feed_app: FastAPI, world: World, session: AsyncSession
) -> None:
    await until_listening(feed_app)
    cursor = await end_cursor(client, world.company)
    other_org = await session.scalar(
        select(ApiKey.organization_id).where(ApiKey.organization_id != world.company_id).limit(1)
    )
    assert other_org is not None
    await session.rollback()  # no transaction of ours may hold back the feed's horizon
    with checkouts(feed_app) as seen:
        waiting = asyncio.create_task(
            client.get(
                "/v1/events", params={"after": cursor, "wait": 10}, headers=bearer(world.company)
            )
        )
        await until_waiting(feed_app, 1)
        # Registered before its first read: let that read finish.
        await asyncio.sleep(0.3)
        pool = feed_app.state.engine.pool
        await until(lambda: pool.checkedout() == 0, 5, "the first read is done")
        before = len(seen)
        await write_event(session, other_org)  # another organisation's event: stays asleep
        await asyncio.sleep(1.5)
        assert not waiting.done()
        assert len(seen) == before, "the poll read the database while nothing of its own came"
        written = time.monotonic()
        await write_event(session, world.company_id, n=7)
        response = await asyncio.wait_for(waiting, 10)
        woke_after = time.monotonic() - written
    assert response.status_code == 200, response.text
    assert [e["data"] for e in response.json()["items"]] == [{"n": 7}]
    assert woke_after < 1.0, f"the poll answered {woke_after:.2f} s after the write"


async def test_key_revoked_while_waiting_gets_no_later_event(
    client: httpx.AsyncClient, feed_app: FastAPI, world: World, session: AsyncSession
) -> None:
    cursor = await end_cursor(client, world.company)
    key_id = await session.scalar(
        select(ApiKey.id).where(ApiKey.organization_id == world.company_id)
    )
    assert key_id is not None
    await session.rollback()
    waiting = asyncio.create_task(
        client.get(
            "/v1/events", params={"after": cursor, "wait": 10}, headers=bearer(world.company)
        )
    )
    await until_waiting(feed_app, 1)
    revoked = await client.delete(f"/v1/admin/api-keys/{key_id}", headers=bearer(world.admin))
    assert revoked.status_code == 204, revoked.text
    await write_event(session, world.company_id, n=99)
    response = await asyncio.wait_for(waiting, 15)
    body = assert_problem(response, 401)
    assert body["detail"] == "Invalid API key"
    assert "99" not in response.text
    # The same answer as any other request with that key.
    again = await client.get("/v1/events", params={"after": cursor}, headers=bearer(world.company))
    assert assert_problem(again, 401) == body
