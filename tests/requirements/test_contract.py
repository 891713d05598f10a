"""The OpenAPI schemas of requirement bodies say what the service accepts: no null offered
where the update refuses it, and a new requirement's anchor and radius only together."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.requirements.schemas import _NOT_NULL, RequirementCreate
from tests.matching.world import (
    OFFENBACH,
    ORIGIN,
    World,
    assert_problem,
    bearer,
    lonlat,
    pointers,
    post_requirement,
    requirement_body,
)


def _offers_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_offers_null(b) for b in schema.get("anyOf", ()))


async def test_update_documents_no_null_where_it_refuses_null(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    update = app.openapi()["components"]["schemas"]["RequirementUpdate"]["properties"]
    created = await post_requirement(client, world.company)
    url = f"/v1/requirements/{created['id']}"
    headers = {**bearer(world.company), "If-Match": '"1"'}
    for name in _NOT_NULL:
        assert not _offers_null(update[name]), name
        response = await client.patch(url, json={name: None}, headers=headers)
        assert f"/body/{name}" in pointers(assert_problem(response, 422))
    # Fields that may be cleared still say so.
    assert _offers_null(update["title"]) and _offers_null(update["needed_by"])


async def test_create_schema_and_service_agree_on_anchor_and_radius(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    schema = jsonschema_rs.validator_for(RequirementCreate.model_json_schema())
    anchor = {"type": "Point", "coordinates": await lonlat(session, *ORIGIN[OFFENBACH])}
    for location, missing in (
        ({"anchor": anchor}, "/body/location/max_distance_km"),
        ({"max_distance_km": 5}, "/body/location/anchor"),
        ({"anchor": anchor, "max_distance_km": None}, "/body/location/max_distance_km"),
    ):
        body = requirement_body(location=location)
        assert not schema.is_valid(body), location
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert missing in pointers(assert_problem(response, 422))
    for location in ({"anchor": anchor, "max_distance_km": 5}, {"max_distance_km": None}, {}):
        body = requirement_body(location=location)
        assert schema.is_valid(body), location
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert response.status_code == 201, response.text


async def test_anchor_and_area_coordinates_are_documented_as_checked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    schema = jsonschema_rs.validator_for(RequirementCreate.model_json_schema())
    lon, lat = await lonlat(session, *ORIGIN[OFFENBACH])
    square = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01]]
    ring = [*square, square[0]]
    for location, pointer in (
        ({"anchor": {"type": "Point", "coordinates": [lon]}}, "/body/location/anchor"),
        ({"anchor": {"type": "Point", "coordinates": [lat, 95]}}, "/body/location/anchor"),
        ({"anchor": {"type": "Point", "coordinates": [190, lat]}}, "/body/location/anchor"),
        ({"area": {"type": "Polygon", "coordinates": []}}, "/body/location/area"),
        ({"area": {"type": "Polygon", "coordinates": [ring[:3]]}}, "/body/location/area"),
        ({"area": {"type": "MultiPolygon", "coordinates": [ring]}}, "/body/location/area"),
    ):
        if "anchor" in location:
            location["max_distance_km"] = 10
        body = requirement_body(location=location)
        assert not schema.is_valid(body), location
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert any(p.startswith(pointer) for p in pointers(assert_problem(response, 422)))
    for location in (
        {"anchor": {"type": "Point", "coordinates": [lon, lat]}, "max_distance_km": 10},
        {"area": {"type": "Polygon", "coordinates": [ring]}},
        {"area": {"type": "MultiPolygon", "coordinates": [[ring]]}},
    ):
        body = requirement_body(location=location)
        assert schema.is_valid(body), location
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert response.status_code == 201, response.text


async def test_needed_by_only_as_yyyy_mm_dd(client: httpx.AsyncClient, world: World) -> None:
    # Pydantic alone read 0 as 1970-01-01 (found by fuzzing).
    for bad in (0, "0", "2030-01-01T00:00:00Z"):
        body = requirement_body(needed_by=bad)
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert pointers(assert_problem(response, 422)) == ["/body/needed_by"], bad


async def test_if_match_is_documented_as_required_where_428_enforces_it(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    parameters = app.openapi()["paths"]["/v1/requirements/{requirement_id}"]["patch"]["parameters"]
    (header,) = [p for p in parameters if p["name"] == "If-Match"]
    assert header["required"] is True
    created = await post_requirement(client, world.company)
    url = f"/v1/requirements/{created['id']}"
    response = await client.patch(url, json={"title": "New"}, headers=bearer(world.company))
    assert_problem(response, 428)
    headers = {**bearer(world.company), "If-Match": '"1"'}
    assert (await client.patch(url, json={"title": "New"}, headers=headers)).status_code == 200


async def test_numbers_and_booleans_only_as_json_numbers_and_booleans(
    client: httpx.AsyncClient, world: World
) -> None:
    # Pydantic alone took "5000" for a number and "true" or 1 for a boolean (found by fuzzing).
    for change, pointer in (
        ({"area_min_m2": "5000"}, "/body/area_min_m2"),
        ({"jobs": "3"}, "/body/jobs"),
        ({"share_identity": "true"}, "/body/share_identity"),
        ({"share_identity": 1}, "/body/share_identity"),
        ({"must": {"fibre": "yes"}}, "/body/must/fibre"),
        ({"weights": {"area": "2"}}, "/body/weights/area"),
    ):
        body = requirement_body(**change)
        response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
        assert pointers(assert_problem(response, 422)) == [pointer], change
    body = requirement_body(jobs=3, share_identity=True, area_min_m2=5000)
    response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
    assert response.status_code == 201, response.text


async def test_whole_floats_are_integers_as_in_json_schema(
    client: httpx.AsyncClient, world: World
) -> None:
    # JSON Schema counts 3.0 as an integer; a strict int refused it (found by fuzzing).
    body = requirement_body(jobs=3.0, must={"max_transit_stop_distance_m": 500.0})
    response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
    assert response.status_code == 201, response.text
    body = requirement_body(jobs=3.5)
    response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
    assert pointers(assert_problem(response, 422)) == ["/body/jobs"]
