"""The OpenAPI document describes the plot responses as sent: GeoJSON media type, and the
anonymous reads as callable without a key."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import CRS_BOUNDS, SUPPORTED_CRS, crs_spellings
from landmarket.plots.router import _input_crs
from landmarket.plots.schemas import _NOT_NULL, PlotCreate
from tests.plots.conftest import (
    FRANKFURT,
    World,
    assert_problem,
    bearer,
    create,
    feature,
    pointers,
)

GEOJSON = "application/geo+json"


def _operation(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = app.openapi()["paths"][path][method]
    return operation


def _documented(app: FastAPI, method: str, path: str, status: int) -> set[str]:
    return set(_operation(app, method, path)["responses"][str(status)]["content"])


async def test_plot_bodies_are_documented_as_the_geojson_sent(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await client.post(
        "/v1/plots",
        json=await feature(session, FRANKFURT, status="published"),
        headers=bearer(world.frankfurt),
    )
    assert created.status_code == 201, created.text
    item = f"/v1/plots/{created.json()['id']}"
    sent = {
        ("post", "/v1/plots", 201): created,
        ("get", "/v1/plots", 200): await client.get("/v1/plots"),
        ("get", "/v1/plots/{plot_id}", 200): await client.get(item),
        ("post", "/v1/plots/{plot_id}/confirm", 200): await client.post(
            f"{item}/confirm", headers=bearer(world.frankfurt)
        ),
    }
    for (method, path, status), response in sent.items():
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == GEOJSON
        assert _documented(app, method, path, status) == {GEOJSON}, f"{method} {path}"
    for method, path, status in (
        ("patch", "/v1/plots/{plot_id}", 200),
        ("post", "/v1/plots/{plot_id}/status", 200),
        ("put", "/v1/municipalities/{ags}/plots/{external_id}", 200),
        ("put", "/v1/municipalities/{ags}/plots/{external_id}", 201),
    ):
        assert _documented(app, method, path, status) == {GEOJSON}, f"{method} {path}"


async def test_anonymous_plot_reads_are_documented_as_optional_auth(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(
        client, world.frankfurt, await feature(session, FRANKFURT, status="published")
    )
    assert (await client.get("/v1/plots")).status_code == 200
    assert (await client.get(f"/v1/plots/{plot['id']}")).status_code == 200
    for path in ("/v1/plots", "/v1/plots/{plot_id}"):
        assert _operation(app, "get", path)["security"] == [{"ApiKey": []}, {}]
    # Writes still need a key, and say so.
    for method, path in (("post", "/v1/plots"), ("patch", "/v1/plots/{plot_id}")):
        assert _operation(app, method, path)["security"] == [{"ApiKey": []}]


def _offers_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_offers_null(b) for b in schema.get("anyOf", ()))


async def test_update_documents_no_null_where_it_refuses_null(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    schemas = app.openapi()["components"]["schemas"]
    properties = schemas["PlotPropertiesUpdate"]["properties"]
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    headers = {**bearer(world.frankfurt), "If-Match": '"1"'}
    for name in (*_NOT_NULL, "status"):
        assert not _offers_null(properties[name]), name
        response = await client.patch(url, json={"properties": {name: None}}, headers=headers)
        assert f"/body/properties/{name}" in pointers(assert_problem(response, 422))
    assert _offers_null(properties["description"]) and _offers_null(properties["zoning"])


async def test_every_documented_crs_spelling_is_taken(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    query = {p["name"]: p["schema"] for p in _operation(app, "get", "/v1/plots")["parameters"]}
    assert query["crs"]["enum"] == query["bbox-crs"]["enum"] == crs_spellings()
    for spelling in crs_spellings():
        response = await client.get("/v1/plots", params={"crs": spelling, "bbox-crs": spelling})
        assert response.status_code == 200, spelling
    header = {p["name"]: p["schema"] for p in _operation(app, "post", "/v1/plots")["parameters"]}
    assert header["Content-Crs"]["enum"] == crs_spellings(bracketed=True)
    for spelling in crs_spellings(bracketed=True):
        assert _input_crs(spelling).uri in SUPPORTED_CRS
    assert_problem(await client.get("/v1/plots", params={"crs": "EPSG:1234"}), 422)


async def test_bbox_pattern_admits_what_the_server_reads(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    query = {p["name"]: p["schema"] for p in _operation(app, "get", "/v1/plots")["parameters"]}
    pattern = re.compile(query["bbox"]["anyOf"][0]["pattern"])
    for bbox in ("1,2,3,4", " 1 , 2 ,3,4", "1e1,2,3E+1,4", ".5,-1,2.,+3", "0.000123456789,1,2,3"):
        assert pattern.search(bbox), bbox
        assert (await client.get("/v1/plots", params={"bbox": bbox})).status_code == 200, bbox
    for bbox in ("1,2,3", "1,2,nan,4", "1e999,0,1,1", "a,b,c,d", "1;2;3;4", ""):
        assert not pattern.search(bbox), bbox
        response = await client.get("/v1/plots", params={"bbox": bbox})
        assert "/query/bbox" in pointers(assert_problem(response, 422)), bbox


async def test_bbox_beyond_its_crs_is_422_not_500(client: httpx.AsyncClient) -> None:
    # Longitude 300 or latitude 95 cannot be transformed; found by fuzzing (was a 500).
    for bbox, crs in (
        ("100,2,300,4", "EPSG:4326"),
        ("-10,40,10,95", "CRS84"),
        ("0,0,1,1e20", "EPSG:3857"),
    ):
        response = await client.get("/v1/plots", params={"bbox": bbox, "bbox-crs": crs})
        assert "/query/bbox" in pointers(assert_problem(response, 422)), bbox
    # A box shrunk to a point or a line is a valid filter (was a 500: ST_Segmentize by 0).
    for bbox in ("8.6,50.1,8.6,50.1", "0,0,0,0", "8.6,50,8.6,51"):
        assert (await client.get("/v1/plots", params={"bbox": bbox})).status_code == 200, bbox
    # The whole valid area of every CRS is usable.
    for crs in SUPPORTED_CRS.values():
        bbox = ",".join(f"{v:.6f}" for v in CRS_BOUNDS[crs.srid])
        response = await client.get("/v1/plots", params={"bbox": bbox, "bbox-crs": crs.uri})
        assert response.status_code == 200, (crs.uri, response.text)


async def test_geometry_nesting_is_documented_as_checked(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    schema = jsonschema_rs.validator_for(PlotCreate.model_json_schema())
    good = await feature(session, FRANKFURT)
    ring = good["geometry"]["coordinates"][0]
    for coordinates, kind in (
        ([], "Polygon"),
        ([[]], "Polygon"),
        ([ring[:3]], "Polygon"),
        ([[[*p, 0, 0] for p in ring]], "Polygon"),
        ([[[p[0]] for p in ring]], "Polygon"),
        ([ring], "MultiPolygon"),
        ([[]], "MultiPolygon"),
    ):
        body = {**good, "geometry": {"type": kind, "coordinates": coordinates}}
        assert not schema.is_valid(body), coordinates
        response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
        (pointer,) = pointers(assert_problem(response, 422))
        assert pointer.startswith("/body/geometry/coordinates"), pointer
    for geometry in (good["geometry"], {"type": "MultiPolygon", "coordinates": [[ring]]}):
        body = {**good, "geometry": geometry}
        assert schema.is_valid(body)
        body["properties"] = {**body["properties"], "external_id": geometry["type"]}
        response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
        assert response.status_code == 201, response.text


async def test_dates_only_as_yyyy_mm_dd(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    # Pydantic alone read 0 as 1970-01-01 (found by fuzzing).
    for bad in ("0", "2026-1-1"):
        response = await client.get("/v1/plots", params={"available_by": bad})
        assert pointers(assert_problem(response, 422)) == ["/query/available_by"], bad
    for bad in (0, "0", "2026-01-01T00:00:00"):
        body = await feature(session, FRANKFURT, available_from=bad)
        response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
        assert pointers(assert_problem(response, 422)) == ["/body/properties/available_from"]


async def test_if_match_is_documented_as_required_where_428_enforces_it(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    def if_match(method: str) -> dict[str, Any]:
        parameters = _operation(app, method, "/v1/plots/{plot_id}")["parameters"]
        (header,) = [p for p in parameters if p["name"] == "If-Match"]
        return header

    assert if_match("patch")["required"] is True
    assert if_match("delete")["required"] is False
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    patch = {"properties": {"title": "New"}}
    response = await client.patch(url, json=patch, headers=bearer(world.frankfurt))
    assert_problem(response, 428)
    # Blank is absent too, and the documented pattern says so.
    assert not re.search(if_match("patch")["schema"]["pattern"], " ")
    blank = {**bearer(world.frankfurt), "If-Match": " "}
    assert_problem(await client.patch(url, json=patch, headers=blank), 428)
    headers = {**bearer(world.frankfurt), "If-Match": '"1"'}
    assert (await client.patch(url, json=patch, headers=headers)).status_code == 200


async def test_numbers_and_booleans_only_as_json_numbers_and_booleans(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    # Pydantic alone took "1" for a number and "true" or 1 for a boolean (found by fuzzing).
    for name, bad in (
        ("fibre_available", "true"),
        ("divisible", 1),
        ("broadband_mbps", "100"),
        ("price_eur_per_m2", "12.5"),
    ):
        body = await feature(session, FRANKFURT, **{name: bad})
        response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
        assert pointers(assert_problem(response, 422)) == [f"/body/properties/{name}"], name
    body = await feature(session, FRANKFURT, fibre_available=True, price_eur_per_m2=12)
    assert (
        await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    ).status_code == 201


async def test_malformed_geometry_is_422_even_with_a_stale_etag(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    # The precondition was checked first, so a malformed request got 412 (found by fuzzing).
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    stale = {**bearer(world.frankfurt), "If-Match": '"7"'}
    body = {"geometry": {"type": "MultiPolygon", "coordinates": []}}
    response = await client.patch(f"/v1/plots/{plot['id']}", json=body, headers=stale)
    assert pointers(assert_problem(response, 422)) == ["/body/geometry/coordinates"]
