"""Issue 14 item 6: input the database cannot represent (NUL in a string, a number beyond its
column or beyond the arithmetic done with it, a timestamp outside years 1-9999 in UTC, a CQL2
filter PostgreSQL or the interpreter cannot take) is a 4xx problem naming the parameter or
field, never a 500, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import Organization
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement
from landmarket.webhooks.models import WebhookSubscription
from tests.helpers import assert_problem, bearer, count, pointers
from tests.matching.world import (
    FRANKFURT,
    ORIGIN,
    World,
    insert_plot,
    lonlat_ring,
    make_world,
    requirement_body,
)

NUL = "a\x00b"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    w = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    await insert_plot(session, FRANKFURT, x=x + 100, y=y + 100, title="Hafen", external_id="p-1")
    return w


# --- NUL in query strings --------------------------------------------------------------------

MAIN_QUERIES = [
    ("/v1/plots", "q"),
    ("/v1/plots", "region"),
    ("/v1/plots", "cursor"),
    ("/v1/municipalities", "q"),
    ("/v1/municipalities", "region"),
    ("/v1/requirements", "cursor"),
]


@pytest.mark.parametrize(("path", "name"), MAIN_QUERIES)
async def test_nul_in_a_query_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient, world: World, path: str, name: str
) -> None:
    key = world.company if path == "/v1/requirements" else world.admin
    response = await client.get(path, params={name: NUL}, headers=bearer(key))
    body = assert_problem(response, 422)
    assert pointers(body) == [f"/query/{name}"]
    assert "NUL" in body["errors"][0]["detail"]


async def test_nul_in_a_path_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient, world: World
) -> None:
    body = assert_problem(await client.get("/v1/regions/fr%00m"), 422)
    assert pointers(body) == ["/path/slug"]


OGC_QUERIES: list[tuple[str, dict[str, str], str]] = [
    ("plots", {"title": NUL}, "/query/title"),
    ("plots", {"external_id": NUL}, "/query/external_id"),
    ("municipalities", {"name": NUL}, "/query/name"),
    ("plots", {"filter": f"title = '{NUL}'"}, "/query/filter"),
    ("plots", {"filter": f"title LIKE '%{NUL}%'"}, "/query/filter"),
    (
        "plots",
        {
            "filter-lang": "cql2-json",
            "filter": json.dumps({"op": "=", "args": [{"property": "title"}, NUL]}),
        },
        "/query/filter",
    ),
    (
        "plots",
        {
            "filter-lang": "cql2-json",
            "filter": json.dumps({"op": "like", "args": [{"property": "title"}, "%\u0000"]}),
        },
        "/query/filter",
    ),
    ("plots", {"crs": NUL}, "/query/crs"),
]


@pytest.mark.parametrize(("collection", "params", "pointer"), OGC_QUERIES)
async def test_nul_in_ogc_parameters_and_cql2_literals_is_a_400_naming_it(
    client: httpx.AsyncClient,
    world: World,
    collection: str,
    params: dict[str, str],
    pointer: str,
) -> None:
    response = await client.get(f"/ogc/collections/{collection}/items", params=params)
    body = assert_problem(response, 400)
    assert pointers(body) == [pointer]
    assert "NUL" in body["detail"]


# --- NUL in JSON bodies ----------------------------------------------------------------------


async def test_nul_in_any_json_string_is_a_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ring = await lonlat_ring(
        session, ORIGIN[FRANKFURT][0] + 400, ORIGIN[FRANKFURT][1] + 400, side=50
    )
    plot: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"external_id": "n-1", "title": "Lager", "municipality_ags": FRANKFURT},
    }
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (
            "/v1/plots",
            world.frankfurt,
            _with(plot, "properties", title=NUL),
            "/body/properties/title",
        ),
        (
            "/v1/plots",
            world.frankfurt,
            _with(plot, "properties", description="x\u0000"),
            "/body/properties/description",
        ),
        (
            "/v1/plots",
            world.frankfurt,
            _with(plot, "properties", contact={"email": "a\u0000@example.org"}),
            "/body/properties/contact/email",
        ),
        (
            "/v1/plots",
            world.frankfurt,
            _with(plot, "properties", parcel_ids=["1", "2\u0000"]),
            "/body/properties/parcel_ids/1",
        ),
        ("/v1/requirements", world.company, requirement_body(title=NUL), "/body/title"),
        (
            "/v1/requirements",
            world.company,
            requirement_body(description="\u0000"),
            "/body/description",
        ),
        (
            "/v1/admin/organizations",
            world.admin,
            {"kind": "company", "name": NUL, "home_ags": FRANKFURT},
            "/body/name",
        ),
        (
            "/v1/webhooks",
            world.company,
            {"url": "https://93.184.216.34/hook\u0000x", "event_types": ["match.created"]},
            "/body/url",
        ),
        (
            "/v1/webhooks",
            world.company,
            {
                "url": "https://93.184.216.34/hook",
                "event_types": ["match.created"],
                "description": NUL,
            },
            "/body/description",
        ),
    ]
    before = [
        await count(session, m) for m in (Plot, Requirement, Organization, WebhookSubscription)
    ]
    for path, key, body, pointer in cases:
        response = await client.post(path, json=body, headers=bearer(key))
        problem = assert_problem(response, 422)
        assert pointers(problem) == [pointer], (path, problem)
        assert "NUL" in problem["errors"][0]["detail"]
    await session.rollback()
    after = [
        await count(session, m) for m in (Plot, Requirement, Organization, WebhookSubscription)
    ]
    assert after == before


def _with(feature: dict[str, Any], member: str, **values: Any) -> dict[str, Any]:
    return {**feature, member: {**feature[member], **values}}


# --- Numbers beyond a column or its arithmetic -----------------------------------------------

REQUIREMENT_NUMBERS: list[tuple[dict[str, Any], str]] = [
    ({"max_rent_eur_per_m2_month": 1.5e107}, "/body/max_rent_eur_per_m2_month"),
    ({"max_price_eur_per_m2": 1e300}, "/body/max_price_eur_per_m2"),
    ({"must": {"max_transit_stop_distance_m": 1.9e14}}, "/body/must/max_transit_stop_distance_m"),
    (
        {"must": {"max_transit_stop_distance_m": 190_000_000_000_000}},
        "/body/must/max_transit_stop_distance_m",
    ),
    ({"must": {"max_motorway_distance_km": 1e300}}, "/body/must/max_motorway_distance_km"),
    ({"weights": {"area": 5e-324}}, "/body/weights/area"),
    ({"max_price_eur_per_m2": 5e-324}, "/body/max_price_eur_per_m2"),
]


@pytest.mark.parametrize(("fields", "pointer"), REQUIREMENT_NUMBERS)
async def test_requirement_numbers_beyond_what_scoring_can_hold_are_named(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    fields: dict[str, Any],
    pointer: str,
) -> None:
    # Plots with a tiny price and rent: with an unbounded budget, price / budget underflowed
    # in PostgreSQL (a 500 that also stopped the requirement from being saved).
    x, y = ORIGIN[FRANKFURT]
    await insert_plot(
        session,
        FRANKFURT,
        x=x + 300,
        y=y + 300,
        price_eur_per_m2=1e-300,
        rent_eur_per_m2_month=1e-300,
        tenure="sale_or_lease",
    )
    body = requirement_body(area_min_m2=1, **fields)
    response = await client.post("/v1/requirements", json=body, headers=bearer(world.company))
    assert pointers(assert_problem(response, 422)) == [pointer]
    assert await count(session, Requirement) == 0


PLOT_NUMBERS: list[tuple[dict[str, Any], str]] = [
    ({"broadband_mbps": 99_999_999_999_999_999_999}, "broadband_mbps"),
    ({"transit_stop_distance_m": 2**31}, "transit_stop_distance_m"),
    ({"price_eur_per_m2": 5e-324}, "price_eur_per_m2"),
    ({"rent_eur_per_m2_month": 1e300}, "rent_eur_per_m2_month"),
    ({"motorway_distance_km": 1e308}, "motorway_distance_km"),
    ({"emission_quota_db": -1e308}, "emission_quota_db"),
    ({"min_divisible_area_m2": 1e300}, "min_divisible_area_m2"),
]


@pytest.mark.parametrize(("fields", "name"), PLOT_NUMBERS)
async def test_plot_numbers_beyond_their_columns_are_named(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    fields: dict[str, Any],
    name: str,
) -> None:
    ring = await lonlat_ring(
        session, ORIGIN[FRANKFURT][0] + 400, ORIGIN[FRANKFURT][1] + 400, side=50
    )
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"external_id": "n-1", "title": "Lager", **fields},
    }
    response = await client.post("/v1/plots", json=feature, headers=bearer(world.frankfurt))
    assert pointers(assert_problem(response, 422)) == [f"/body/properties/{name}"]
    assert await count(session, Plot) == 1  # the world's own


@pytest.mark.parametrize(
    ("path", "params", "pointer", "status"),
    [
        ("/v1/plots", {"max_area_m2": "1.5e196"}, "/query/max_area_m2", 422),
        ("/v1/plots", {"min_area_m2": "1e308"}, "/query/min_area_m2", 422),
        (
            "/ogc/collections/plots/items",
            {"broadband_mbps": "99999999999999999999"},
            "/query/broadband_mbps",
            400,
        ),
        (
            "/ogc/collections/plots/items",
            {"transit_stop_distance_m": str(2**31)},
            "/query/transit_stop_distance_m",
            400,
        ),
    ],
)
async def test_query_numbers_beyond_their_columns_are_named(
    client: httpx.AsyncClient,
    world: World,
    path: str,
    params: dict[str, str],
    pointer: str,
    status: int,
) -> None:
    response = await client.get(path, params=params, headers=bearer(world.admin))
    assert pointers(assert_problem(response, status)) == [pointer]


# --- CQL2 and datetime -----------------------------------------------------------------------


def _alternating(depth: int) -> str:
    """AND and OR nested ``depth`` levels deep (a chain of one operator is one level)."""
    text = "title = 'x'"
    for level in range(depth):
        text = f"(title = 'x' {'OR' if level % 2 else 'AND'} {text})"
    return text


TEXT_FILTERS = [
    "title LIKE '%\\'",
    "title LIKE 'a\\\\\\'",
    "BBOX(title,1,2,3)",
    "BBOX(0,0,'a',1)",
    "S_INTERSECTS(geometry, BBOX(0,0,'a',1))",
    "S_INTERSECTS(geometry, POINT(1e308 1e308))",
    "S_INTERSECTS(geometry, POINT(300 100))",
    "S_INTERSECTS(geometry, BBOX(8, 50, 9e307, 51))",
    "broadband_mbps = 99999999999999999999",
    "price_eur_per_m2 < -99999999999999999999",
    "broadband_mbps IN (1, 99999999999999999999)",
    "updated_at > TIMESTAMP('0001-01-01T00:00:00+14:00')",
    "updated_at < TIMESTAMP('9999-12-31T23:00:00-14:00')",
    " AND ".join(["broadband_mbps = 1"] * 1000),
    " OR ".join(["broadband_mbps = 1"] * 1000),
    _alternating(200),
]
JSON_FILTERS: list[Any] = [
    {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": ["a", "b", "c", "d"]}]},
    {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [8, 50, True, 51]}]},
    {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"type": "Point", "coordinates": ["8.6", "50.1"]}],
    },
    {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [1e308, 1e308]}],
    },
    {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[8, 50], "x"]]}],
    },
    {"op": "=", "args": [{"property": "broadband_mbps"}, 10**30]},
    {"op": "like", "args": [{"property": "title"}, "50%\\"]},
    {"op": ">", "args": [{"property": "updated_at"}, {"timestamp": "0001-01-01T00:00:00+14:00"}]},
    {"op": "and", "args": [{"op": "=", "args": [{"property": "broadband_mbps"}, 1]}] * 400},
    json.loads(
        "".join(['{"op": "not", "args": ['] * 200)
        + '{"op": "=", "args": [{"property": "title"}, "x"]}'
        + "]}" * 200
    ),
    "[" * 5000 + "]" * 5000,  # sent as it is: nesting deeper than any parser recurses
]


@pytest.mark.parametrize("text", TEXT_FILTERS, ids=range(len(TEXT_FILTERS)))
async def test_cql2_text_that_postgresql_cannot_take_is_a_400(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    response = await client.get("/ogc/collections/plots/items", params={"filter": text})
    assert pointers(assert_problem(response, 400)) == ["/query/filter"]


@pytest.mark.parametrize("node", JSON_FILTERS, ids=range(len(JSON_FILTERS)))
async def test_cql2_json_that_postgresql_cannot_take_is_a_400(
    client: httpx.AsyncClient, world: World, node: Any
) -> None:
    text = node if isinstance(node, str) else json.dumps(node)
    params = {"filter-lang": "cql2-json", "filter": text}
    response = await client.get("/ogc/collections/plots/items", params=params)
    assert pointers(assert_problem(response, 400)) == ["/query/filter"]


async def test_a_long_but_reasonable_filter_still_works(
    client: httpx.AsyncClient, world: World
) -> None:
    # 100 ANDed predicates and 20 levels of nesting, within the bounds: answered.
    text = " AND ".join(["title <> 'x'"] * 100) + " AND NOT title = 'x' AND " + _alternating(20)
    response = await client.get("/ogc/collections/plots/items", params={"filter": text})
    assert response.status_code == 200, response.text
    assert [f["properties"]["title"] for f in response.json()["features"]] == []
    text = " AND ".join(["title <> 'x'"] * 100) + " AND NOT title = 'x'"
    response = await client.get("/ogc/collections/plots/items", params={"filter": text})
    assert [f["properties"]["title"] for f in response.json()["features"]] == ["Hafen"]


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01/9999-12-31",
        "0001-01-01T00:00:00+14:00",
        "../9999-12-31T23:59:59-14:00",
        "9999-12-31",
    ],
)
async def test_datetime_at_the_ends_of_the_calendar_is_answered_or_named(
    client: httpx.AsyncClient, world: World, value: str
) -> None:
    response = await client.get("/ogc/collections/plots/items", params={"datetime": value})
    if value in ("0001-01-01/9999-12-31", "9999-12-31"):
        # Representable: the whole calendar holds every plot; its last day none.
        assert response.status_code == 200, response.text
        expected = 1 if value.startswith("0001") else 0
        assert len(response.json()["features"]) == expected
    else:
        assert pointers(assert_problem(response, 400)) == ["/query/datetime"]


async def test_ogc_timestamp_property_beyond_utc_is_named(
    client: httpx.AsyncClient, world: World
) -> None:
    params = {"updated_at": "0001-01-01T00:00:00+14:00"}
    response = await client.get("/ogc/collections/plots/items", params=params)
    assert pointers(assert_problem(response, 400)) == ["/query/updated_at"]


@pytest.mark.parametrize(
    "coordinates",
    [
        [[[1e308, 1e308], [1e308, -1e308], [-1e308, 1e308], [1e308, 1e308]]],
        [[[8.6, 50.1], [8.7, 50.1], [8.7, 5e-324], [8.6, 50.1]]],
        [[[8.6, 50.1], [8.7, 50.1], [8.7, 99999999999999999999], [8.6, 50.1]]],
    ],
)
async def test_plot_geometry_numbers_beyond_any_crs_are_named(
    client: httpx.AsyncClient, world: World, session: AsyncSession, coordinates: Any
) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": coordinates},
        "properties": {"external_id": "g-1", "title": "Lager"},
    }
    response = await client.post("/v1/plots", json=feature, headers=bearer(world.frankfurt))
    problem = assert_problem(response, 422)
    assert all(p.startswith("/body/geometry") for p in pointers(problem)), problem
    assert await count(session, Plot) == 1
