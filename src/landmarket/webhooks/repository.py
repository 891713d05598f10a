"""SQL for subscriptions, deliveries and the event feed. Every read is scoped to the
calling organisation where rows are selected."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.requirements.models import Requirement
from landmarket.webhooks.events import EventType
from landmarket.webhooks.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


async def get(
    session: AsyncSession, org_id: uuid.UUID, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription | None:
    stmt = select(WebhookSubscription).where(
        WebhookSubscription.id == webhook_id, WebhookSubscription.organization_id == org_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def list_for(
    session: AsyncSession, org_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> Sequence[WebhookSubscription]:
    """By id, limit + 1 rows."""
    stmt = select(WebhookSubscription).where(WebhookSubscription.organization_id == org_id)
    if after is not None:
        stmt = stmt.where(WebhookSubscription.id > after)
    return (await session.scalars(stmt.order_by(WebhookSubscription.id).limit(limit + 1))).all()


async def own_requirements(
    session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``ids`` that are requirements of this organisation."""
    stmt = select(Requirement.id).where(Requirement.id.in_(ids), Requirement.company_id == org_id)
    return set(await session.scalars(stmt))


async def create(session: AsyncSession, values: dict[str, Any]) -> WebhookSubscription:
    sub = WebhookSubscription(**values)
    session.add(sub)
    await session.flush()
    await session.refresh(sub)
    return sub


async def update_subscription(
    session: AsyncSession, sub: WebhookSubscription, values: dict[str, Any]
) -> WebhookSubscription:
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == sub.id)
        .values(**values, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(sub)
    return sub


async def delete_subscription(session: AsyncSession, webhook_id: uuid.UUID) -> None:
    await session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == webhook_id))


@dataclass(frozen=True)
class DeliveryRow:
    delivery: WebhookDelivery
    event_type: str


def _deliveries() -> Any:
    return select(WebhookDelivery, WebhookEvent.type).join(
        WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
    )


async def deliveries(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    *,
    states: Sequence[DeliveryState],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[DeliveryRow]:
    """Newest first, limit + 1 rows."""
    d = WebhookDelivery
    stmt = _deliveries().where(d.subscription_id == webhook_id)
    if states:
        stmt = stmt.where(d.state.in_(list(states)))
    if after is not None:
        at, key = after
        stmt = stmt.where(or_(d.created_at < at, and_(d.created_at == at, d.id < key)))
    rows = await session.execute(stmt.order_by(d.created_at.desc(), d.id.desc()).limit(limit + 1))
    return [DeliveryRow(d, t) for d, t in rows.all()]


async def delivery(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRow | None:
    stmt = (
        _deliveries()
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == webhook_id)
        .with_for_update(of=WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return DeliveryRow(row[0], row[1]) if row else None


async def requeue(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """A fresh set of attempts, starting now."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            state=DeliveryState.pending,
            attempts=0,
            lease=None,
            next_attempt_at=func.now(),
            last_error=None,
            last_status=None,
        )
        .execution_options(synchronize_session=False)
    )


async def ping(session: AsyncSession, sub: WebhookSubscription) -> uuid.UUID:
    """A ping event for this one subscription (other subscriptions don't get it)."""
    event_id = await session.scalar(
        insert(WebhookEvent)
        .values(
            organization_id=sub.organization_id,
            type=EventType.ping.value,
            payload={"webhook_id": str(sub.id)},
        )
        .returning(WebhookEvent.id)
    )
    assert event_id is not None
    delivery_id = await session.scalar(
        insert(WebhookDelivery)
        .values(subscription_id=sub.id, event_id=event_id)
        .returning(WebhookDelivery.id)
    )
    assert isinstance(delivery_id, uuid.UUID)
    return delivery_id


async def feed(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    after: tuple[int, int] | None,
    limit: int,
) -> Sequence[WebhookEvent]:
    """The organisation's events in (transaction, sequence) order, only from finished
    transactions older than every running one."""
    e = WebhookEvent
    # Transaction ids below the oldest running one: those transactions have all ended, so
    # no event can still appear behind a cursor that only moves through this range.
    xmin = func.pg_snapshot_xmin(func.pg_current_snapshot())
    horizon = cast(cast(xmin, Text), BigInteger)
    stmt = select(e).where(
        e.organization_id == org_id, e.type != EventType.ping.value, e.xid < horizon
    )
    if after is not None:
        xid, seq = after
        stmt = stmt.where(or_(e.xid > xid, and_(e.xid == xid, e.seq > seq)))
    return (await session.scalars(stmt.order_by(e.xid, e.seq).limit(limit))).all()
