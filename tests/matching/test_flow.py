"""Matches through the API: ranking, explanation, states, inquiries, plots published later."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from tests.matching.world import (
    FRANKFURT,
    OFFENBACH,
    ORIGIN,
    World,
    bearer,
    insert_plot,
    matches,
    post_requirement,
)


async def test_requirement_matches_existing_plots_ranked_and_explained(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    # Acme is based in Offenbach, east of Frankfurt: the eastern plot is nearer and cheaper.
    near = await insert_plot(session, FRANKFURT, x=x + 800, y=y, side=100, price_eur_per_m2=50)
    far = await insert_plot(session, FRANKFURT, x=x, y=y, side=100, price_eur_per_m2=150)
    await insert_plot(session, FRANKFURT, x=x, y=y + 500, side=10)  # too small
    created = await post_requirement(
        client, world.company, area_min_m2=5_000, area_max_m2=20_000, max_price_eur_per_m2=200
    )
    items = await matches(client, world.company, created["id"])
    assert [i["plot"]["id"] for i in items] == sorted(
        [str(near), str(far)], key=lambda p: p != str(near)
    )
    first = items[0]
    assert first["cross_border"] is True  # Acme is based in Offenbach
    assert first["partial"] is False
    assert first["state"] == "suggested"
    assert {e["criterion"] for e in first["explanation"]} == {
        "area",
        "distance",
        "price",
        "availability",
        "infrastructure",
        "reactivation",
    }
    assert items[0]["score"] > items[1]["score"]


async def test_states_interest_demand_and_inquiries(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    plot = await insert_plot(session, FRANKFURT, x=x, y=y, side=100)
    req = await post_requirement(client, world.company, sector_nace="C28", needed_by="2030-01-01")
    path = f"/v1/requirements/{req['id']}/matches/{plot}"

    # Demand is anonymous before interest: exactly the documented fields, no company.
    demand = await client.get(f"/v1/plots/{plot}/demand", headers=bearer(world.frankfurt))
    assert demand.status_code == 200, demand.text
    (item,) = demand.json()["items"]
    assert set(item) == {
        "score",
        "area_min_m2",
        "area_max_m2",
        "emission_class",
        "sector_nace",
        "needed_by",
        "cross_border",
        "company",
    }
    assert item["company"] is None
    assert "Acme" not in demand.text and req["id"] not in demand.text
    assert str(world.company_id) not in demand.text

    # Only the owning municipality (and admins) see demand.
    # The plot is published, so every key sees it exists: the others are refused (403).
    outsiders = {"offenbach": world.offenbach, "company": world.company, "agency": world.agency}
    statuses = {
        name: (await client.get(f"/v1/plots/{plot}/demand", headers=bearer(key))).status_code
        for name, key in outsiders.items()
    }
    assert statuses == {"offenbach": 403, "company": 403, "agency": 403}
    assert (await client.get(f"/v1/plots/{plot}/demand")).status_code == 401

    shortlisted = await client.patch(
        path, json={"state": "shortlisted"}, headers=bearer(world.company)
    )
    assert shortlisted.status_code == 200, shortlisted.text
    assert shortlisted.json()["state"] == "shortlisted"
    # Still anonymous after a shortlist.
    demand = await client.get(f"/v1/plots/{plot}/demand", headers=bearer(world.frankfurt))
    assert demand.json()["items"][0]["company"] is None
    assert (await client.get("/v1/inquiries", headers=bearer(world.frankfurt))).json()[
        "items"
    ] == []

    interest = await client.patch(
        path,
        json={
            "state": "interest_expressed",
            "message": "We would like to visit",
            "contact": {"name": "A. Muster", "email": "a@acme.example"},
        },
        headers=bearer(world.company),
    )
    assert interest.status_code == 200, interest.text
    demand = await client.get(f"/v1/plots/{plot}/demand", headers=bearer(world.frankfurt))
    company = demand.json()["items"][0]["company"]
    assert company["name"] == "Acme GmbH"
    assert company["contact"]["email"] == "a@acme.example"

    inquiries = await client.get("/v1/inquiries", headers=bearer(world.frankfurt))
    assert inquiries.status_code == 200
    (inquiry,) = inquiries.json()["items"]
    assert inquiry["company"]["name"] == "Acme GmbH"
    assert inquiry["state"] == "interest_expressed"
    # Another municipality sees none of it; companies and agencies may not list inquiries.
    other = await client.get("/v1/inquiries", headers=bearer(world.offenbach))
    assert other.json()["items"] == []
    for key in (world.company, world.agency):
        assert (await client.get("/v1/inquiries", headers=bearer(key))).status_code == 403
    url = f"/v1/inquiries/{inquiry['id']}"
    assert (
        await client.patch(url, json={"state": "in_contact"}, headers=bearer(world.offenbach))
    ).status_code == 404
    # Closing needs an outcome.
    no_outcome = await client.patch(url, json={"state": "closed"}, headers=bearer(world.frankfurt))
    assert no_outcome.status_code == 422
    contact = await client.patch(url, json={"state": "in_contact"}, headers=bearer(world.frankfurt))
    assert contact.status_code == 200 and contact.json()["state"] == "in_contact"
    closed = await client.patch(
        url,
        json={"state": "closed", "outcome": "agreed", "note": "Lease signed"},
        headers=bearer(world.frankfurt),
    )
    assert closed.status_code == 200 and closed.json()["outcome"] == "agreed"
    reopen = await client.patch(url, json={"state": "in_contact"}, headers=bearer(world.frankfurt))
    assert reopen.status_code == 409
    # The company cannot take interest back once the municipality handles it.
    back = await client.patch(path, json={"state": "dismissed"}, headers=bearer(world.company))
    assert back.status_code == 409

    actions = (
        (
            await session.execute(
                select(Event.action).where(Event.entity_type == "match").order_by(Event.id)
            )
        )
        .scalars()
        .all()
    )
    assert actions == ["state", "interest", "inquiry", "inquiry"]


async def test_share_identity_reveals_name_without_contact(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    plot = await insert_plot(session, FRANKFURT, x=x, y=y, side=100)
    await post_requirement(client, world.company, share_identity=True)
    demand = await client.get(f"/v1/plots/{plot}/demand", headers=bearer(world.admin))
    company = demand.json()["items"][0]["company"]
    assert company == {"name": "Acme GmbH", "contact": None, "message": None, "inquiry_id": None}


async def test_paging_filters_and_geojson(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    x, y = ORIGIN[FRANKFURT]
    for i in range(5):
        await insert_plot(session, FRANKFURT, x=x + i * 150, y=y, side=100)
    ox, oy = ORIGIN[OFFENBACH]
    await insert_plot(session, OFFENBACH, x=ox, y=oy, side=100)
    req = await post_requirement(client, world.company)
    everything = await matches(client, world.company, req["id"])
    assert len(everything) == 6
    keys = [(-m["score"], m["plot"]["id"]) for m in everything]
    assert keys == sorted(keys)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(
            f"/v1/requirements/{req['id']}/matches", params=params, headers=bearer(world.company)
        )
        seen += [m["plot"]["id"] for m in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["plot"]["id"] for m in everything]
    local = await matches(client, world.company, req["id"], cross_border="false")
    assert [m["plot"]["municipality_ags"] for m in local] == [OFFENBACH]
    top = everything[2]["score"]
    assert all(
        m["score"] >= top for m in await matches(client, world.company, req["id"], min_score=top)
    )

    geo = await client.get(
        f"/v1/requirements/{req['id']}/matches",
        headers={**bearer(world.company), "Accept": "application/geo+json"},
    )
    assert geo.headers["content-type"].startswith("application/geo+json")
    fc = geo.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 6
    feature = fc["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert {"score", "partial", "cross_border", "distance_km", "explanation", "state"} <= set(
        feature["properties"]
    )
