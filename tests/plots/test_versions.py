"""ETag / If-Match, atomic version checks, the status machine, PUT idempotency, history."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.plots.conftest import (
    FRANKFURT,
    OFFENBACH,
    World,
    assert_problem,
    bearer,
    count,
    create,
    feature,
    table_hash,
)


def match(key: str, etag: str) -> dict[str, str]:
    return {**bearer(key), "If-Match": etag}


async def test_patch_needs_if_match(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    body = {"properties": {"title": "Neuer Titel"}}
    before = await table_hash(session)
    missing = assert_problem(
        await client.patch(url, json=body, headers=bearer(world.frankfurt)), 428
    )
    assert missing["title"] == "Precondition required"
    stale = await client.patch(url, json=body, headers=match(world.frankfurt, '"7"'))
    assert_problem(stale, 412)
    assert stale.headers["etag"] == '"1"'
    assert await table_hash(session) == before

    ok = await client.patch(url, json=body, headers=match(world.frankfurt, '"1"'))
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    assert ok.json()["properties"]["title"] == "Neuer Titel"
    assert ok.json()["properties"]["version"] == 2
    # The old ETag is now stale.
    assert_problem(await client.patch(url, json=body, headers=match(world.frankfurt, '"1"')), 412)


async def test_patch_without_changes_keeps_the_version(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    same = {"properties": {"title": plot["properties"]["title"]}}
    response = await client.patch(
        f"/v1/plots/{plot['id']}", json=same, headers=match(world.frankfurt, '"1"')
    )
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert await count(session, Event) == 1


async def test_patch_geometry(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    bigger = await feature(session, FRANKFURT, side=200)
    response = await client.patch(
        f"/v1/plots/{plot['id']}",
        json={"geometry": bigger["geometry"]},
        headers=match(world.frankfurt, '"1"'),
    )
    assert response.status_code == 200, response.text
    assert abs(response.json()["properties"]["area_m2"] - 40_000) < 40
    outside = await feature(session, OFFENBACH)
    response = await client.patch(
        f"/v1/plots/{plot['id']}",
        json={"geometry": outside["geometry"]},
        headers=match(world.frankfurt, '"2"'),
    )
    assert_problem(response, 422)


async def test_concurrent_patches_with_the_same_etag(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    for round_ in range(5):
        etag = (await client.get(url, headers=bearer(world.frankfurt))).headers["etag"]
        responses = await asyncio.gather(
            *(
                client.patch(
                    url,
                    json={"properties": {"title": f"round {round_} writer {i}"}},
                    headers=match(world.frankfurt, etag),
                )
                for i in range(2)
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    final = await session.scalar(select(Plot.version).where(Plot.id == plot["id"]))
    assert final == 6
    # One create and one event per winning write; losers left no trace.
    assert await count(session, Event) == 6


TRANSITIONS_OK = [
    ["published"],
    ["published", "reserved", "transferred"],
    ["published", "under_negotiation", "transferred", "withdrawn", "draft"],
    ["published", "reserved", "under_negotiation", "published"],
    ["withdrawn", "draft", "published"],
]
TRANSITIONS_BAD = [
    ([], "reserved"),
    ([], "transferred"),
    (["published"], "transferred"),
    (["published"], "draft"),
    (["withdrawn"], "published"),
    (["published", "reserved", "transferred"], "published"),
]


async def _walk(
    client: httpx.AsyncClient, key: str, plot_id: str, steps: list[str]
) -> httpx.Response | None:
    response = None
    for step in steps:
        response = await client.post(
            f"/v1/plots/{plot_id}/status", json={"status": step}, headers=bearer(key)
        )
        assert response.status_code == 200, (step, response.text)
        assert response.json()["properties"]["status"] == step
    return response


@pytest.mark.parametrize("steps", TRANSITIONS_OK, ids=["-".join(s) for s in TRANSITIONS_OK])
async def test_legal_transitions(
    client: httpx.AsyncClient, world: World, session: AsyncSession, steps: list[str]
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    last = await _walk(client, world.frankfurt, plot["id"], steps)
    assert last is not None
    assert last.headers["etag"] == f'"{1 + len(steps)}"'
    if "published" in steps:
        assert last.json()["properties"]["published_at"] is not None


@pytest.mark.parametrize(
    ("steps", "illegal"), TRANSITIONS_BAD, ids=[f"{s}->{i}" for s, i in TRANSITIONS_BAD]
)
async def test_illegal_transitions_are_409(
    client: httpx.AsyncClient, world: World, session: AsyncSession, steps: list[str], illegal: str
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    await _walk(client, world.frankfurt, plot["id"], steps)
    before = await table_hash(session)
    response = await client.post(
        f"/v1/plots/{plot['id']}/status", json={"status": illegal}, headers=bearer(world.frankfurt)
    )
    assert_problem(response, 409)
    # Through PATCH the same rule applies.
    patch = await client.patch(
        f"/v1/plots/{plot['id']}",
        json={"properties": {"status": illegal}},
        headers=match(world.frankfurt, f'"{1 + len(steps)}"'),
    )
    assert_problem(patch, 409)
    assert await table_hash(session) == before


async def test_status_with_stale_if_match_is_412(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    response = await client.post(
        f"/v1/plots/{plot['id']}/status",
        json={"status": "published"},
        headers=match(world.frankfurt, '"9"'),
    )
    assert_problem(response, 412)


async def test_delete_withdraws_and_keeps_the_row(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    response = await client.delete(url, headers=bearer(world.frankfurt))
    assert response.status_code == 204
    assert response.headers["etag"] == '"2"'
    row = await session.scalar(select(Plot).where(Plot.id == plot["id"]))
    assert row is not None and row.status == "withdrawn"
    # Again: nothing more to do.
    assert (await client.delete(url, headers=bearer(world.frankfurt))).status_code == 204
    assert await count(session, Event) == 2


async def test_confirm_sets_last_confirmed_at(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    first = plot["properties"]["last_confirmed_at"]
    response = await client.post(f"/v1/plots/{plot['id']}/confirm", headers=bearer(world.frankfurt))
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["last_confirmed_at"] > first
    # Confirming changes no data, so the ETag stays valid.
    assert response.headers["etag"] == '"1"'
    actions = (await session.scalars(select(Event.action).order_by(Event.id))).all()
    assert actions == ["create", "confirm"]


async def _put(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], external_id: str = "gis-1"
) -> httpx.Response:
    return await client.put(
        f"/v1/municipalities/{FRANKFURT}/plots/{external_id}", json=body, headers=bearer(key)
    )


async def test_put_is_an_idempotent_upsert(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "gis-1", price_eur_per_m2=80, contact={"name": "A"})
    first = await _put(client, world.frankfurt, body)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/v1/plots/{first.json()['id']}"
    second = await _put(client, world.frankfurt, body)
    assert second.status_code == 200, second.text
    assert second.headers["etag"] == '"1"'
    assert second.json() == first.json()
    assert await count(session, Event) == 1

    body["properties"]["price_eur_per_m2"] = 90
    third = await _put(client, world.frankfurt, body)
    assert third.status_code == 200
    assert third.headers["etag"] == '"2"'
    assert third.json()["id"] == first.json()["id"]
    assert third.json()["properties"]["price_eur_per_m2"] == 90
    # PUT replaces: an omitted property goes back to its default.
    del body["properties"]["contact"]
    fourth = await _put(client, world.frankfurt, body)
    assert fourth.json()["properties"]["contact"] is None
    assert fourth.headers["etag"] == '"3"'
    assert await count(session, Event) == 3
    assert await count(session, Plot) == 1


async def test_put_with_external_ids_containing_slashes(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "ALKIS/0600/17:3")
    response = await _put(client, world.frankfurt, body, external_id="ALKIS/0600/17:3")
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["external_id"] == "ALKIS/0600/17:3"


async def test_put_body_must_match_the_path(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "other-id")
    problem = assert_problem(await _put(client, world.frankfurt, body), 422)
    assert problem["errors"][0]["pointer"] == "/body/properties/external_id"
    body = await feature(session, FRANKFURT, "gis-1", municipality_ags=OFFENBACH)
    assert_problem(await _put(client, world.both, body), 422)
    assert await count(session, Plot) == 0


async def test_put_cannot_jump_the_state_machine(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "gis-1")
    assert (await _put(client, world.frankfurt, body)).status_code == 201
    body["properties"]["status"] = "transferred"
    assert_problem(await _put(client, world.frankfurt, body), 409)
    body["properties"]["status"] = "published"
    assert (await _put(client, world.frankfurt, body)).json()["properties"]["status"] == (
        "published"
    )


async def test_history_records_every_write(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    plot = await create(client, world.frankfurt, await feature(session, FRANKFURT))
    url = f"/v1/plots/{plot['id']}"
    await client.patch(
        url, json={"properties": {"title": "B"}}, headers=match(world.frankfurt, '"1"')
    )
    await client.post(f"{url}/status", json={"status": "published"}, headers=bearer(world.admin))
    await client.post(f"{url}/confirm", headers=bearer(world.frankfurt))
    await client.delete(url, headers=bearer(world.frankfurt))

    response = await client.get(f"{url}/history", headers=bearer(world.frankfurt))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [e["action"] for e in items] == ["create", "update", "status", "confirm", "withdraw"]
    assert items[1]["before"]["properties"]["title"] == plot["properties"]["title"]
    assert items[1]["after"]["properties"]["title"] == "B"
    assert items[2]["before"]["properties"]["status"] == "draft"
    assert items[2]["after"]["properties"]["status"] == "published"
    assert items[4]["after"]["properties"]["status"] == "withdrawn"
    # Snapshots keep the geometry, in the storage CRS.
    assert items[0]["after"]["geometry"]["type"] == "MultiPolygon"
    assert items[0]["after"]["geometry"]["coordinates"][0][0][0][0] > 400_000
    admin_org = items[2]["actor_organization_id"]
    assert admin_org != items[0]["actor_organization_id"]
    assert all(e["api_key_id"] for e in items)

    page1 = await client.get(f"{url}/history?limit=3", headers=bearer(world.admin))
    cursor = page1.json()["next_cursor"]
    page2 = await client.get(f"{url}/history?limit=3&cursor={cursor}", headers=bearer(world.admin))
    ids = [e["id"] for e in page1.json()["items"] + page2.json()["items"]]
    assert ids == [e["id"] for e in items]
    assert page2.json()["next_cursor"] is None


async def test_events_are_append_only(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.frankfurt, await feature(session, FRANKFURT))
    for stmt in (update(Event).values(action="forged"), delete(Event)):
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(stmt)
        await session.rollback()
    assert await count(session, Event) == 1


async def test_put_with_if_match_on_a_missing_plot_is_412(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "gis-1")
    response = await client.put(
        f"/v1/municipalities/{FRANKFURT}/plots/gis-1",
        json=body,
        headers=match(world.frankfurt, '"1"'),
    )
    assert_problem(response, 412)
    assert await count(session, Plot) == 0
