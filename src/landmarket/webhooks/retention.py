"""Retention: the worker deletes what nobody needs any more, a batch per short transaction.

Delivered and dead deliveries, feed events and expired idempotency records go after their
configured ages (README, docs/webhooks.md). Each batch locks only the rows it deletes
(``SKIP LOCKED``: never waits for, nor blocks, anyone else) and commits at once, so a large
backlog is worked off without a long transaction. An event is kept as long as any delivery
of it is, so a pending delivery never loses its payload.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Interval, bindparam, delete, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from landmarket.core.config import Settings
from landmarket.idempotency import repository as idempotency
from landmarket.webhooks.models import DeliveryState, WebhookDelivery, WebhookEvent

log = logging.getLogger(__name__)

DAY = 86400.0


def _older_than(days: float) -> object:
    return func.now() - bindparam("age", timedelta(seconds=days * DAY), Interval())


async def purge_deliveries(
    session: AsyncSession, state: DeliveryState, days: float, limit: int
) -> int:
    d = WebhookDelivery
    # A literal (one of two fixed values): a generic prepared plan can then still use the
    # partial index of finished rows (state <> 'pending').
    finished = {DeliveryState.delivered: "'delivered'", DeliveryState.dead: "'dead'"}[state]
    batch = (
        select(d.id)
        .where(d.state == literal_column(finished), d.last_attempt_at < _older_than(days))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(delete(d).where(d.id.in_(batch)).returning(d.id))
    return len(result.all())


async def purge_events(session: AsyncSession, days: float, limit: int) -> int:
    e, d = WebhookEvent, WebhookDelivery
    batch = (
        select(e.id)
        .where(e.occurred_at < _older_than(days), ~exists().where(d.event_id == e.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(delete(e).where(e.id.in_(batch)).returning(e.id))
    return len(result.all())


@dataclass
class Purged:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def purge(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    keep_going: Callable[[], bool] = lambda: True,
) -> Purged:
    """Delete everything past its age, batch by batch, until nothing is left or
    ``keep_going`` says stop (the worker is stopping)."""
    limit = settings.retention_purge_batch
    steps: list[tuple[str, Callable[[AsyncSession], Awaitable[int]]]] = [
        (
            "delivered deliveries",
            lambda s: purge_deliveries(
                s, DeliveryState.delivered, settings.webhook_delivered_retention_days, limit
            ),
        ),
        (
            "dead deliveries",
            lambda s: purge_deliveries(
                s, DeliveryState.dead, settings.webhook_dead_retention_days, limit
            ),
        ),
        # After the deliveries: their events may go in the same run.
        ("events", lambda s: purge_events(s, settings.event_retention_days, limit)),
        ("idempotency records", lambda s: idempotency.purge_expired(s, limit=limit)),
    ]
    purged = Purged()
    for name, step in steps:
        while keep_going():
            async with maker() as session, session.begin():
                deleted = await step(session)
            purged.counts[name] = purged.counts.get(name, 0) + deleted
            if deleted < limit:
                break
    if purged.total:
        log.info(
            "retention: purged %s",
            ", ".join(f"{n} {name}" for name, n in purged.counts.items() if n),
        )
    return purged
