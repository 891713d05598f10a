"""Listings (filters, bbox, pagination) and CRS in and out."""

from __future__ import annotations

import itertools
import math
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    MERCATOR_URI,
    OFFENBACH,
    ORIGIN,
    UTM,
    UTM_URI,
    World,
    assert_problem,
    bearer,
    create,
    feature,
    pointers,
    ring_25832,
    to_lonlat,
)


def shoelace(ring: list[list[float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2)


async def test_content_crs_in_and_crs_out(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ring = ring_25832(FRANKFURT, side=137.5)
    body = await feature(session, FRANKFURT)
    body["geometry"]["coordinates"] = [ring]
    response = await client.post(
        "/v1/plots",
        json=body,
        headers={**bearer(world.frankfurt), "Content-Crs": UTM},
        params={"crs": UTM_URI},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-crs"] == UTM
    created = response.json()
    expected = 137.5**2
    assert abs(created["properties"]["area_m2"] - expected) / expected < 1e-9
    # In the storage CRS the coordinates come back as sent.
    assert created["geometry"]["coordinates"][0][0] == ring

    url = f"/v1/plots/{created['id']}"
    utm = await client.get(url, params={"crs": UTM_URI}, headers=bearer(world.frankfurt))
    assert utm.headers["content-crs"] == UTM
    assert abs(shoelace(utm.json()["geometry"]["coordinates"][0][0]) - expected) / expected < 1e-3

    lonlat = await client.get(url, headers=bearer(world.frankfurt))
    lon, lat = lonlat.json()["geometry"]["coordinates"][0][0][0]
    assert 8 < lon < 9 and 49 < lat < 51

    mercator = await client.get(url, params={"crs": MERCATOR_URI}, headers=bearer(world.frankfurt))
    assert mercator.headers["content-crs"] == f"<{MERCATOR_URI}>"
    # Web Mercator inflates areas by 1/cos²(lat); corrected, the area is preserved.
    scale = 1 / math.cos(math.radians(lat)) ** 2
    merc_area = shoelace(mercator.json()["geometry"]["coordinates"][0][0]) / scale
    assert abs(merc_area - expected) / expected < 1e-3

    # And sending the 3857 geometry back in gives the same area.
    again = await feature(session, FRANKFURT, "from-3857")
    again["geometry"] = {
        "type": "Polygon",
        "coordinates": mercator.json()["geometry"]["coordinates"][0],
    }
    response = await client.post(
        "/v1/plots",
        json=again,
        headers={**bearer(world.frankfurt), "Content-Crs": f"<{MERCATOR_URI}>"},
    )
    assert response.status_code == 201, response.text
    assert abs(response.json()["properties"]["area_m2"] - expected) / expected < 1e-3


async def test_unsupported_output_crs(client: httpx.AsyncClient, world: World) -> None:
    problem = assert_problem(await client.get("/v1/plots", params={"crs": "EPSG:1234"}), 422)
    assert pointers(problem) == ["/query/crs"]


@pytest.fixture
async def listed(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> dict[str, dict[str, Any]]:
    """Five published plots and a draft, with varied properties."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("f-small", FRANKFURT, {"dx": 50, "side": 50, "zoning": "GE", "category": "brownfield"}),
        ("f-big", FRANKFURT, {"dx": 300, "side": 300, "zoning": "GI", "category": "infill_gap"}),
        (
            "f-later",
            FRANKFURT,
            {"dx": 700, "side": 100, "zoning": "MI", "available_from": "2030-01-01"},
        ),
        ("o-one", OFFENBACH, {"dx": 100, "side": 100, "title": "Alte Lederfabrik"}),
        ("o-two", OFFENBACH, {"dx": 500, "side": 200, "description": "Nahe 100% Bahnhof"}),
    ]
    out = {}
    for external_id, ags, props in specs:
        body = await feature(session, ags, external_id, status="published", **props)
        out[external_id] = await create(client, world.admin, body)
    draft = await feature(session, FRANKFURT, "f-draft", dy=600)
    out["f-draft"] = await create(client, world.frankfurt, draft)
    return out


async def ids(client: httpx.AsyncClient, key: str | None = None, **params: Any) -> set[str]:
    response = await client.get("/v1/plots", params=params, headers=bearer(key) if key else {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"])
    return {f["properties"]["external_id"] for f in body["features"]}


PUBLISHED = {"f-small", "f-big", "f-later", "o-one", "o-two"}


async def test_filters(
    client: httpx.AsyncClient, world: World, listed: dict[str, dict[str, Any]]
) -> None:
    assert await ids(client) == PUBLISHED
    assert await ids(client, municipality=OFFENBACH) == {"o-one", "o-two"}
    assert await ids(client, municipality=[OFFENBACH, FRANKFURT]) == PUBLISHED
    assert await ids(client, region="frm") == PUBLISHED
    assert await ids(client, region="nowhere") == set()
    assert await ids(client, zoning=["GE", "GI"]) == {"f-small", "f-big", "o-one", "o-two"}
    assert await ids(client, category="infill_gap") == {"f-big"}
    assert await ids(client, min_area_m2=9000) == {"f-big", "f-later", "o-one", "o-two"}
    assert await ids(client, max_area_m2=10_001) == {"f-small", "f-later", "o-one"}
    assert await ids(client, min_area_m2=9000, max_area_m2=50_000) == {
        "f-later",
        "o-one",
        "o-two",
    }
    assert "f-later" not in await ids(client, available_by="2029-12-31")
    assert "f-later" in await ids(client, available_by="2030-01-01")
    assert await ids(client, q="lederfabrik") == {"o-one"}
    assert await ids(client, q="100%") == {"o-two"}
    assert await ids(client, q="f-") == {"f-small", "f-big", "f-later"}
    assert await ids(client, world.frankfurt, status="draft") == {"f-draft"}
    assert await ids(client, status="draft") == set()


async def test_invalid_filters(client: httpx.AsyncClient, world: World) -> None:
    for params, pointer in (
        ({"zoning": "XX"}, "/query/zoning/0"),
        ({"status": "sold"}, "/query/status/0"),
        ({"min_area_m2": -1}, "/query/min_area_m2"),
        ({"limit": 1001}, "/query/limit"),
        ({"limit": 0}, "/query/limit"),
        ({"bbox": "1,2,3"}, "/query/bbox"),
        ({"bbox": "3,2,1,4"}, "/query/bbox"),
        ({"bbox": "1,2,nan,4"}, "/query/bbox"),
        ({"bbox-crs": "EPSG:1"}, "/query/bbox-crs"),
        ({"municipality": "123"}, "/query/municipality/0"),
        ({"cursor": "garbage!"}, "/query/cursor"),
    ):
        problem = assert_problem(await client.get("/v1/plots", params=params), 422)
        assert pointer in pointers(problem), (params, problem)


async def test_stale(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    listed: dict[str, dict[str, Any]],
) -> None:
    old = listed["o-one"]["id"]
    await session.execute(
        update(Plot)
        .where(Plot.id == old)
        .values(last_confirmed_at=func.now() - func.make_interval(0, 0, 0, 181))
    )
    await session.commit()
    assert await ids(client, stale="true") == {"o-one"}
    assert await ids(client, stale="false") == PUBLISHED - {"o-one"}
    # Confirming makes it fresh again.
    await client.post(f"/v1/plots/{old}/confirm", headers=bearer(world.offenbach))
    assert await ids(client, stale="true") == set()


async def test_bbox(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    listed: dict[str, dict[str, Any]],
) -> None:
    x, y = ORIGIN[FRANKFURT]
    # f-small spans x+50..x+100, f-big x+300..x+600, f-later x+700..x+800 (all from y+100).
    utm_box = f"{x},{y},{x + 200},{y + 1000}"
    assert await ids(client, bbox=utm_box, **{"bbox-crs": UTM_URI}) == {"f-small"}
    (sw, _, ne, _, _) = await to_lonlat(
        session, [[x, y], [x + 650, y], [x + 650, y + 1000], [x, y + 1000], [x, y]]
    )
    lonlat_box = f"{sw[0]},{sw[1]},{ne[0]},{ne[1]}"
    assert await ids(client, bbox=lonlat_box) == {"f-small", "f-big"}
    assert await ids(client, world.frankfurt, bbox=lonlat_box) == {"f-small", "f-big", "f-draft"}
    ox, oy = ORIGIN[OFFENBACH]
    whole = f"{x - 10},{y - 10},{ox + 1010},{oy + 1010}"
    assert await ids(client, bbox=whole, **{"bbox-crs": UTM_URI}) == PUBLISHED


async def test_pagination_without_duplicates(
    client: httpx.AsyncClient, world: World, listed: dict[str, dict[str, Any]]
) -> None:
    seen: list[str] = []
    url: str | None = "/v1/plots?limit=2&zoning=GE&zoning=GI&zoning=MI&crs=EPSG:25832"
    pages = 0
    while url:
        response = await client.get(url, headers=bearer(world.admin))
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["features"]) <= 2
        seen += [f["id"] for f in body["features"]]
        # The next link keeps every filter and the output CRS.
        next_links = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = next_links[0] if next_links else None
        if url:
            assert "zoning=MI" in url and "crs=EPSG" in url
        pages += 1
    assert len(seen) == len(set(seen)) == 6
    assert pages == 3
    assert sorted(seen) == seen


async def test_empty_list(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/v1/plots")
    assert response.json()["features"] == []
    assert response.json()["numberReturned"] == 0
