"""Concurrent duplicates of a keyed POST against a real server run once.

The first duplicate to arrive is held at its write by a table lock; the nine others arrive
while it runs and get 409 "request in progress" (they do not wait). Once it commits, a second
burst of ten gets its response replayed, byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.concurrency.conftest import wait_for_waiters
from tests.helpers import assert_problem
from tests.idempotency.conftest import counts, keyed
from tests.matching.world import FRANKFURT, make_world, requirement_body
from tests.plots.conftest import UTM
from tests.plots.test_imports import collection, utm_feature

N = 10
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _all_but_one_done(tasks: list[asyncio.Task[httpx.Response]]) -> None:
    for _ in range(600):
        if sum(t.done() for t in tasks) >= len(tasks) - 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the duplicates did not answer while the first was running")


async def _duplicates(engine: AsyncEngine, server: str, table: str, send: Send) -> httpx.Response:
    """Ten at once while the first is held, then ten after it; returns the one execution."""
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async with engine.connect() as conn:
            await conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            tasks = [asyncio.create_task(send(http)) for _ in range(N)]
            try:
                await wait_for_waiters(conn, 1)
                await _all_but_one_done(tasks)
                assert sum(not t.done() for t in tasks) == 1  # still held by our lock
            finally:
                await conn.rollback()
        during = list(await asyncio.gather(*tasks))
        after = list(await asyncio.gather(*(send(http) for _ in range(N))))

    executed = [r for r in during if r.status_code < 300]
    assert len(executed) == 1, sorted(r.status_code for r in during)
    assert "idempotent-replayed" not in executed[0].headers
    for response in during:
        if response is not executed[0]:
            problem = assert_problem(response, 409)
            assert problem["type"].endswith("/idempotency-request-in-progress")
            assert response.headers["retry-after"] == "1"
    for response in after:
        assert response.status_code == executed[0].status_code
        assert response.headers["idempotent-replayed"] == "true"
        assert response.content == executed[0].content
    return executed[0]


async def test_requirement_duplicates(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    world = await make_world(session)

    async def send(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(
            "/v1/requirements", json=requirement_body(), headers=keyed(world.company)
        )

    created = await _duplicates(clean_db, server, "requirements", send)
    assert created.status_code == 201
    rows = await counts(session)
    assert (rows["requirements"], rows["events"], rows["records"]) == (1, 1, 1)


async def test_plot_import_duplicates(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    world = await make_world(session)
    body = collection([utm_feature(FRANKFURT, f"f-{i}", i) for i in range(20)])

    async def send(http: httpx.AsyncClient) -> httpx.Response:
        headers = keyed(world.frankfurt, **{"Content-Crs": UTM})
        return await http.post("/v1/plot-imports", json=body, headers=headers)

    imported = await _duplicates(clean_db, server, "plots", send)
    assert imported.status_code == 200 and imported.json()["created"] == 20
    rows = await counts(session)
    assert (rows["plots"], rows["events"], rows["records"]) == (20, 20, 1)
