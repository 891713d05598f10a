"""50 concurrent PATCHes with the same If-Match against a real server: exactly one wins.

A table lock taken by the test holds every request inside the database until all 50 are
there, so the outcome cannot come from requests that happened to run one after another:
for plots all 50 have passed the If-Match check and wait at the write, so the compare-and-set
on the version is what decides; for requirements the row lock taken by the read decides.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement
from tests.concurrency.conftest import wait_for_waiters
from tests.helpers import assert_problem, bearer
from tests.matching.world import FRANKFURT, ORIGIN, insert_plot, make_world, requirement_body

N = 50


async def _patch_all(
    engine: AsyncEngine, server: str, table: str, url: str, key: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    headers = {**bearer(key), "If-Match": '"1"'}
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as http:
        async with engine.connect() as conn:
            # Blocks every write to the table (not reads) until rolled back below.
            await conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            tasks = [asyncio.create_task(http.patch(url, json=b, headers=headers)) for b in bodies]
            try:
                await wait_for_waiters(conn, N)
            finally:
                await conn.rollback()
        return list(await asyncio.gather(*tasks))


def _one_winner(responses: list[httpx.Response]) -> httpx.Response:
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, sorted(r.status_code for r in responses)
    losers = [r for r in responses if r is not winners[0]]
    for response in losers:
        assert_problem(response, 412)
        # Lost at the If-Match check or at the write: either way, the version to read next.
        assert response.headers["etag"] == '"2"', response.headers
    assert len(losers) == N - 1
    assert winners[0].headers["etag"] == '"2"'
    return winners[0]


async def _events(session: AsyncSession, entity_type: str, entity_id: uuid.UUID) -> list[str]:
    await session.rollback()
    rows = await session.scalars(
        select(Event.action)
        .where(Event.entity_type == entity_type, Event.entity_id == str(entity_id))
        .order_by(Event.id)
    )
    return list(rows)


async def test_plot_patches(server: str, session: AsyncSession, clean_db: AsyncEngine) -> None:
    world = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = await insert_plot(session, FRANKFURT, x=x + 100, y=y + 100)
    bodies = [{"properties": {"title": f"Title {i}"}} for i in range(N)]

    responses = await _patch_all(
        clean_db, server, "plots", f"/v1/plots/{plot_id}", world.frankfurt, bodies
    )

    winner = _one_winner(responses)
    await session.rollback()
    version, title = (
        await session.execute(select(Plot.version, Plot.title).where(Plot.id == plot_id))
    ).one()
    assert version == 2
    assert title == winner.json()["properties"]["title"]
    assert await _events(session, "plot", plot_id) == ["update"]


async def test_requirement_patches(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    world = await make_world(session)
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        created = await http.post(
            "/v1/requirements", json=requirement_body(), headers=bearer(world.company)
        )
    assert created.status_code == 201, created.text
    rid = uuid.UUID(created.json()["id"])
    bodies = [{"jobs": i + 1} for i in range(N)]

    responses = await _patch_all(
        clean_db, server, "requirements", f"/v1/requirements/{rid}", world.company, bodies
    )

    winner = _one_winner(responses)
    await session.rollback()
    version, jobs = (
        await session.execute(
            select(Requirement.version, Requirement.jobs).where(Requirement.id == rid)
        )
    ).one()
    assert version == 2
    assert jobs == winner.json()["jobs"]
    assert await _events(session, "requirement", rid) == ["create", "update"]
    assert await session.scalar(select(func.count()).select_from(Requirement)) == 1
