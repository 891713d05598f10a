"""One seeded world for the isolation matrix: every kind of organisation, one revoked key per
owner, and one private thing of each kind (draft plot, requirement, inquiry, webhook,
delivery, feed event) whose owner is known."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import service as auth_service
from landmarket.auth.models import ApiKey
from landmarket.auth.schemas import ApiKeyCreate
from landmarket.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.factories import make_org_with_key, make_region
from tests.helpers import bearer
from tests.matching.world import (
    DARMSTADT,
    FRANKFURT,
    ORIGIN,
    insert_plot,
    lonlat_ring,
    make_world,
    matches,
    post_requirement,
)

# Who acts in a cell, relative to the owner of what the operation touches.
ACTORS = (
    "other_municipality",  # Offenbach: edits nothing of Frankfurt's
    "company",  # Acme: owns the requirement, the webhook and the feed
    "other_company",  # Other AG: owns nothing here
    "agency",  # the region frm's agency: owns the reports of frm
    "other_agency",  # the region south's agency
    "revoked",  # a revoked key of the owner itself
    "anonymous",  # no key
)
OWNERS = ("municipality", "company", "agency", "admin")


@dataclass
class Seeded:
    keys: dict[str, str]  # actor or owner -> key; "revoked:<owner>" -> the owner's revoked key
    org_ids: dict[str, uuid.UUID]
    ids: dict[str, str] = field(default_factory=dict)  # thing -> id
    plot_external_id: str = ""
    ring: list[list[float]] = field(default_factory=list)  # a free spot in Frankfurt, lon/lat

    def key(self, actor: str, owner: str) -> str | None:
        if actor == "anonymous":
            return None
        if actor == "revoked":
            return self.keys[f"revoked:{owner}"]
        return self.keys[actor]

    def headers(self, actor: str, owner: str) -> dict[str, str]:
        key = self.key(actor, owner)
        return bearer(key) if key else {}


async def _org_id(client: httpx.AsyncClient, key: str) -> uuid.UUID:
    response = await client.get("/v1/me", headers=bearer(key))
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["id"])


async def _revoked_key(session: AsyncSession, org_id: uuid.UUID) -> str:
    created = await auth_service.create_api_key(session, org_id, ApiKeyCreate(name="revoked"))
    await auth_service.revoke_api_key(session, created.id)
    await session.commit()
    return created.key


async def seed(session: AsyncSession, client: httpx.AsyncClient) -> Seeded:
    base = await make_world(session)
    await make_region(session, "south", "Südhessen", [DARMSTADT])
    other_agency = (await make_org_with_key(session, "agency", "Südagentur", regions=["south"]))[1]
    keys = {
        "municipality": base.frankfurt,
        "other_municipality": base.offenbach,
        "company": base.company,
        "other_company": base.other_company,
        "agency": base.agency,
        "other_agency": other_agency,
        "admin": base.admin,
    }
    org_ids = {name: await _org_id(client, key) for name, key in keys.items()}
    for owner in OWNERS:
        keys[f"revoked:{owner}"] = await _revoked_key(session, org_ids[owner])
    world = Seeded(keys=keys, org_ids=org_ids, plot_external_id="published-1")
    world.ids["company_key"] = str(
        await session.scalar(
            select(ApiKey.id).where(
                ApiKey.organization_id == org_ids["company"], ApiKey.revoked_at.is_(None)
            )
        )
    )
    x, y = ORIGIN[FRANKFURT]
    world.ring = await lonlat_ring(session, x + 600, y + 600, side=50)
    world.ids["published_plot"] = str(
        await insert_plot(session, FRANKFURT, x=x, y=y, external_id="published-1")
    )
    world.ids["draft_plot"] = str(
        await insert_plot(session, FRANKFURT, x=x + 300, y=y, external_id="draft-1", status="draft")
    )
    requirement = await post_requirement(client, base.company, title="Confidential hall")
    world.ids["requirement"] = requirement["id"]
    world.ids["requirement_etag"] = f'"{requirement["version"]}"'
    found = await matches(client, base.company, requirement["id"])
    assert [m["plot"]["id"] for m in found] == [world.ids["published_plot"]]
    response = await client.patch(
        f"/v1/requirements/{requirement['id']}/matches/{world.ids['published_plot']}",
        json={"state": "interest_expressed", "message": "Call us"},
        headers=bearer(base.company),
    )
    assert response.status_code == 200, response.text
    inquiries = (await client.get("/v1/inquiries", headers=bearer(base.frankfurt))).json()
    world.ids["inquiry"] = inquiries["items"][0]["id"]
    await _webhook(session, world)
    await _import_session(client, world)
    return world


async def _import_session(client: httpx.AsyncClient, world: Seeded) -> None:
    """Frankfurt's open import session with one batch (a push in progress)."""
    key = world.keys["municipality"]
    opened = await client.post("/v1/plot-import-sessions", json={}, headers=bearer(key))
    assert opened.status_code == 201, opened.text
    world.ids["import_session"] = opened.json()["id"]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [world.ring]},
        "properties": {"external_id": "pushed-1", "title": "Pushed", "municipality_ags": FRANKFURT},
    }
    uploaded = await client.put(
        f"/v1/plot-import-sessions/{world.ids['import_session']}/batches/0",
        json={"type": "FeatureCollection", "features": [feature]},
        headers=bearer(key),
    )
    assert uploaded.status_code == 200, uploaded.text


async def _webhook(session: AsyncSession, world: Seeded) -> None:
    """Acme's webhook with a dead delivery of one of its feed events. Written directly: the
    test app refuses loopback targets and nothing here is ever delivered."""
    company = world.org_ids["company"]
    sub_id = await session.scalar(
        insert(WebhookSubscription)
        .values(
            organization_id=company,
            url="https://hooks.acme.example/landmarket",
            event_types=["match.created"],
            secret="s" * 32,
        )
        .returning(WebhookSubscription.id)
    )
    event_id = await session.scalar(
        select(WebhookEvent.id)
        .where(WebhookEvent.organization_id == company)
        .order_by(WebhookEvent.seq)
        .limit(1)
    )
    assert sub_id is not None and event_id is not None
    values: dict[str, Any] = {
        "subscription_id": sub_id,
        "event_id": event_id,
        "state": "dead",
        "attempts": 4,
    }
    delivery_id = await session.scalar(
        insert(WebhookDelivery).values(**values).returning(WebhookDelivery.id)
    )
    await session.commit()
    world.ids |= {"webhook": str(sub_id), "feed_event": str(event_id), "delivery": str(delivery_id)}
