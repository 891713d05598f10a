"""20 concurrent PUTs of one new plot id against a real server (issue 14.12).

Without If-Match a PUT replaces the plot with its body whatever the plot is now:
last-writer-wins. Before, the losers of the insert got 409 and the losers of the version
compare-and-set 412 ({201: 1, 200: 1, 409: 9, 412: 9}). The same table-lock choreography as
test_if_match.py holds every request inside the database until all are there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.concurrency.conftest import wait_for_waiters
from tests.helpers import assert_problem, bearer
from tests.matching.world import FRANKFURT, ORIGIN, make_world

N = 20
UTM = "<http://www.opengis.net/def/crs/EPSG/0/25832>"
URL = f"/v1/municipalities/{FRANKFURT}/plots/gis-4711"


def body(i: int) -> dict[str, Any]:
    x, y = ORIGIN[FRANKFURT]
    x0, y0, side = x + 100 + 10 * i, y + 100, 50 + i
    ring = [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"title": f"Writer {i}", "zoning": "GE", "status": "published"},
    }


async def _put_all(
    engine: AsyncEngine, server: str, key: str, if_match: str | None
) -> list[httpx.Response]:
    headers = {**bearer(key), "Content-Crs": UTM}
    if if_match is not None:
        headers["If-Match"] = if_match
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as http:
        async with engine.connect() as conn:
            # Blocks every write to plots (not reads) until rolled back below.
            await conn.execute(text("LOCK TABLE plots IN SHARE ROW EXCLUSIVE MODE"))
            tasks = [
                asyncio.create_task(http.put(URL, json=body(i), headers=headers)) for i in range(N)
            ]
            try:
                await wait_for_waiters(conn, N)
            finally:
                await conn.rollback()
        return list(await asyncio.gather(*tasks))


async def test_unconditional_puts_of_a_new_id_all_succeed(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    world = await make_world(session)
    responses = await _put_all(clean_db, server, world.frankfurt, None)

    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 200: N - 1}, [(r.status_code, r.text[:200]) for r in responses]
    await session.rollback()
    plot = (await session.scalars(select(Plot).where(Plot.external_id == "gis-4711"))).one()
    titles = {f"Writer {i}" for i in range(N)}
    assert plot.title in titles
    # Every writer applied its body in turn: one create and N - 1 replacements.
    assert plot.version == N
    actions = list(
        await session.scalars(
            select(Event.action).where(Event.entity_id == str(plot.id)).order_by(Event.id)
        )
    )
    assert actions == ["create"] + ["update"] * (N - 1)
    last = await session.scalar(
        select(Event.after).where(Event.entity_id == str(plot.id)).order_by(Event.id.desc())
    )
    assert last is not None and last["properties"]["title"] == plot.title
    # The row holds that writer's whole body, geometry included.
    writer = int(plot.title.removeprefix("Writer "))
    area = await session.scalar(select(func.ST_Area(Plot.geom)).where(Plot.id == plot.id))
    assert abs(float(area) - (50 + writer) ** 2) < 0.01
    etags = sorted(int(r.headers["etag"].strip('"')) for r in responses)
    assert etags == list(range(1, N + 1))


async def test_conditional_puts_keep_their_precondition(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    world = await make_world(session)
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        first = await http.put(
            URL, json=body(99), headers={**bearer(world.frankfurt), "Content-Crs": UTM}
        )
    assert first.status_code == 201, first.text

    responses = await _put_all(clean_db, server, world.frankfurt, '"1"')

    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 412: N - 1}, codes
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412)
            assert response.headers["etag"] == '"2"'
    await session.rollback()
    assert await session.scalar(select(Plot.version)) == 2


async def test_unconditional_withdrawals_all_succeed(
    server: str, session: AsyncSession, clean_db: AsyncEngine
) -> None:
    """The same for the other write without a required If-Match: concurrent DELETEs (withdraw)
    of one plot. One withdraws it, the others find it withdrawn; none is a 412."""
    world = await make_world(session)
    headers = {**bearer(world.frankfurt), "Content-Crs": UTM}
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        created = await http.put(URL, json=body(1), headers=headers)
        assert created.status_code == 201, created.text
        url = f"/v1/plots/{created.json()['id']}"
        limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
        async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as many:
            async with clean_db.connect() as conn:
                await conn.execute(text("LOCK TABLE plots IN SHARE ROW EXCLUSIVE MODE"))
                tasks = [
                    asyncio.create_task(many.delete(url, headers=bearer(world.frankfurt)))
                    for _ in range(N)
                ]
                try:
                    await wait_for_waiters(conn, N)
                finally:
                    await conn.rollback()
            responses = await asyncio.gather(*tasks)
    assert Counter(r.status_code for r in responses) == {204: N}, [r.text for r in responses]
    await session.rollback()
    assert await session.scalar(select(Plot.version)) == 2
