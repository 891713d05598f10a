"""Geometry rules, checked in PostGIS: each a 422 with a pointer, and nothing written."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    ORIGIN,
    UTM,
    World,
    assert_problem,
    bearer,
    count,
    feature,
    pointers,
    ring_25832,
)


async def post(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    headers = {**bearer(key), **kwargs.pop("headers", {})}
    return await client.post("/v1/plots", json=body, headers=headers, **kwargs)


async def assert_nothing_written(session: AsyncSession) -> None:
    assert await count(session, Plot) == 0
    assert await count(session, Event) == 0


async def test_point_is_rejected(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"] = {"type": "Point", "coordinates": [8.6, 50.1]}
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry/type"]
    await assert_nothing_written(session)


async def test_unclosed_ring_and_short_ring(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    ring = body["geometry"]["coordinates"][0]
    body["geometry"]["coordinates"][0] = [*ring[:-1], [ring[0][0] + 0.001, ring[0][1]]]
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry/coordinates/0"]
    body["geometry"]["coordinates"][0] = [ring[0], ring[1], ring[0]]
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry/coordinates/0"]
    await assert_nothing_written(session)


async def test_non_finite_coordinate(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"][0][2][0] = math.nan
    response = await client.post(
        "/v1/plots",
        content=json.dumps(body),  # Python's json writes NaN, as some GIS exports do
        headers={**bearer(world.frankfurt), "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert pointers(problem) == ["/body/geometry/coordinates/0/2"]
    await assert_nothing_written(session)


async def test_out_of_range_coordinate(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"][0][1][1] = 91.0
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry/coordinates/0/1"]
    await assert_nothing_written(session)


async def test_metric_coordinates_sent_as_degrees(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [ring_25832(FRANKFURT)]  # no Content-Crs header
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry/coordinates/0/0"]
    assert "Content-Crs" in problem["errors"][0]["detail"]
    await assert_nothing_written(session)


async def test_swapped_lon_lat_lies_outside_the_municipality(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    ring = body["geometry"]["coordinates"][0]
    body["geometry"]["coordinates"][0] = [[y, x] for x, y in ring][::-1]
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry"]
    assert "no known municipality" in problem["detail"]
    assert "Frankfurt am Main" in problem["detail"]
    await assert_nothing_written(session)


async def test_plot_in_another_municipality_names_it(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, "06413000", municipality_ags=FRANKFURT)
    problem = assert_problem(await post(client, world.frankfurt, body), 422)
    assert pointers(problem) == ["/body/geometry"]
    assert "Offenbach am Main (06413000)" in problem["detail"]
    await assert_nothing_written(session)


async def test_plot_just_outside_the_boundary_is_tolerated(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    # Interior point 200 m beyond Frankfurt's western edge (GIS boundaries differ a little);
    # 700 m beyond is too far.
    near = await feature(session, FRANKFURT, "near", dx=-250, side=100)
    assert (await post(client, world.frankfurt, near)).status_code == 201
    far = await feature(session, FRANKFURT, "far", dx=-750, side=100)
    problem = assert_problem(await post(client, world.frankfurt, far), 422)
    assert "no known municipality" in problem["detail"]


async def test_unknown_municipality(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, municipality_ags="06999999")
    problem = assert_problem(await post(client, world.admin, body), 422)
    assert pointers(problem) == ["/body/properties/municipality_ags"]
    await assert_nothing_written(session)


async def test_self_intersection_gives_reason_and_location(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    x, y = ORIGIN[FRANKFURT]
    bowtie = [[x + 100, y + 100], [x + 300, y + 300], [x + 300, y + 100], [x + 100, y + 300]]
    bowtie.append(bowtie[0])
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [bowtie]
    response = await post(client, world.frankfurt, body, headers={"Content-Crs": UTM})
    problem = assert_problem(response, 422)
    assert pointers(problem) == ["/body/geometry"]
    assert f"Self-intersection[{x + 200} {y + 200}]" in problem["detail"]
    assert "repair=true" in problem["errors"][0]["detail"]
    await assert_nothing_written(session)

    repaired = await post(
        client, world.frankfurt, body, headers={"Content-Crs": UTM}, params={"repair": "true"}
    )
    assert repaired.status_code == 201, repaired.text
    assert repaired.headers["geometry-repaired"].startswith("Self-intersection")
    assert abs(repaired.json()["properties"]["area_m2"] - 20_000) < 1


async def test_too_many_vertices(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    x, y = ORIGIN[FRANKFURT]
    n = 10_001
    ring = [
        [
            x + 500 + 200 * math.cos(2 * math.pi * i / n),
            y + 500 + 200 * math.sin(2 * math.pi * i / n),
        ]
        for i in range(n)
    ]
    ring.append(ring[0])
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [ring]
    response = await post(client, world.frankfurt, body, headers={"Content-Crs": UTM})
    problem = assert_problem(response, 422)
    assert pointers(problem) == ["/body/geometry/coordinates"]
    assert "10002 vertices" in problem["errors"][0]["detail"]
    await assert_nothing_written(session)


async def test_zero_area(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    x, y = ORIGIN[FRANKFURT]
    flat = [[x + 100, y + 100], [x + 200, y + 100], [x + 300, y + 100], [x + 100, y + 100]]
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [flat]
    headers = {"Content-Crs": UTM}
    # Invalid as it stands; repaired it collapses to nothing, which has no area.
    assert_problem(await post(client, world.frankfurt, body, headers=headers), 422)
    problem = assert_problem(
        await post(client, world.frankfurt, body, headers=headers, params={"repair": "true"}),
        422,
    )
    assert "area is 0" in problem["detail"]
    await assert_nothing_written(session)


async def test_area_over_50_km2(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    x, y = ORIGIN[FRANKFURT]
    side = 7_500  # 56.25 km²
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [ring]
    response = await post(client, world.frankfurt, body, headers={"Content-Crs": UTM})
    problem = assert_problem(response, 422)
    assert pointers(problem) == ["/body/geometry"]
    assert "56.25 km²" in problem["detail"]
    await assert_nothing_written(session)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("<http://www.opengis.net/def/crs/EPSG/0/9999>", 422),
        ("EPSG:4326", 201),
        ("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>", 201),
    ],
)
async def test_content_crs_header_values(
    client: httpx.AsyncClient, world: World, session: AsyncSession, header: str, status: int
) -> None:
    body = await feature(session, FRANKFURT)
    response = await post(client, world.frankfurt, body, headers={"Content-Crs": header})
    assert response.status_code == status, response.text
    if status == 422:
        assert pointers(response.json()) == ["/header/content-crs"]


async def test_multipolygon_input(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [[ring_25832(FRANKFURT)], [ring_25832(FRANKFURT, dx=400)]],
    }
    response = await post(client, world.frankfurt, body, headers={"Content-Crs": UTM})
    assert response.status_code == 201, response.text
    assert abs(response.json()["properties"]["area_m2"] - 20_000) < 0.01


async def test_heights_are_dropped(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"][0] = [[*p, 112.5] for p in body["geometry"]["coordinates"][0]]
    response = await post(client, world.frankfurt, body)
    assert response.status_code == 201, response.text
    assert len(response.json()["geometry"]["coordinates"][0][0][0]) == 2
