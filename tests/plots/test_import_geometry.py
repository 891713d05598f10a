"""Each geometry rule of plots.geometry as a per-feature error of a bulk import."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    ORIGIN,
    UTM,
    World,
    assert_problem,
    bearer,
    count,
    table_hash,
)
from tests.plots.test_imports import utm_feature


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def square(x: float, y: float, side: float) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def bad_features() -> list[tuple[dict[str, Any], str, str]]:
    """(feature, expected pointer suffix, text expected in the detail), one per rule."""
    x, y = ORIGIN[FRANKFURT]
    cases: list[tuple[dict[str, Any], str, str]] = []

    def add(geometry: Any, pointer: str, text: str, **props: Any) -> None:
        feature = utm_feature(FRANKFURT, f"bad-{len(cases)}", len(cases), **props)
        feature["geometry"] = geometry
        cases.append((feature, pointer, text))

    add({"type": "Point", "coordinates": [x, y]}, "/geometry/type", "")
    add(
        polygon([[x, y], [x + 10, y], [x, y + 10], [x + 1, y]]), "/geometry/coordinates/0", "closed"
    )
    add(polygon([[x, y], [x + 10, y], [x, y]]), "/geometry/coordinates/0", "at least 4")
    add(
        polygon([*square(x, y, 10)[:2], [x, float("nan")], *square(x, y, 10)[3:]]),
        "/geometry/coordinates/0/2",
        "finite",
    )
    add(
        polygon([[x, -100.0], [x + 10, -100.0], [x + 10, y], [x, -100.0]]),
        "/geometry/coordinates/0/0",
        "outside the valid range",
    )
    # Degrees sent with a metric Content-Crs: in range, but in no municipality.
    add(
        polygon([[8.6, 50.1], [8.7, 50.1], [8.7, 50.2], [8.6, 50.1]]),
        "/geometry",
        "no known municipality",
    )
    many = [[x + 100 + i * 0.05, y + 100] for i in range(10_001)]
    add(polygon([*many, [x + 100, y + 300], many[0]]), "/geometry/coordinates", "vertices")
    bowtie = [[x + 100, y + 100], [x + 300, y + 300], [x + 300, y + 100], [x + 100, y + 300]]
    add(polygon([*bowtie, bowtie[0]]), "/geometry", "Self-intersection[")
    add(polygon(square(x - 4000, y - 4000, 9000)), "/geometry", "km²")
    add(
        polygon(square(ORIGIN["06413000"][0] + 100, y + 100, 50)),
        "/geometry",
        "Offenbach am Main (06413000)",
    )
    add(
        polygon(square(x + 100, y + 100, 50)),
        "/properties/municipality_ags",
        "no municipality with this AGS",
        municipality_ags="06999999",
    )
    add(
        polygon(square(x + 50_000, y, 50)),
        "/properties/municipality_ags",
        "no known municipality",
        municipality_ags=None,
    )
    return cases


async def test_each_geometry_rule_is_a_per_feature_error(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    cases = bad_features()
    good = utm_feature(FRANKFURT, "good", 50)
    features = [good, *(feature for feature, _, _ in cases)]
    for feature in features:
        if feature["properties"].get("municipality_ags", "") is None:
            del feature["properties"]["municipality_ags"]
    body = json.dumps({"type": "FeatureCollection", "features": features})  # NaN as GIS write it
    headers = {**bearer(world.admin), "Content-Crs": UTM, "Content-Type": "application/json"}
    before = await table_hash(session)
    problem = assert_problem(
        await client.post("/v1/plot-imports", content=body, headers=headers), 422
    )
    assert await table_hash(session) == before

    response = await client.post(
        "/v1/plot-imports", content=body, headers=headers, params={"mode": "partial"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["errors"] == problem["errors"], "atomic and partial name the same failures"
    assert report["created"] == 1
    by_index = {e["index"]: e for e in report["errors"]}
    assert sorted(by_index) == list(range(1, len(cases) + 1))
    for n, (_, pointer, text) in enumerate(cases, start=1):
        error = by_index[n]
        assert error["pointer"] == f"/features/{n}{pointer}", (n, error)
        assert text in error["detail"], (n, error)
        assert error["external_id"] == f"bad-{n - 1}"
    assert await count(session, Plot) == 1


async def test_zero_area_after_repair(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    x, y = ORIGIN[FRANKFURT]
    feature = utm_feature(FRANKFURT, "flat", 0)
    feature["geometry"] = polygon(
        [[x + 100, y + 100], [x + 200, y + 100], [x + 300, y + 100], [x + 100, y + 100]]
    )
    response = await client.post(
        "/v1/plot-imports",
        json={"type": "FeatureCollection", "features": [feature]},
        headers={**bearer(world.frankfurt), "Content-Crs": UTM},
        params={"repair": "true"},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["pointer"] == "/features/0/geometry"
    assert "area is 0" in problem["errors"][0]["detail"]
