"""Requirement CRUD: ownership and confidentiality, If-Match, validation with pointers."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from tests.matching.world import (
    DARMSTADT,
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


async def rows_hash(session: AsyncSession) -> str:
    await session.rollback()
    rows = await session.execute(
        text(
            "SELECT coalesce(string_agg(t, '|' ORDER BY t), '') FROM (SELECT r::text AS t FROM "
            "requirements r UNION ALL SELECT m::text FROM matches m UNION ALL "
            "SELECT e::text FROM events e) s"
        )
    )
    return hashlib.sha256(str(rows.scalar()).encode()).hexdigest()


async def test_create_read_update_withdraw(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    anchor = await lonlat(session, ORIGIN[OFFENBACH][0] + 500, ORIGIN[OFFENBACH][1] + 500)
    created = await post_requirement(
        client,
        world.company,
        zonings=["GE", "GI"],
        location={"anchor": {"type": "Point", "coordinates": anchor}, "max_distance_km": 5},
        must={"fibre": True},
        weights={"price": 8},
        sector_nace="C28",
        jobs=40,
    )
    assert created["company_id"] == str(world.company_id)
    assert created["home_ags"] == OFFENBACH
    assert created["status"] == "open" and created["version"] == 1
    assert created["location"]["anchor"]["type"] == "Point"
    assert created["location"]["anchor"]["coordinates"] == pytest.approx(anchor, abs=1e-6)
    assert created["must"]["fibre"] is True and created["must"]["rail_siding"] is False
    assert created["weights"]["price"] == 8 and created["weights"]["area"] is None
    url = f"/v1/requirements/{created['id']}"

    got = await client.get(url, headers=bearer(world.company))
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    listed = await client.get("/v1/requirements", headers=bearer(world.company))
    assert [r["id"] for r in listed.json()["items"]] == [created["id"]]
    assert (await client.get("/v1/requirements", headers=bearer(world.other_company))).json()[
        "items"
    ] == []
    assert (
        len((await client.get("/v1/requirements", headers=bearer(world.admin))).json()["items"])
        == 1
    )

    missing = await client.patch(url, json={"jobs": 50}, headers=bearer(world.company))
    assert_problem(missing, 428)
    stale = await client.patch(
        url, json={"jobs": 50}, headers={**bearer(world.company), "If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    patched = await client.patch(
        url,
        json={"jobs": 50, "must": {"rail_siding": True}, "location": {"max_distance_km": 8}},
        headers={**bearer(world.company), "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["version"] == 2 and patched.headers["etag"] == '"2"'
    assert body["jobs"] == 50
    assert body["must"] == {**created["must"], "rail_siding": True}
    assert body["location"]["max_distance_km"] == 8
    assert body["location"]["anchor"] == created["location"]["anchor"]
    same = await client.patch(
        url, json={"jobs": 50}, headers={**bearer(world.company), "If-Match": '"2"'}
    )
    assert same.json()["version"] == 2  # nothing changed, nothing written

    gone = await client.delete(url, headers=bearer(world.company))
    assert gone.status_code == 204
    assert (await client.get(url, headers=bearer(world.company))).json()["status"] == "withdrawn"
    actions = (
        (
            await session.execute(
                select(Event.action).where(Event.entity_type == "requirement").order_by(Event.id)
            )
        )
        .scalars()
        .all()
    )
    assert actions == ["create", "update", "withdraw"]


async def test_nobody_but_owner_and_admin_sees_a_requirement(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    created = await post_requirement(client, world.company, title="Secret expansion")
    rid = created["id"]
    before = await rows_hash(session)
    for key in (world.other_company, world.frankfurt, world.offenbach, world.agency):
        h = {**bearer(key), "If-Match": '"1"'}
        for response in (
            await client.get(f"/v1/requirements/{rid}", headers=h),
            await client.patch(f"/v1/requirements/{rid}", json={"jobs": 1}, headers=h),
            await client.delete(f"/v1/requirements/{rid}", headers=h),
            await client.get(f"/v1/requirements/{rid}/matches", headers=h),
        ):
            body = assert_problem(response, 404)
            assert "Secret" not in str(body)
    for key in (world.frankfurt, world.agency):
        assert_problem(await client.get("/v1/requirements", headers=bearer(key)), 403)
        assert_problem(
            await client.post("/v1/requirements", json=requirement_body(), headers=bearer(key)),
            403,
        )
    assert_problem(await client.get(f"/v1/requirements/{rid}"), 401)
    assert_problem(await client.get("/v1/requirements"), 401)
    assert await rows_hash(session) == before
    admin = await client.get(f"/v1/requirements/{rid}", headers=bearer(world.admin))
    assert admin.status_code == 200 and admin.json()["title"] == "Secret expansion"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"area_min_m2": 5000, "area_max_m2": 1000}, "/body/area_max_m2"),
    ({"area_min_m2": 0}, "/body/area_min_m2"),
    ({"zonings": ["GE", "XX"]}, "/body/zonings/1"),
    ({"emission_class": "loud"}, "/body/emission_class"),
    ({"tenure": "rent"}, "/body/tenure"),
    ({"location": {"municipalities": ["0641200"]}}, "/body/location/municipalities/0"),
    ({"location": {"municipalities": ["06412000", "09999999"]}}, "/body/location/municipalities/1"),
    (
        {
            "location": {
                "anchor": {"type": "Point", "coordinates": [50.1, 8.6, 3]},
                "max_distance_km": 3,
            }
        },
        "/body/location/anchor/coordinates",
    ),
    (
        {
            "location": {
                "anchor": {"type": "Point", "coordinates": [200, 8.6]},
                "max_distance_km": 3,
            }
        },
        "/body/location/anchor/coordinates",
    ),
    (
        {"location": {"anchor": {"type": "Point", "coordinates": [8.6, 50.1]}}},
        "/body/location/max_distance_km",
    ),
    ({"location": {"max_distance_km": 3}}, "/body/location/anchor"),
    (
        {
            "location": {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[8.6, 50.1], [8.7, 50.1], [8.7, 50.2]]],
                }
            }
        },
        "/body/location/area/coordinates",
    ),
    (
        # A bow tie: self-intersecting, found by PostGIS.
        {
            "location": {
                "area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[8.6, 50.1], [8.7, 50.2], [8.7, 50.1], [8.6, 50.2], [8.6, 50.1]]
                    ],
                }
            }
        },
        "/body/location/area",
    ),
    ({"location": {"area": {"type": "LineString", "coordinates": []}}}, "/body/location/area/type"),
    ({"weights": {"price": 11}}, "/body/weights/price"),
    ({"weights": {"area": -1}}, "/body/weights/area"),
    ({"must": {"max_transit_stop_distance_m": -5}}, "/body/must/max_transit_stop_distance_m"),
    ({"max_price_eur_per_m2": -3}, "/body/max_price_eur_per_m2"),
    ({"surprise": 1}, "/body/surprise"),
]


@pytest.mark.parametrize(("change", "pointer"), BAD)
async def test_bad_input_is_422_with_pointer_and_writes_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    change: dict[str, Any],
    pointer: str,
) -> None:
    before = await rows_hash(session)
    response = await client.post(
        "/v1/requirements", json=requirement_body(**change), headers=bearer(world.company)
    )
    assert pointer in pointers(assert_problem(response, 422))
    assert await rows_hash(session) == before


async def test_bad_patch_is_422_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    created = await post_requirement(client, world.company, area_min_m2=1000, area_max_m2=2000)
    before = await rows_hash(session)
    h = {**bearer(world.company), "If-Match": '"1"'}
    url = f"/v1/requirements/{created['id']}"
    too_big = await client.patch(url, json={"area_min_m2": 3000}, headers=h)
    assert "/body/area_max_m2" in pointers(assert_problem(too_big, 422))
    for body, pointer in (
        ({"status": None}, "/body/status"),
        (
            {"location": {"municipalities": [DARMSTADT, "01234567"]}},
            "/body/location/municipalities/1",
        ),
        ({"weights": {"reactivation": 10.5}}, "/body/weights/reactivation"),
    ):
        response = await client.patch(url, json=body, headers=h)
        assert pointer in pointers(assert_problem(response, 422))
    assert await rows_hash(session) == before
