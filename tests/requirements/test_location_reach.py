"""A requirement's location must reach a municipality of the company's regions (issue 14.13).

An anchor with lon/lat swapped ([50.1, 8.7], a point in Somalia) used to be accepted and
silently match nothing; an anchor or area far from Europe was a 500 (PostGIS cannot project
it to EPSG:25832). Both are refused like plot writes: 422 at the field, with the axis-order
hint, nothing written.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.matching.world import (
    DARMSTADT,
    FRANKFURT,
    OFFENBACH,
    ORIGIN,
    World,
    assert_problem,
    bearer,
    lonlat,
    lonlat_box,
    pointers,
    post_requirement,
    requirement_body,
)
from tests.requirements.test_requirements import rows_hash


def point(coordinates: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coordinates}


def square(lon: float, lat: float, side: float = 0.01) -> dict[str, Any]:
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


async def _refused(
    client: httpx.AsyncClient, session: AsyncSession, key: str, location: dict[str, Any]
) -> dict[str, Any]:
    before = await rows_hash(session)
    response = await client.post(
        "/v1/requirements", json=requirement_body(location=location), headers=bearer(key)
    )
    problem = assert_problem(response, 422)
    assert await rows_hash(session) == before
    return problem


async def test_swapped_anchor_is_refused_with_the_axis_order_hint(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    lon, lat = await lonlat(session, ORIGIN[FRANKFURT][0] + 500, ORIGIN[FRANKFURT][1] + 500)
    good = {"anchor": point([lon, lat]), "max_distance_km": 10}
    await post_requirement(client, world.company, location=good)

    problem = await _refused(
        client, session, world.company, {"anchor": point([lat, lon]), "max_distance_km": 10}
    )
    assert pointers(problem) == ["/body/location/anchor"]
    detail = problem["errors"][0]["detail"]
    assert "axis order (lon, lat)" in detail and "outside every municipality" in detail, detail


@pytest.mark.parametrize(
    "location",
    [
        pytest.param({"anchor": point([-100.0, 10.0]), "max_distance_km": 50}, id="anchor-west"),
        pytest.param({"anchor": point([179.9, -89.9]), "max_distance_km": 500}, id="anchor-pole"),
        pytest.param({"area": square(-100.0, 10.0)}, id="area-americas"),
        pytest.param({"area": square(50.1, 8.6)}, id="area-swapped"),
        pytest.param({"area": square(170.0, 60.0, 5.0)}, id="area-far-east"),
    ],
)
async def test_far_locations_are_refused_not_a_500(
    client: httpx.AsyncClient, session: AsyncSession, world: World, location: dict[str, Any]
) -> None:
    problem = await _refused(client, session, world.company, location)
    (name,) = location.keys() - {"max_distance_km"}
    assert pointers(problem) == [f"/body/location/{name}"]
    assert "axis order" in problem["errors"][0]["detail"]


async def test_a_location_between_municipalities_is_refused_unless_it_reaches_one(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    """10 km south of the test municipalities lies none: an anchor there reaches one only
    with a radius that spans the distance, an area only when it extends to one."""
    x, y = ORIGIN[FRANKFURT][0], ORIGIN[FRANKFURT][1] - 10_000
    anchor = point(await lonlat(session, x + 500, y))
    problem = await _refused(
        client, session, world.company, {"anchor": anchor, "max_distance_km": 5}
    )
    assert pointers(problem) == ["/body/location/anchor"]
    await post_requirement(
        client, world.company, location={"anchor": anchor, "max_distance_km": 12}
    )
    area = await lonlat_box(session, x, y, x + 1000, y + 1000)
    problem = await _refused(client, session, world.company, {"area": area})
    assert pointers(problem) == ["/body/location/area"]
    reaching = await lonlat_box(session, x, y, x + 1000, y + 10_500)
    await post_requirement(client, world.company, location={"area": reaching})
    # Darmstadt is in no region of the company, but a search with a location may go there.
    d = ORIGIN[DARMSTADT]
    darmstadt = point(await lonlat(session, d[0] + 500, d[1] + 500))
    await post_requirement(
        client, world.company, location={"anchor": darmstadt, "max_distance_km": 1}
    )


async def test_patch_checks_the_location_it_sends(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    lon, lat = await lonlat(session, ORIGIN[OFFENBACH][0] + 500, ORIGIN[OFFENBACH][1] + 500)
    created = await post_requirement(
        client, world.company, location={"anchor": point([lon, lat]), "max_distance_km": 5}
    )
    url = f"/v1/requirements/{created['id']}"
    headers = {**bearer(world.company), "If-Match": '"1"'}
    before = await rows_hash(session)
    swapped = {"location": {"anchor": point([lat, lon])}}
    problem = assert_problem(await client.patch(url, json=swapped, headers=headers), 422)
    assert pointers(problem) == ["/body/location/anchor"]
    far = {"location": {"area": square(-100.0, 10.0)}}
    problem = assert_problem(await client.patch(url, json=far, headers=headers), 422)
    assert pointers(problem) == ["/body/location/area"]
    assert await rows_hash(session) == before
    ok = await client.patch(url, json={"jobs": 12}, headers=headers)
    assert ok.status_code == 200, ok.text
