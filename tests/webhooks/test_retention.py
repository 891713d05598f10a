"""Issue 14 item 11: the worker purges delivered and dead deliveries, feed events and expired
idempotency records after their configured ages, in batches; nothing younger, nothing a
pending delivery still needs."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.idempotency.models import IdempotencyRecord
from landmarket.webhooks.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from tests.matching.world import World
from tests.webhooks.conftest import WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, subscribe


def _ago(days: float) -> Any:
    return func.now() - text(f"interval '{days * 24:g} hours'")


async def _event(session: AsyncSession, org: uuid.UUID, days: float, tag: str) -> uuid.UUID:
    event_id = await session.scalar(
        insert(WebhookEvent)
        .values(
            organization_id=org, type="match.created", payload={"tag": tag}, occurred_at=_ago(days)
        )
        .returning(WebhookEvent.id)
    )
    assert event_id is not None
    return event_id


async def _delivery(
    session: AsyncSession, sub: str, event_id: uuid.UUID, state: DeliveryState, days: float
) -> None:
    await session.execute(
        insert(WebhookDelivery).values(
            subscription_id=uuid.UUID(sub),
            event_id=event_id,
            state=state,
            attempts=1,
            last_attempt_at=_ago(days),
            created_at=_ago(days),
            next_attempt_at=_ago(days),
        )
    )


async def _idempotency(session: AsyncSession, org: uuid.UUID, key: str, expires: float) -> None:
    await session.execute(
        insert(IdempotencyRecord).values(
            organization_id=org,
            key=key,
            method="POST",
            path="/v1/requirements",
            fingerprint="0" * 64,
            response_status=201,
            response_headers=[],
            response_body=b"{}",
            expires_at=_ago(-expires),
        )
    )


async def _tags(session: AsyncSession) -> set[str]:
    tags = set(await session.scalars(select(WebhookEvent.payload["tag"].astext)))
    await session.commit()
    return tags


async def _deliveries(session: AsyncSession) -> set[tuple[str, str]]:
    rows = await session.execute(
        select(WebhookEvent.payload["tag"].astext, WebhookDelivery.state).join(
            WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
        )
    )
    found = {(tag, state.value) for tag, state in rows.all()}
    await session.commit()
    return found


async def test_worker_purges_by_age_in_batches(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    hook = await subscribe(client, world.company, "http://127.0.0.1:9/hook", COMPANY_TYPES)
    # Paused: the pending delivery below stays pending while the purge runs.
    await session.execute(text("UPDATE webhook_subscriptions SET active = false"))
    org = world.company_id
    for i in range(5):  # more than a batch of old events nobody needs
        await _event(session, org, 40, f"old-{i}")
    await _event(session, org, 5, "recent")
    sid = hook["id"]
    await _delivery(session, sid, await _event(session, org, 40, "old-pending"), "pending", 40)
    await _delivery(
        session, sid, await _event(session, org, 9, "delivered-old"), DeliveryState.delivered, 8
    )
    await _delivery(
        session, sid, await _event(session, org, 2, "delivered-new"), DeliveryState.delivered, 1
    )
    await _delivery(
        session, sid, await _event(session, org, 45, "dead-old"), DeliveryState.dead, 31
    )
    await _delivery(
        session, sid, await _event(session, org, 12, "dead-new"), DeliveryState.dead, 10
    )
    for i in range(3):
        await _idempotency(session, org, f"expired-{i}", expires=-0.1)
    await _idempotency(session, org, "live", expires=0.5)
    await session.commit()
    settings = hook_settings.model_copy(
        update={
            "webhook_delivered_retention_days": 7,
            "webhook_dead_retention_days": 30,
            "event_retention_days": 30,
            "retention_purge_interval_seconds": 0.2,
            "retention_purge_batch": 2,
        }
    )
    await start_worker(settings)

    async def settled() -> bool:
        keys = set(await session.scalars(select(IdempotencyRecord.key)))
        await session.commit()
        return keys == {"live"} and await _tags(session) == expected_events

    expected_events = {"recent", "old-pending", "delivered-new", "delivered-old", "dead-new"}
    for _ in range(100):
        if await settled():
            break
        await asyncio.sleep(0.05)
    assert await _tags(session) == expected_events
    assert await _deliveries(session) == {
        ("old-pending", "pending"),
        ("delivered-new", "delivered"),
        ("dead-new", "dead"),
    }
    assert set(await session.scalars(select(IdempotencyRecord.key))) == {"live"}
    assert await session.scalar(select(func.count()).select_from(WebhookSubscription)) == 1
