"""Vector tiles and the service's metadata documents."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem
from tests.ogc.conftest import OgcWorld

TILES = "/ogc/collections/plots/tiles/WebMercatorQuad"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def test_tile_with_plots_and_empty_tiles(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    feature = (await client.get("/ogc/collections/plots/items?limit=1")).json()["features"][0]
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    x, y = tile_of(lon + 1e-5, lat + 1e-5, 14)
    r = await client.get(f"{TILES}/14/{x}/{y}")
    assert (
        r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    # The MVT layer name and string values are plain bytes inside the protobuf.
    assert b"plots" in r.content and feature["properties"]["title"].encode() in r.content
    assert b"Erika" not in r.content
    # At zoom 0-6 a 120 m plot is smaller than a tile pixel and is dropped (an empty tile).
    for z in (8, 10, 12):
        wx, wy = tile_of(lon, lat, z)
        assert (await client.get(f"{TILES}/{z}/{wx}/{wy}")).status_code == 200
    assert (await client.get(f"{TILES}/14/0/0")).status_code == 204
    assert (await client.get(f"{TILES}/0/0/0")).status_code == 204
    assert (await client.get(f"{TILES}/14/{x + 40}/{y}")).status_code == 204


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/14/a/1", 400),
        ("/25/0/0", 404),
        ("/-1/0/0", 404),
        ("/2/4/0", 404),
        ("/2/0/4", 404),
        ("/14/1/1?foo=1", 400),
    ],
)
async def test_invalid_tile_addresses(client: httpx.AsyncClient, path: str, status: int) -> None:
    assert_problem(await client.get(TILES + path), status)
    assert_problem(await client.get("/ogc/collections/plots/tiles/OtherQuad/1/0/0"), 404)
    assert_problem(await client.get("/ogc/collections/municipalities/tiles"), 404)


async def test_tileset_metadata(client: httpx.AsyncClient) -> None:
    body = (await client.get(TILES)).json()
    assert body["dataType"] == "vector"
    assert body["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    props = body["layers"][0]["propertiesSchema"]["properties"]
    assert {"id", "title", "zoning", "area_m2"} <= set(props)
    template = next(li for li in body["links"] if li["rel"] == "item")
    assert template["templated"] and template["href"].endswith("{tileMatrix}/{tileCol}/{tileRow}")
    listing = (await client.get("/ogc/collections/plots/tiles")).json()
    assert listing["tilesets"][0]["dataType"] == "vector"


async def test_landing_conformance_and_collections(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    landing = (await client.get("/ogc")).json()
    rels = {li["rel"] for li in landing["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= rels
    conf = (await client.get("/ogc/conformance")).json()["conformsTo"]
    for cls in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "ogcapi-tiles-1/1.0/conf/mvt",
    ):
        assert any(c.endswith(cls) for c in conf), cls
    cols = (await client.get("/ogc/collections")).json()["collections"]
    assert [c["id"] for c in cols] == ["plots", "municipalities"]
    plots = cols[0]
    assert plots["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert "http://www.opengis.net/def/crs/EPSG/0/31467" in plots["crs"]
    lon0, lat0, lon1, lat1 = plots["extent"]["spatial"]["bbox"][0]
    assert 8 < lon0 < lon1 < 9 and 49 < lat0 < lat1 < 51
    munis = (await client.get("/ogc/collections/municipalities/items")).json()
    assert sorted(f["id"] for f in munis["features"]) == ["06411000", "06412000", "06413000"]
    one = await client.get("/ogc/collections/municipalities/items/06412000")
    assert one.json()["properties"]["name"] == "Frankfurt am Main"
    assert_problem(await client.get("/ogc/collections?foo=bar"), 400)
    assert_problem(await client.get("/ogc/collections/nope"), 404)


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def test_openapi_is_self_contained(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc/api")
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    found = refs(doc)
    assert found and all(ref.startswith("#/") for ref in found)
    for ref in found:  # every reference resolves inside the document
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part]
    assert "/collections/plots/items" in doc["paths"]
    assert "http" not in json.dumps([p for p in doc["paths"]])


async def test_queryables_are_json_schema_of_public_properties(client: httpx.AsyncClient) -> None:
    body = (await client.get("/ogc/collections/plots/queryables")).json()
    assert body["$schema"].endswith("/2020-12/schema") and body["type"] == "object"
    props = body["properties"]
    assert props["zoning"]["enum"][:2] == ["MU", "MI"]
    assert (
        props["broadband_mbps"]["type"] == "integer" and props["available_from"]["format"] == "date"
    )
    assert "geometry" in props and not {"contact", "status", "version"} & set(props)
