"""The OGC API's GET and HEAD requests skip FastAPI's router (ogc.dispatch): what a client
sees must not change. Problems keep their rendering and the security headers, HEAD answers
without a body, other methods still get 405 with Allow, and unknown paths under /ogc still
reach the router."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.requests import Request

from landmarket.ogc import router
from landmarket.ogc.dispatch import OgcDispatch
from landmarket.ogc.router import PREFIX, ROUTES
from tests.helpers import assert_problem
from tests.ogc.conftest import OgcWorld

ITEMS = "/ogc/collections/plots/items"


async def test_every_ogc_route_is_dispatched_and_still_registered(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    dispatch = OgcDispatch(app)
    for path, _ in ROUTES:
        concrete = (PREFIX + path).format(
            collection_id="plots", feature_id="x", tms="WebMercatorQuad", z=1, x=0, y=0
        )
        assert any(p.match(concrete) for p, _ in dispatch.routes), concrete
        # The router still has it: another method is 405 there, not 404.
        assert (await client.post(concrete)).status_code == 405, concrete


async def test_problems_keep_their_rendering_and_headers(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    for path, status in (
        ("/ogc/collections/nope/items", 404),
        (ITEMS + "?bbox=1,2,3", 400),
        (ITEMS + "?unknown=1", 400),
        ("/ogc/collections/plots/items/not-a-uuid", 404),
    ):
        response = await client.get(path)
        body = assert_problem(response, status)
        assert body["instance"] == path.split("?")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_head_get_and_other_methods(client: httpx.AsyncClient, ogc_world: OgcWorld) -> None:
    got = await client.get(ITEMS)
    head = await client.head(ITEMS)
    assert got.status_code == head.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"] == "application/geo+json"
    assert head.content == b""
    response = await client.post(ITEMS)
    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
    # Not an OGC route: the router answers as for any unknown path.
    assert_problem(await client.get("/ogc/collections/plots/nothing/here"), 404)


async def test_credentials_still_make_responses_private(
    client: httpx.AsyncClient, ogc_world: OgcWorld
) -> None:
    anonymous = await client.get(ITEMS)
    with_key = await client.get(ITEMS, headers={"Authorization": "Bearer lm_whatever"})
    assert "cache-control" not in anonymous.headers
    assert with_key.headers["cache-control"] == "no-store"


def test_links_name_the_origin_the_client_used() -> None:
    """The base of the links comes from the scope like Starlette's base_url, whatever form the
    server gives its address in (a list, here, as some servers and test transports do)."""
    scope = {"type": "http", "scheme": "https", "path": "/ogc", "query_string": b""}
    for server, headers, root, expected in (
        (["10.0.0.1", 443], [], "/api", "https://10.0.0.1/api/ogc"),
        (("10.0.0.1", 8443), [(b"host", b"example.org")], "", "https://example.org/ogc"),
        (None, [(b"host", b"example.org:8443")], "", "https://example.org:8443/ogc"),
    ):
        request = Request({**scope, "server": server, "headers": headers, "root_path": root})
        assert router._base(request) == expected
