"""Geometry ownership part by part (issue 14.4): every part of a MultiPolygon lies within the
plot's municipality (500 m tolerance), on every write path: POST, PUT, PATCH and imports.

Before, only the interior point of the whole geometry was placed, and it lies in the largest
part: a small second part in another municipality was published with the plot.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.plots.conftest import (
    FRANKFURT,
    ORIGIN,
    UTM,
    World,
    assert_problem,
    bearer,
    pointers,
    table_hash,
)

FX, FY = ORIGIN[FRANKFURT]  # Frankfurt: x FX..FX+1000; Offenbach: FX+2000..FX+3000


def square(x: float, y: float, side: float) -> list[list[list[float]]]:
    return [[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]]


HOME = square(FX + 100, FY + 100, 300)  # the large part, in Frankfurt
IN_OFFENBACH = square(FX + 2400, FY + 400, 100)  # a small part 1.4 km beyond, in Offenbach
IN_NO_MAN_S_LAND = square(FX + 1600, FY + 400, 100)  # 600-700 m beyond Frankfurt, in none
JUST_BEYOND = square(FX + 1100, FY + 400, 100)  # 100-200 m beyond: within the tolerance


def body(parts: list[Any], external_id: str = "multi", *, ags: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {"external_id": external_id, "title": "Zwei Teile", "zoning": "GE"}
    if ags:
        props["municipality_ags"] = FRANKFURT
    return {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": parts},
        "properties": props,
    }


def headers(key: str) -> dict[str, str]:
    return {**bearer(key), "Content-Crs": UTM}


STRAYS = [
    pytest.param([HOME, IN_OFFENBACH], 1, "Offenbach am Main (06413000)", id="second-in-offenbach"),
    pytest.param([IN_OFFENBACH, HOME], 0, "Offenbach am Main (06413000)", id="first-in-offenbach"),
    pytest.param([HOME, IN_NO_MAN_S_LAND], 1, "no known municipality", id="second-in-none"),
]


async def _post(client: httpx.AsyncClient, key: str, doc: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/plots", json=doc, headers=headers(key))


@pytest.mark.parametrize(("parts", "index", "where"), STRAYS)
async def test_post_refuses_a_part_in_another_municipality(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    parts: list[Any],
    index: int,
    where: str,
) -> None:
    before = await table_hash(session)
    for key, doc in ((world.frankfurt, body(parts)), (world.admin, body(parts, ags=False))):
        problem = assert_problem(await _post(client, key, doc), 422)
        assert pointers(problem) == [f"/body/geometry/coordinates/{index}"]
        detail = problem["errors"][0]["detail"]
        assert f"part {index + 1} of 2" in detail and where in detail, detail
        assert "Frankfurt am Main (06412000)" in detail
    assert await table_hash(session) == before


@pytest.mark.parametrize(("parts", "index", "where"), STRAYS)
async def test_put_refuses_a_part_in_another_municipality(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    parts: list[Any],
    index: int,
    where: str,
) -> None:
    url = f"/v1/municipalities/{FRANKFURT}/plots/multi"
    good = body([HOME])
    created = await client.put(url, json=good, headers=headers(world.frankfurt))
    assert created.status_code == 201, created.text
    before = await table_hash(session)
    response = await client.put(url, json=body(parts), headers=headers(world.frankfurt))
    problem = assert_problem(response, 422)
    assert pointers(problem) == [f"/body/geometry/coordinates/{index}"]
    assert where in problem["errors"][0]["detail"]
    new = await client.put(
        f"/v1/municipalities/{FRANKFURT}/plots/new", json=body(parts), headers=headers(world.admin)
    )
    assert_problem(new, 422)
    assert await table_hash(session) == before


@pytest.mark.parametrize(("parts", "index", "where"), STRAYS)
async def test_patch_refuses_a_part_in_another_municipality(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    parts: list[Any],
    index: int,
    where: str,
) -> None:
    created = await _post(client, world.frankfurt, body([HOME]))
    assert created.status_code == 201, created.text
    before = await table_hash(session)
    response = await client.patch(
        f"/v1/plots/{created.json()['id']}",
        json={"geometry": {"type": "MultiPolygon", "coordinates": parts}},
        headers={**headers(world.frankfurt), "If-Match": created.headers["etag"]},
    )
    problem = assert_problem(response, 422)
    assert pointers(problem) == [f"/body/geometry/coordinates/{index}"]
    assert where in problem["errors"][0]["detail"]
    assert await table_hash(session) == before


@pytest.mark.parametrize(("parts", "index", "where"), STRAYS)
async def test_imports_refuse_a_part_in_another_municipality(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    parts: list[Any],
    index: int,
    where: str,
) -> None:
    features = [body([HOME], "fine"), body(parts, "stray"), body(parts, "derived", ags=False)]
    doc = {"type": "FeatureCollection", "features": features}
    before = await table_hash(session)
    problem = assert_problem(
        await client.post("/v1/plot-imports", json=doc, headers=headers(world.admin)), 422
    )
    assert await table_hash(session) == before
    for error, n in zip(problem["errors"], (1, 2), strict=True):
        assert error["pointer"] == f"/features/{n}/geometry/coordinates/{index}"
        assert where in error["detail"], error
    partial = await client.post(
        "/v1/plot-imports", json=doc, headers=headers(world.admin), params={"mode": "partial"}
    )
    assert partial.status_code == 200, partial.text
    report = partial.json()
    assert report["created"] == 1 and report["failed"] == 2
    assert [e["index"] for e in report["errors"]] == [1, 2]


async def test_a_part_within_the_tolerance_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await _post(client, world.frankfurt, body([HOME, JUST_BEYOND]))
    assert response.status_code == 201, response.text


async def test_a_single_polygon_reaching_far_beyond_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    """Its interior point lies inside, but a tongue reaches 900 m into the neighbourhood."""
    ring = [
        [FX + 100, FY + 100],
        [FX + 900, FY + 100],
        [FX + 900, FY + 400],
        [FX + 1900, FY + 400],
        [FX + 1900, FY + 420],
        [FX + 900, FY + 420],
        [FX + 900, FY + 900],
        [FX + 100, FY + 900],
        [FX + 100, FY + 100],
    ]
    doc = body([])
    doc["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    problem = assert_problem(await _post(client, world.frankfurt, doc), 422)
    assert pointers(problem) == ["/body/geometry"]
    assert "more than 500 m beyond" in problem["errors"][0]["detail"]
