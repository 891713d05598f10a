"""What gets written to the outbox, for whom, and when: transactions, privacy, event kinds,
and the polling feed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.main import create_app
from landmarket.matching.recompute import refresh_plots
from landmarket.plots.models import Plot
from landmarket.webhooks.models import WebhookDelivery, WebhookEvent
from tests.helpers import bearer, count
from tests.matching.world import FRANKFURT, ORIGIN, World, post_requirement
from tests.webhooks.flow import COMPANY_TYPES, publish_plot, subscribe


async def _feed(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/events", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _types(client: httpx.AsyncClient, key: str) -> list[str]:
    return [e["type"] for e in (await _feed(client, key))["items"]]


async def test_rolled_back_change_leaves_no_event(
    client: httpx.AsyncClient, session: AsyncSession, world: World, receiver_url: str
) -> None:
    await post_requirement(client, world.company)
    await subscribe(client, world.company, receiver_url, COMPANY_TYPES)
    x, y = ORIGIN[FRANKFURT]
    plot_id = await session.scalar(
        insert(Plot)
        .values(
            municipality_ags=FRANKFURT,
            external_id="tx",
            title="Plot",
            status="published",
            zoning="GE",
            category="brownfield",
            geom=func.ST_Multi(func.ST_MakeEnvelope(x, y, x + 100, y + 100, 25832)),
        )
        .returning(Plot.id)
    )
    assert plot_id is not None
    await refresh_plots(session, [plot_id])
    assert await count(session, WebhookEvent) == 2  # match.created and demand.matched
    assert await count(session, WebhookDelivery) == 1
    await session.rollback()
    assert await count(session, WebhookEvent) == 0
    assert await count(session, WebhookDelivery) == 0


async def test_each_side_sees_only_its_own_and_anonymised(
    client: httpx.AsyncClient, session: AsyncSession, world: World, receiver_url: str
) -> None:
    mine = await post_requirement(client, world.company, title="Secret hall", sector_nace="C28")
    await post_requirement(client, world.other_company, share_identity=True)
    plot_id = await publish_plot(client, session, world.frankfurt, external_id="p1")

    company = (await _feed(client, world.company))["items"]
    assert [(e["type"], e["data"]["requirement_id"]) for e in company] == [
        ("match.created", mine["id"])
    ]
    other = (await _feed(client, world.other_company))["items"]
    assert [e["data"]["requirement_id"] for e in other] != [mine["id"]]
    assert await _types(client, world.offenbach) == []  # not its plot
    assert await _types(client, world.agency) == []

    demand = (await _feed(client, world.frankfurt))["items"]
    assert [e["type"] for e in demand] == ["demand.matched", "demand.matched"]
    text = str(demand)
    for secret in (mine["id"], "Secret hall", str(world.company_id), "Acme"):
        assert secret not in text  # identity before consent: nothing that names the company
    by_company = {e["data"]["company"] and e["data"]["company"]["name"] for e in demand}
    assert by_company == {None, "Other AG"}  # only the one that shares its identity
    assert {e["data"]["plot_id"] for e in demand} == {plot_id}
    assert {"score", "area_min_m2", "area_max_m2", "emission_class", "cross_border"} <= set(
        demand[0]["data"]
    )


async def test_interest_updates_and_withdrawal(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    req = await post_requirement(client, world.company)
    p1 = await publish_plot(client, session, world.frankfurt, external_id="p1")
    p2 = await publish_plot(client, session, world.frankfurt, external_id="p2", dx=200)
    interest = await client.patch(
        f"/v1/requirements/{req['id']}/matches/{p1}",
        json={"state": "interest_expressed", "message": "Call us", "contact": {"name": "Eva"}},
        headers=bearer(world.company),
    )
    assert interest.status_code == 200, interest.text
    [inquiry] = [
        e for e in (await _feed(client, world.frankfurt))["items"] if e["type"] == "inquiry.created"
    ]
    assert inquiry["data"]["plot_id"] == p1
    assert inquiry["data"]["company"]["name"] == "Acme GmbH"  # consented by expressing interest
    assert inquiry["data"]["company"]["message"] == "Call us"
    assert "requirement_id" not in inquiry["data"]

    shortlisted = await client.patch(
        f"/v1/requirements/{req['id']}/matches/{p2}",
        json={"state": "shortlisted"},
        headers=bearer(world.company),
    )
    assert shortlisted.status_code == 200
    gone = await client.delete(f"/v1/plots/{p2}", headers=bearer(world.frankfurt))
    assert gone.status_code == 204
    reserved = await client.post(
        f"/v1/plots/{p1}/status", json={"status": "reserved"}, headers=bearer(world.frankfurt)
    )
    assert reserved.status_code == 200, reserved.text
    tail = [(e["type"], e["data"]["plot_id"], e["data"]["matching"]) for e in
            (await _feed(client, world.company))["items"][2:]]  # fmt: skip
    assert tail == [("plot.withdrawn", p2, False), ("match.updated", p1, False)]


async def test_material_score_change_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await post_requirement(client, world.company)
    plot_id = await publish_plot(client, session, world.frankfurt, external_id="p1")
    assert await _types(client, world.company) == ["match.created"]

    async def patch(props: dict[str, Any]) -> None:
        current = await client.get(f"/v1/plots/{plot_id}", headers=bearer(world.frankfurt))
        response = await client.patch(
            f"/v1/plots/{plot_id}",
            json={"properties": props},
            headers={**bearer(world.frankfurt), "If-Match": current.headers["etag"]},
        )
        assert response.status_code == 200, response.text

    await patch({"title": "Renamed"})  # no score change: quiet
    assert await _types(client, world.company) == ["match.created"]
    await patch({"fibre_available": True, "rail_siding": True, "broadband_mbps": 1000})
    events = (await _feed(client, world.company))["items"]
    assert [e["type"] for e in events] == ["match.created", "match.updated"]
    updated = events[1]["data"]
    assert updated["score"] - updated["previous_score"] >= 5 and updated["matching"] is True


async def test_feed_cursor_and_long_poll(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await post_requirement(client, world.company)
    first = await _feed(client, world.company)
    assert first["items"] == []
    cursor = first["next_cursor"]

    started = time.monotonic()
    empty = await _feed(client, world.company, after=cursor, wait=0.6)
    assert empty["items"] == [] and time.monotonic() - started >= 0.5

    async def publish_later() -> None:
        await asyncio.sleep(0.4)
        await publish_plot(client, session, world.frankfurt, external_id="p1")

    started = time.monotonic()
    waiting = asyncio.create_task(_feed(client, world.company, after=cursor, wait=10))
    await publish_later()
    got = await waiting
    assert [e["type"] for e in got["items"]] == ["match.created"]
    assert time.monotonic() - started < 3
    after = await _feed(client, world.company, after=got["next_cursor"])
    assert after["items"] == []
    again = await _feed(client, world.company, after=cursor)
    assert [e["id"] for e in again["items"]] == [e["id"] for e in got["items"]]

    bad = await client.get("/v1/events", params={"after": "zzz"}, headers=bearer(world.company))
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/query/after"
    too_long = await client.get("/v1/events", params={"wait": 31}, headers=bearer(world.company))
    assert too_long.status_code == 422
    assert (await client.get("/v1/events")).status_code == 401


async def test_long_poll_is_cut_to_the_configured_maximum(
    database_url: str, hook_settings: Settings, world: World
) -> None:
    """LANDMARKET_EVENT_FEED_MAX_WAIT_SECONDS bounds `wait`: nothing new after 0.2 s is an empty
    page then, not after the 30 s asked for."""
    app = create_app(
        hook_settings.model_copy(update={"event_feed_max_wait_seconds": 0.2}),
        database_url=database_url,
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            started = time.monotonic()
            page = await _feed(c, world.agency, wait=30)
            elapsed = time.monotonic() - started
    assert page["items"] == []
    assert 0.2 <= elapsed < 5
