"""HEAD wherever GET works (RFC 9110 §9.3.2; issue 14.13): every GET route of the app,
/v1, the OGC API (its own dispatch) and the rest, answers HEAD like GET without a body.
Before, every /v1 resource answered HEAD with 405."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import assert_problem, bearer
from tests.matching.world import FRANKFURT, ORIGIN, insert_plot, make_world, post_requirement

_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


def _get_paths(app: FastAPI) -> list[str]:
    paths = set()
    for route in iter_route_contexts(app.routes):
        if route.methods and "GET" in route.methods and route.path is not None:
            paths.add(route.path)
    return sorted(paths)


async def test_head_answers_like_get_on_every_get_route(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = await insert_plot(session, FRANKFURT, x=x + 100, y=y + 100)
    requirement = await post_requirement(client, world.company)
    values = {
        "plot_id": str(plot_id),
        "feature_id": str(plot_id),
        "requirement_id": requirement["id"],
        "ags": FRANKFURT,
        "slug": "frm",
        "collection_id": "plots",
        "tms": "WebMercatorQuad",
        "z": "0",
        "x": "0",
        "y": "0",
    }
    paths = _get_paths(app)
    assert any(p.startswith("/v1/") for p in paths) and any(p.startswith("/ogc") for p in paths)
    for template in paths:
        path = _PARAM.sub(lambda m: values.get(m.group(1), str(uuid.uuid4())), template)
        key = world.company if "/requirements" in template else world.admin
        for headers in ({}, bearer(key)):
            got = await client.get(path, headers=headers)
            head = await client.head(path, headers=headers)
            assert head.status_code != 405, (template, head.headers.get("allow"))
            assert head.status_code == got.status_code, (template, headers, got.text[:300])
            assert head.content == b"", template
            for name in ("content-type", "etag", "content-crs", "x-content-type-options"):
                assert head.headers.get(name) == got.headers.get(name), (template, name)


async def test_head_of_a_plot_and_of_a_list(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = await insert_plot(session, FRANKFURT, x=x + 100, y=y + 100)
    got = await client.get(f"/v1/plots/{plot_id}")
    head = await client.head(f"/v1/plots/{plot_id}")
    assert head.status_code == got.status_code == 200
    assert head.headers["etag"] == got.headers["etag"] and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    for path in ("/v1/plots", "/v1/municipalities", "/v1/regions", "/healthz"):
        response = await client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
    assert (await client.head("/v1/me", headers=bearer(world.company))).status_code == 200
    assert_problem(await client.get("/v1/me"), 401)
    assert (await client.head("/v1/me")).status_code == 401
    # A path without GET answers HEAD as it answers GET: 405, naming the methods it has.
    refused = await client.head("/v1/plot-imports", headers=bearer(world.admin))
    assert refused.status_code == 405 and "POST" in refused.headers["allow"]
