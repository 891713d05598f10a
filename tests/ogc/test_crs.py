"""Part 2: output CRS with axis order, bbox-crs, Content-Crs, the 1 cm round trip."""

from __future__ import annotations

import httpx
import pytest

from tests.ogc.conftest import OgcWorld

ITEMS = "/ogc/collections/plots/items"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


async def test_items_in_25832_round_trip_within_a_centimetre(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    r = await client.get(ITEMS, params={"crs": EPSG.format(25832), "limit": 1000})
    assert r.headers["content-crs"] == f"<{EPSG.format(25832)}>"
    stored = {str(p["external_id"]): p for p in ogc_world.published}
    for feature in r.json()["features"]:
        row = stored[feature["properties"]["external_id"]]
        x, y = feature["geometry"]["coordinates"][0][0][0]
        assert abs(x - float(row["x"])) <= 0.01 and abs(y - float(row["y"])) <= 0.01  # type: ignore[arg-type]


async def test_epsg_4326_is_lat_lon_and_crs84_lon_lat(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    crs84 = (await client.get(ITEMS, params={"limit": 1})).json()["features"][0]
    r = await client.get(ITEMS, params={"limit": 1, "crs": EPSG.format(4326)})
    assert r.headers["content-crs"] == f"<{EPSG.format(4326)}>"
    latlon = r.json()["features"][0]
    lon, lat = crs84["geometry"]["coordinates"][0][0][0]
    assert 8 < lon < 9 and 49 < lat < 51
    assert latlon["geometry"]["coordinates"][0][0][0] == [lat, lon]


@pytest.mark.parametrize(
    ("code", "check"),
    [
        (4258, lambda a, b: 49 < a < 51 and 8 < b < 9),  # ETRS89: lat/lon
        (31467, lambda a, b: 5.5e6 < a < 5.6e6 and 3.4e6 < b < 3.5e6),  # northing first
        (3857, lambda a, b: 0.9e6 < a < 1.0e6 and 6.4e6 < b < 6.5e6),
    ],
)
async def test_other_crs(
    client: httpx.AsyncClient, ogc_world: OgcWorld, code: int, check: object
) -> None:
    r = await client.get(ITEMS, params={"limit": 1, "crs": EPSG.format(code)})
    assert r.status_code == 200
    a, b = r.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert check(a, b)  # type: ignore[operator]


async def test_bbox_crs_4326_takes_lat_lon(client: httpx.AsyncClient, ogc_world: OgcWorld) -> None:
    everything = (await client.get(ITEMS, params={"limit": 1000})).json()
    lonlat = (await client.get(ITEMS, params={"bbox": "8.5,49.9,8.8,50.1"})).json()
    latlon = (
        await client.get(ITEMS, params={"bbox": "49.9,8.5,50.1,8.8", "bbox-crs": EPSG.format(4326)})
    ).json()
    assert lonlat["numberReturned"] == latlon["numberReturned"] == everything["numberReturned"] > 0
    wrong = (
        await client.get(ITEMS, params={"bbox": "8.5,49.9,8.8,50.1", "bbox-crs": EPSG.format(4326)})
    ).json()
    assert wrong["numberReturned"] == 0
