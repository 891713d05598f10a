"""Every bad property is a 422 with a JSON pointer, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    World,
    assert_problem,
    bearer,
    count,
    create,
    feature,
    pointers,
)

Mutation = Callable[[dict[str, Any]], None]


def prop(name: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["properties"][name] = value

    return mutate


def drop(name: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        del body["properties"][name]

    return mutate


CASES: list[tuple[str, Mutation, str]] = [
    ("external_id pattern", prop("external_id", "has space"), "/body/properties/external_id"),
    ("external_id umlaut", prop("external_id", "Fläche-1"), "/body/properties/external_id"),
    ("external_id empty", prop("external_id", ""), "/body/properties/external_id"),
    ("external_id too long", prop("external_id", "a" * 129), "/body/properties/external_id"),
    ("external_id missing", drop("external_id"), "/body/properties/external_id"),
    ("title missing", drop("title"), "/body/properties/title"),
    ("title blank", prop("title", "   "), "/body/properties/title"),
    ("title too long", prop("title", "t" * 201), "/body/properties/title"),
    ("description too long", prop("description", "d" * 5001), "/body/properties/description"),
    ("ags format", prop("municipality_ags", "6412000"), "/body/properties/municipality_ags"),
    ("unknown zoning", prop("zoning", "XX"), "/body/properties/zoning"),
    ("unknown category", prop("category", "farm"), "/body/properties/category"),
    ("unknown tenure", prop("tenure", "rent"), "/body/properties/tenure"),
    ("unknown status", prop("status", "sold"), "/body/properties/status"),
    ("unknown contamination", prop("contamination", "a bit"), "/body/properties/contamination"),
    ("negative price", prop("price_eur_per_m2", -1), "/body/properties/price_eur_per_m2"),
    (
        "negative rent",
        prop("rent_eur_per_m2_month", -0.5),
        "/body/properties/rent_eur_per_m2_month",
    ),
    (
        "negative transit distance",
        prop("transit_stop_distance_m", -10),
        "/body/properties/transit_stop_distance_m",
    ),
    (
        "negative motorway distance",
        prop("motorway_distance_km", -2.5),
        "/body/properties/motorway_distance_km",
    ),
    ("negative broadband", prop("broadband_mbps", -1), "/body/properties/broadband_mbps"),
    (
        "negative divisible area",
        prop("min_divisible_area_m2", -5),
        "/body/properties/min_divisible_area_m2",
    ),
    ("bad date", prop("available_from", "next week"), "/body/properties/available_from"),
    ("parcel ids not a list", prop("parcel_ids", "060001"), "/body/properties/parcel_ids"),
    ("bad contact email", prop("contact", {"email": "nobody"}), "/body/properties/contact/email"),
    ("unknown contact member", prop("contact", {"fax": "1"}), "/body/properties/contact/fax"),
    ("unknown property", prop("zoning_code", "GE"), "/body/properties/zoning_code"),
    ("not a feature", lambda b: b.update(type="FeatureCollection"), "/body/type"),
    ("unknown member", lambda b: b.update(crs="EPSG:4326"), "/body/crs"),
    ("no geometry", lambda b: b.pop("geometry"), "/body/geometry"),
    ("initial status reserved", prop("status", "reserved"), "/body/properties/status"),
]


@pytest.mark.parametrize(("mutate", "pointer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_invalid_property_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    mutate: Mutation,
    pointer: str,
) -> None:
    body = await feature(session, FRANKFURT)
    mutate(body)
    response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    problem = assert_problem(response, 422)
    assert pointer in pointers(problem)
    assert await count(session, Plot) == 0
    assert await count(session, Event) == 0


async def test_all_errors_are_reported_at_once(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, zoning="XX", price_eur_per_m2=-3)
    problem = assert_problem(
        await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt)), 422
    )
    assert set(pointers(problem)) == {
        "/body/properties/zoning",
        "/body/properties/price_eur_per_m2",
    }


PATCH_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("null title", {"title": None}, "/body/properties/title"),
    ("null status", {"status": None}, "/body/properties/status"),
    ("negative price", {"price_eur_per_m2": -1}, "/body/properties/price_eur_per_m2"),
    ("unknown property", {"size": 3}, "/body/properties/size"),
    ("move municipality", {"municipality_ags": "06413000"}, "/body/properties/municipality_ags"),
]


@pytest.mark.parametrize(
    ("props", "pointer"), [c[1:] for c in PATCH_CASES], ids=[c[0] for c in PATCH_CASES]
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    props: dict[str, Any],
    pointer: str,
) -> None:
    created = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    response = await client.patch(
        f"/v1/plots/{created['id']}",
        json={"properties": props},
        headers={**bearer(world.frankfurt), "If-Match": '"1"'},
    )
    problem = assert_problem(response, 422)
    assert pointer in pointers(problem)
    after = await client.get(f"/v1/plots/{created['id']}", headers=bearer(world.frankfurt))
    assert after.json() == created
    assert await count(session, Event) == 1


async def test_null_clears_a_nullable_property(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(
        client, world.frankfurt, await feature(session, FRANKFURT, price_eur_per_m2=10)
    )
    response = await client.patch(
        f"/v1/plots/{created['id']}",
        json={"properties": {"price_eur_per_m2": None}},
        headers={**bearer(world.frankfurt), "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["price_eur_per_m2"] is None
    assert response.json()["properties"]["title"] == created["properties"]["title"]


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, description="x" * 2_000_000)
    response = await client.post("/v1/plots", json=body, headers=bearer(world.frankfurt))
    assert_problem(response, 413)
    assert await count(session, Plot) == 0
