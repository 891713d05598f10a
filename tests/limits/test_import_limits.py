"""Features per import (LANDMARKET_MAX_IMPORT_FEATURES) and vertices per plot geometry
(LANDMARKET_MAX_GEOMETRY_VERTICES), set low here: refused with the limit named, nothing
written; at the limit accepted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.plots.models import Plot
from tests.helpers import assert_problem, bearer, count, pointers
from tests.limits.apps import app_with, client_of
from tests.limits.conftest import FRANKFURT, UTM, X0, Y0, Keys, plot_feature, ring

MAX_FEATURES = 3
MAX_VERTICES = 6


@pytest.fixture
async def client(database_url: str, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app_with(
            database_url, max_import_features=MAX_FEATURES, max_geometry_vertices=MAX_VERTICES
        ) as app,
        client_of(app) as c,
    ):
        yield c


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _heptagon() -> list[list[float]]:
    """7 distinct corners, 8 positions: over MAX_VERTICES."""
    x, y = X0 + 500, Y0 + 500
    corners = [[x, y], [x + 60, y], [x + 90, y + 40], [x + 80, y + 90]]
    corners += [[x + 30, y + 110], [x - 20, y + 90], [x - 30, y + 40]]
    return [*corners, corners[0]]


def test_defaults_are_documented_values() -> None:
    fields = Settings.model_fields
    assert fields["max_import_features"].default == 10_000
    assert fields["max_geometry_vertices"].default == 10_000


async def test_too_many_features_is_413_naming_the_limit(
    client: httpx.AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    features = [plot_feature(f"p{i}", ring(dx=100 + 150 * i)) for i in range(MAX_FEATURES + 1)]
    for params in ({}, {"mode": "partial"}, {"dry_run": "true"}):
        response = await client.post(
            "/v1/plot-imports",
            json=_collection(*features),
            headers={**bearer(keys.municipality), **UTM},
            params=params,
        )
        body = assert_problem(response, 413)
        assert f"at most {MAX_FEATURES}" in body["detail"]
        assert "LANDMARKET_MAX_IMPORT_FEATURES" in body["detail"]
        assert pointers(body) == ["/body/features"]
    assert await count(session, Plot) == 0

    at_limit = await client.post(
        "/v1/plot-imports",
        json=_collection(*features[:MAX_FEATURES]),
        headers={**bearer(keys.municipality), **UTM},
    )
    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["created"] == MAX_FEATURES


async def test_too_many_vertices_is_422_at_the_geometry(
    client: httpx.AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    headers = {**bearer(keys.municipality), **UTM}
    too_many = plot_feature("many", _heptagon())
    created = await client.post("/v1/plots", json=too_many, headers=headers)
    body = assert_problem(created, 422)
    assert pointers(body) == ["/body/geometry/coordinates"]
    assert f"8 vertices; at most {MAX_VERTICES}" in body["errors"][0]["detail"]

    put = await client.put(
        f"/v1/municipalities/{FRANKFURT}/plots/many", json=too_many, headers=headers
    )
    assert pointers(assert_problem(put, 422)) == ["/body/geometry/coordinates"]

    # Bulk: atomic names the feature and writes nothing; partial saves the others.
    batch = _collection(plot_feature("ok"), too_many)
    atomic = await client.post("/v1/plot-imports", json=batch, headers=headers)
    assert pointers(assert_problem(atomic, 422)) == ["/features/1/geometry/coordinates"]
    assert await count(session, Plot) == 0
    partial = await client.post(
        "/v1/plot-imports", json=batch, headers=headers, params={"mode": "partial"}
    )
    assert partial.status_code == 200, partial.text
    report = partial.json()
    assert (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["pointer"] == "/features/1/geometry/coordinates"

    # A plot at the limit (5 positions) is fine, and so is changing it within the limit.
    plot = await client.post("/v1/plots", json=plot_feature("square"), headers=headers)
    assert plot.status_code == 201, plot.text
    patch = await client.patch(
        f"/v1/plots/{plot.json()['id']}",
        json={"geometry": too_many["geometry"]},
        headers={**headers, "If-Match": plot.headers["etag"]},
    )
    assert pointers(assert_problem(patch, 422)) == ["/body/geometry/coordinates"]
    assert await count(session, Plot) == 2


async def test_vertices_are_counted_again_after_repair(
    client: httpx.AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    # A bow tie: 5 positions pass the input check; ST_MakeValid splits it into two
    # triangles of 4 positions each, 8 vertices, which the repaired geometry may not have.
    x, y = X0 + 100, Y0 + 100
    bowtie = [[x, y], [x + 200, y + 200], [x + 200, y], [x, y + 200], [x, y]]
    response = await client.post(
        "/v1/plots",
        json=plot_feature("bowtie", bowtie),
        headers={**bearer(keys.municipality), **UTM},
        params={"repair": "true"},
    )
    body = assert_problem(response, 422)
    assert pointers(body) == ["/body/geometry"]
    assert f"8 vertices; at most {MAX_VERTICES}" in body["errors"][0]["detail"]
    assert await count(session, Plot) == 0
