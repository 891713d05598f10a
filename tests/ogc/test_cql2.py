"""Part 3: CQL2 text and JSON give the same sets as the equivalent SQL; bad filters are 400."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import assert_problem
from tests.ogc.conftest import OgcWorld

ITEMS = "/ogc/collections/plots/items"
P = {"property": "zoning"}
# (CQL2 text, CQL2 JSON, SQL over published plots)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("zoning = 'GE'", {"op": "=", "args": [P, "GE"]}, "zoning = 'GE'"),
    ("zoning <> 'GE'", {"op": "<>", "args": [P, "GE"]}, "zoning <> 'GE'"),
    (
        "broadband_mbps >= 250 AND fibre_available = true",
        {
            "op": "and",
            "args": [
                {"op": ">=", "args": [{"property": "broadband_mbps"}, 250]},
                {"op": "=", "args": [{"property": "fibre_available"}, True]},
            ],
        },
        "broadband_mbps >= 250 AND fibre_available",
    ),
    (
        "zoning = 'GI' OR NOT (price_eur_per_m2 < 200)",
        {
            "op": "or",
            "args": [
                {"op": "=", "args": [P, "GI"]},
                {
                    "op": "not",
                    "args": [{"op": "<", "args": [{"property": "price_eur_per_m2"}, 200]}],
                },
            ],
        },
        "zoning = 'GI' OR NOT (price_eur_per_m2 < 200)",
    ),
    (
        "title LIKE 'Hafen%'",
        {"op": "like", "args": [{"property": "title"}, "Hafen%"]},
        "title LIKE 'Hafen%'",
    ),
    (
        "title LIKE 'Gewerbe _'",
        {"op": "like", "args": [{"property": "title"}, "Gewerbe _"]},
        "title LIKE 'Gewerbe _'",
    ),
    (
        "CASEI(title) LIKE CASEI('hafen%')",
        {
            "op": "like",
            "args": [
                {"op": "casei", "args": [{"property": "title"}]},
                {"op": "casei", "args": ["hafen%"]},
            ],
        },
        "lower(title) LIKE 'hafen%'",
    ),
    ("zoning IN ('GE', 'MI')", {"op": "in", "args": [P, ["GE", "MI"]]}, "zoning IN ('GE', 'MI')"),
    (
        "broadband_mbps BETWEEN 100 AND 250",
        {"op": "between", "args": [{"property": "broadband_mbps"}, 100, 250]},
        "broadband_mbps BETWEEN 100 AND 250",
    ),
    (
        "description IS NULL",
        {"op": "isNull", "args": [{"property": "description"}]},
        "description IS NULL",
    ),
    (
        "NOT (broadband_mbps IS NULL)",
        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "broadband_mbps"}]}]},
        "broadband_mbps IS NOT NULL",
    ),
    (
        "available_from < DATE('2026-04-01')",
        {"op": "<", "args": [{"property": "available_from"}, {"date": "2026-04-01"}]},
        "available_from < '2026-04-01'",
    ),
    (
        "updated_at >= TIMESTAMP('2026-01-15T00:00:00Z')",
        {"op": ">=", "args": [{"property": "updated_at"}, {"timestamp": "2026-01-15T00:00:00Z"}]},
        "updated_at >= '2026-01-15T00:00:00Z'",
    ),
    (
        "S_INTERSECTS(geometry, "
        "POLYGON((8.59 50.0, 8.625 50.0, 8.625 50.02, 8.59 50.02, 8.59 50.0)))",
        {
            "op": "s_intersects",
            "args": [
                {"property": "geometry"},
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[8.59, 50.0], [8.625, 50.0], [8.625, 50.02], [8.59, 50.02], [8.59, 50.0]]
                    ],
                },
            ],
        },
        "ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(8.59, 50.0, 8.625, 50.02, 4326), 25832))",
    ),
    (
        "S_INTERSECTS(geometry, BBOX(8.59, 50.0, 8.625, 50.02)) AND zoning IN ('GE','GI','MI')",
        {
            "op": "and",
            "args": [
                {
                    "op": "s_intersects",
                    "args": [{"property": "geometry"}, {"bbox": [8.59, 50.0, 8.625, 50.02]}],
                },
                {"op": "in", "args": [P, ["GE", "GI", "MI"]]},
            ],
        },
        "ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(8.59, 50.0, 8.625, 50.02, 4326), 25832))"
        " AND zoning IN ('GE','GI','MI')",
    ),
]


async def expected(session: AsyncSession, where: str) -> list[str]:
    # The reference: plain SQL written by hand (test-only literals, no user input).
    rows = await session.execute(
        text(f"SELECT external_id FROM plots WHERE status = 'published' AND ({where})")  # noqa: S608
    )
    return sorted(r[0] for r in rows)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(f["properties"]["external_id"] for f in response.json()["features"])


@pytest.mark.parametrize(("cql_text", "cql_json", "sql"), CASES)
async def test_cql2_text_and_json_match_sql(
    client: httpx.AsyncClient,
    session: AsyncSession,
    ogc_world: OgcWorld,
    cql_text: str,
    cql_json: dict[str, Any],
    sql: str,
) -> None:
    want = await expected(session, sql)
    got_text = ids(await client.get(ITEMS, params={"filter": cql_text, "limit": 1000}))
    got_json = ids(
        await client.get(
            ITEMS,
            params={"filter": json.dumps(cql_json), "filter-lang": "cql2-json", "limit": 1000},
        )
    )
    assert got_text == got_json == want
    assert 0 < len(want) < len(ogc_world.published) or "NULL" in sql


async def test_filter_crs_applies_to_geometry_literals(
    client: httpx.AsyncClient, session: AsyncSession, ogc_world: OgcWorld
) -> None:
    want = await expected(session, "municipality_ags = '06413000'")
    utm = "S_INTERSECTS(geometry, BBOX(472000, 5540000, 473000, 5541000))"
    got = ids(
        await client.get(
            ITEMS,
            params={"filter": utm, "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/25832"},
        )
    )
    assert got == want
    latlon = "S_INTERSECTS(geometry, POINT(50.0 8.6))"
    r = await client.get(
        ITEMS, params={"filter": latlon, "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"filter": "zoning = "}, "could not be parsed"),
        ({"filter": "zoning = 'GE' AND"}, "could not be parsed"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "could not be parsed"),
        (
            {"filter": '{"op": "=", "args": [{"property": "zoning"}]}', "filter-lang": "cql2-json"},
            "missing 1 required positional argument",
        ),
        ({"filter": "contact = 'x'"}, "unknown queryable 'contact'"),
        ({"filter": "status = 'draft'"}, "unknown queryable 'status'"),
        ({"filter": "broadband_mbps = 'fast'"}, "not a valid integer"),
        ({"filter": "title LIKE 5"}, "pattern must be a string"),
        ({"filter": "zoning = 'GE'", "filter-lang": "sql"}, "filter-lang"),
        (
            {
                "filter": '{"op": "t_after", "args": [{"property": "updated_at"}, '
                '{"timestamp": "2026-01-01T00:00:00Z"}]}',
                "filter-lang": "cql2-json",
            },
            "not supported",
        ),
        ({"filter": "zoning = 'GE' AND"}, "Unexpected token"),
    ],
)
async def test_malformed_filters_are_400_with_the_reason(
    client: httpx.AsyncClient, ogc_world: OgcWorld, params: dict[str, str], reason: str
) -> None:
    body = assert_problem(await client.get(ITEMS, params=params), 400)
    assert reason in body["detail"], body


async def test_filter_values_are_bound_not_spliced(
    client: httpx.AsyncClient, session: AsyncSession, ogc_world: OgcWorld
) -> None:
    hostile = {"op": "=", "args": [{"property": "title"}, "x'; DROP TABLE plots; --"]}
    params = {"filter": json.dumps(hostile), "filter-lang": "cql2-json"}
    r = await client.get(ITEMS, params=params)
    assert r.status_code == 200 and r.json()["features"] == []
    assert await expected(session, "true")
