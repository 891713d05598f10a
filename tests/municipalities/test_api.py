"""The public region and municipality endpoints."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import crs_spellings
from landmarket.municipalities.demo import seed_demo_region, synthetic_features
from landmarket.municipalities.importer import import_features
from tests.helpers import assert_problem

GEOJSON = "application/geo+json"


@pytest.fixture
async def seeded(session: AsyncSession) -> None:
    """The 12 fictional demo municipalities in region `demo`; two also in region `small`."""
    await seed_demo_region(session)
    first_two = synthetic_features()[:2]
    await import_features(session, first_two, srid=25832, region="small", region_name="Small")
    await session.commit()


async def test_regions(client: httpx.AsyncClient, seeded: None) -> None:
    response = await client.get("/v1/regions")
    assert response.status_code == 200
    body = response.json()
    assert [(r["slug"], r["municipality_count"]) for r in body] == [("demo", 12), ("small", 2)]

    detail = (await client.get("/v1/regions/small")).json()
    assert detail["name"] == "Small"
    assert detail["municipalities"] == ["99001001", "99001002"]
    assert_problem(await client.get("/v1/regions/nope"), 404)


async def test_list_without_geometry(client: httpx.AsyncClient, seeded: None) -> None:
    response = await client.get("/v1/municipalities")
    assert response.status_code == 200
    body = response.json()
    assert len(body["items"]) == 12 and body["next_cursor"] is None
    first = body["items"][0]
    assert set(first) == {"ags", "name", "kind", "district_ags", "area_km2"}
    names = [m["name"] for m in body["items"]]
    assert names == sorted(names)
    assert "Content-Crs" not in response.headers


async def test_search_is_case_insensitive_and_literal(
    client: httpx.AsyncClient, seeded: None
) -> None:
    body = (await client.get("/v1/municipalities", params={"q": "STADT"})).json()
    assert {m["name"] for m in body["items"]} == {"Musterstadt (fiktiv)", "Probstadt (fiktiv)"}
    # LIKE wildcards in the query are plain characters.
    body = (await client.get("/v1/municipalities", params={"q": "%"})).json()
    assert body["items"] == []
    body = (await client.get("/v1/municipalities", params={"q": "_"})).json()
    assert body["items"] == []


async def test_pagination_visits_every_row_once(client: httpx.AsyncClient, seeded: None) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/v1/municipalities", params=params)).json()
        seen.extend(m["ags"] for m in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == [f"99001{i:03d}" for i in range(1, 13)]
    assert len(set(seen)) == 12


async def test_region_filter(client: httpx.AsyncClient, seeded: None) -> None:
    body = (await client.get("/v1/municipalities", params={"region": "small"})).json()
    assert sorted(m["ags"] for m in body["items"]) == ["99001001", "99001002"]
    assert_problem(await client.get("/v1/municipalities", params={"region": "nope"}), 404)


async def test_include_geometry(client: httpx.AsyncClient, seeded: None) -> None:
    response = await client.get("/v1/municipalities", params={"include": "geometry", "limit": 2})
    assert response.status_code == 200
    assert "CRS84" in response.headers["Content-Crs"]
    geometry = response.json()["items"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon"
    lon, lat = geometry["coordinates"][0][0][0]
    assert 5 < lon < 16 and 47 < lat < 56


async def test_detail_feature_in_crs84(client: httpx.AsyncClient, seeded: None) -> None:
    response = await client.get("/v1/municipalities/99001001")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GEOJSON)
    assert response.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    body = response.json()
    assert body["type"] == "Feature" and body["id"] == "99001001"
    props = body["properties"]
    assert props["ags"] == "99001001" and props["district_ags"] == "99001"
    assert props["name"] == "Musterstadt (fiktiv)" and props["kind"] == "Stadt"
    assert props["regions"] == ["demo", "small"]
    assert 5 < props["area_km2"] < 40
    lon, lat = body["geometry"]["coordinates"][0][0][0]
    assert 5 < lon < 16 and 47 < lat < 56


@pytest.mark.parametrize(
    ("crs", "x_range", "y_range"),
    [
        ("EPSG:25832", (400_000, 700_000), (5_200_000, 6_200_000)),
        ("http://www.opengis.net/def/crs/EPSG/0/3857", (500_000, 1_800_000), (6e6, 7.5e6)),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", (5, 16), (47, 56)),
    ],
)
async def test_detail_in_other_crs(
    client: httpx.AsyncClient,
    seeded: None,
    crs: str,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> None:
    response = await client.get("/v1/municipalities/99001001", params={"crs": crs})
    assert response.status_code == 200, response.text
    code = crs.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    assert response.headers["Content-Crs"] == f"<http://www.opengis.net/def/crs/EPSG/0/{code}>"
    x, y = response.json()["geometry"]["coordinates"][0][0][0]
    assert x_range[0] < x < x_range[1] and y_range[0] < y < y_range[1]


async def test_malformed_ags_is_422_with_pointer(client: httpx.AsyncClient) -> None:
    for bad in ("0641200", "064120000", "0641200x"):
        body = assert_problem(await client.get(f"/v1/municipalities/{bad}"), 422)
        assert [e["pointer"] for e in body["errors"]] == ["/path/ags"]  # type: ignore[index,union-attr]


async def test_unknown_ags_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/municipalities/99999999"), 404)


async def test_bad_parameters_are_422(client: httpx.AsyncClient, seeded: None) -> None:
    cases = {
        "/v1/municipalities/99001001?crs=EPSG:4711": "/query/crs",
        "/v1/municipalities?include=geometry&crs=nonsense": "/query/crs",
        # Without geometry too: an unknown CRS is not silently ignored (found by fuzzing).
        "/v1/municipalities?crs=nonsense": "/query/crs",
        "/v1/municipalities?cursor=not-a-cursor": "/query/cursor",
        "/v1/municipalities?cursor=WzEsMl0": "/query/cursor",  # [1,2]: wrong types
        "/v1/municipalities?limit=0": "/query/limit",
        "/v1/municipalities?limit=1001": "/query/limit",
        "/v1/municipalities?include=boundary": "/query/include",
    }
    for url, pointer in cases.items():
        body = assert_problem(await client.get(url), 422)
        assert pointer in [e["pointer"] for e in body["errors"]], url  # type: ignore[union-attr]


async def test_every_documented_crs_spelling_is_taken(
    client: httpx.AsyncClient, seeded: None
) -> None:
    for spelling in crs_spellings():
        detail = await client.get("/v1/municipalities/99001001", params={"crs": spelling})
        assert detail.status_code == 200, spelling
        listed = await client.get(
            "/v1/municipalities", params={"crs": spelling, "include": "geometry"}
        )
        assert listed.status_code == 200, spelling
