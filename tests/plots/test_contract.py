"""The OpenAPI document describes the plot responses as sent: GeoJSON media type, and the
anonymous reads as callable without a key."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.schemas import _NOT_NULL
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
