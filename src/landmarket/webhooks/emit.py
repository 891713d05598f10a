"""Writing events to the outbox, always in the caller's transaction: the generic fan-out.

An event row and its delivery rows (one per active subscription of the recipient that wants
the type and passes its filter) are written by one statement, so they commit or roll back
with the change that caused them. Nothing here talks to the network. Which events a domain
change produces is that domain's knowledge (matching: ``matching.outbox``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, CompoundSelect, Float, Select, and_, any_, cast, or_, select
from sqlalchemy.dialects.postgresql import insert

from landmarket.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

EVENT_COLUMNS = ["organization_id", "type", "payload", "requirement_id"]


def fan_out(source: Select[Any] | CompoundSelect[Any]) -> CTE:
    """Insert the events ``source`` selects (EVENT_COLUMNS) and their deliveries.

    Returns the deliveries CTE; a statement must reference it for both inserts to run.
    """
    events = (
        insert(WebhookEvent)
        .from_select(EVENT_COLUMNS, source)
        .returning(
            WebhookEvent.id,
            WebhookEvent.organization_id,
            WebhookEvent.type,
            WebhookEvent.payload,
            WebhookEvent.requirement_id,
        )
        .cte("webhook_events_new")
    )
    sub = WebhookSubscription
    score = cast(events.c.payload["score"].astext, Float)
    wanted = and_(
        sub.organization_id == events.c.organization_id,
        sub.active,
        events.c.type == any_(sub.event_types),
        or_(sub.min_score.is_(None), score.is_(None), score >= sub.min_score),
        or_(sub.requirement_ids.is_(None), events.c.requirement_id == any_(sub.requirement_ids)),
    )
    return (
        insert(WebhookDelivery)
        .from_select(
            ["subscription_id", "event_id"],
            select(sub.id, events.c.id).join(sub, wanted),
        )
        .returning(WebhookDelivery.id)
        .cte("webhook_deliveries_new")
    )
