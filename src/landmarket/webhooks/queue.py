"""SQL of the delivery worker: fair claims, outcomes, endpoint health and auto-disable.

A claim goes round-robin over subscriptions (the one served longest ago first) and takes
only as many rows of each as its concurrency cap leaves room for, counting the requests
already in flight on every worker. An endpoint that fails gets one request at a time, and
none before its own back-off (``retry_at``) has passed, so thousands of pending rows of a
dead endpoint cost one probe per back-off step instead of delaying everyone else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Interval,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    outerjoin,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from landmarket.webhooks.models import (
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

# Not subscribable: it goes to the owner's feed and to its other active webhooks (like ping,
# the owner gets it whatever the webhooks' event types are).
WEBHOOK_DISABLED = "webhook.disabled"


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    lease: uuid.UUID
    attempts: int
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    url: str
    secret: str
    subscription_id: uuid.UUID
    # The endpoint was failing when claimed: this request is a probe.
    probe: bool


def _interval(name: str, seconds: float) -> Any:
    return bindparam(name, timedelta(seconds=seconds), Interval())


def _pending(d: type[WebhookDelivery] | Any) -> ColumnElement[bool]:
    # A literal, not a bound parameter: a generic prepared plan can then still prove the
    # partial indexes' predicate (state = 'pending') and use them.
    return d.state == literal_column("'pending'")


def _due(d: type[WebhookDelivery] | Any) -> ColumnElement[bool]:
    return and_(_pending(d), d.next_attempt_at <= func.now())


def _in_flight() -> tuple[Any, Any]:
    """Requests in flight (leased, lease not run out) per subscription and per organisation:
    counted once per claim over the few leased rows, not per candidate subscription."""
    flying = aliased(WebhookDelivery, name="flying")
    owner = aliased(WebhookSubscription, name="owner")
    per_sub = (
        select(
            flying.subscription_id.label("sid"),
            owner.organization_id.label("org"),
            func.count().label("n"),
        )
        .select_from(flying)
        .join(owner, owner.id == flying.subscription_id)
        .where(_pending(flying), flying.lease.is_not(None), flying.next_attempt_at > func.now())
        .group_by(flying.subscription_id, owner.organization_id)
        .cte("per_subscription")
    )
    per_org = (
        select(per_sub.c.org, func.sum(per_sub.c.n).label("n"))
        .group_by(per_sub.c.org)
        .cte("per_organization")
    )
    return per_sub, per_org


async def claim(
    session: AsyncSession,
    *,
    limit: int,
    per_subscription: int,
    per_organization: int,
    failing: bool,
    lease_seconds: float,
) -> list[Claim]:
    """Lease up to ``limit`` due deliveries of healthy (or, with ``failing``, of failing)
    endpoints, fairly: round-robin over organisations, then over each one's subscriptions,
    within the caps on requests in flight per subscription and per organisation."""
    d, e, s = WebhookDelivery, WebhookEvent, WebhookSubscription
    per_sub, per_org = _in_flight()
    sub_flying = func.coalesce(per_sub.c.n, 0)
    org_flying = func.coalesce(per_org.c.n, 0)
    cap = 1 if failing else per_subscription
    health = s.consecutive_failures > 0 if failing else s.consecutive_failures == 0
    eligible = (
        select(
            s.id.label("sid"),
            s.organization_id.label("org"),
            s.served_at,
            (literal(cap) - sub_flying).label("room"),
            (literal(per_organization) - org_flying).label("org_room"),
            # Each organisation's subscriptions in turn, the one served longest ago first.
            func.row_number()
            .over(
                partition_by=s.organization_id,
                order_by=(s.served_at.asc().nulls_first(), s.id),
            )
            .label("turn"),
        )
        .where(
            s.active,
            health,
            or_(s.retry_at.is_(None), s.retry_at <= func.now()),
            exists().where(d.subscription_id == s.id, _due(d)),
            sub_flying < cap,
            org_flying < per_organization,
        )
        .select_from(
            outerjoin(s, per_sub, per_sub.c.sid == s.id).outerjoin(
                per_org, per_org.c.org == s.organization_id
            )
        )
        .subquery("eligible")
    )
    # FOR NO KEY UPDATE: one claimer per subscription at a time (so the in-flight counts
    # hold), without blocking the foreign-key checks of transactions writing deliveries.
    ready = (
        select(eligible.c.sid, eligible.c.org, eligible.c.room, eligible.c.org_room)
        .select_from(eligible.join(s, s.id == eligible.c.sid))
        .order_by(eligible.c.turn, eligible.c.served_at.asc().nulls_first(), eligible.c.sid)
        .limit(limit)
        .with_for_update(of=s, skip_locked=True, key_share=True)
        .cte("ready")
    )
    candidates = (
        select(d.id, d.next_attempt_at)
        .where(d.subscription_id == ready.c.sid, _due(d))
        .order_by(d.next_attempt_at)
        .limit(cap)
        .with_for_update(of=d, skip_locked=True)
        .lateral("candidates")
    )
    ranked = (
        select(
            candidates.c.id,
            ready.c.room,
            ready.c.org_room,
            func.row_number()
            .over(partition_by=ready.c.sid, order_by=candidates.c.next_attempt_at)
            .label("n"),
            func.row_number()
            .over(partition_by=ready.c.org, order_by=(candidates.c.next_attempt_at, ready.c.sid))
            .label("n_org"),
        )
        .select_from(ready.join(candidates, true()))
        .cte("ranked")
    )
    picked = (
        select(ranked.c.id)
        .where(ranked.c.n <= ranked.c.room, ranked.c.n_org <= ranked.c.org_room)
        .limit(limit)
        .cte("picked")
    )
    stmt = (
        update(d)
        .where(d.id == picked.c.id, e.id == d.event_id, s.id == d.subscription_id)
        .values(
            attempts=d.attempts + 1,
            lease=func.gen_random_uuid(),
            last_attempt_at=func.now(),
            next_attempt_at=func.now() + _interval("lease", lease_seconds),
        )
        .returning(
            d.id,
            d.lease,
            d.attempts,
            e.id,
            e.type,
            e.occurred_at,
            e.payload,
            s.url,
            s.secret,
            s.id,
            literal(failing, Boolean),
        )
    )
    claims = [Claim(*row) for row in (await session.execute(stmt)).all()]
    served = {c.subscription_id for c in claims}
    if served:
        await session.execute(update(s).where(s.id.in_(served)).values(served_at=func.now()))
    return claims


async def release(session: AsyncSession, claims: list[Claim]) -> None:
    """Hand unfinished claims back at once; the interrupted attempt does not count."""
    d = WebhookDelivery
    await session.execute(
        update(d)
        .where(d.id.in_([c.delivery_id for c in claims]), d.lease.in_([c.lease for c in claims]))
        .values(lease=None, attempts=d.attempts - 1, next_attempt_at=func.now())
    )


async def finish(
    session: AsyncSession, claim: Claim, values: dict[str, Any], *, retry_in: float | None
) -> bool:
    """Record an attempt's outcome, only under our lease (if it ran out and another worker
    took over, its result wins); False when the lease was lost."""
    d = WebhookDelivery
    if retry_in is not None:
        values = {**values, "next_attempt_at": func.now() + _interval("delay", retry_in)}
    result = await session.execute(
        update(d)
        .where(d.id == claim.delivery_id, d.lease == claim.lease)
        .values(values)
        .returning(d.id)
    )
    return result.first() is not None


async def endpoint_succeeded(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    s = WebhookSubscription
    await session.execute(
        update(s)
        .where(s.id == subscription_id, s.consecutive_failures > 0)
        .values(consecutive_failures=0, failing_since=None, retry_at=None)
    )


@dataclass(frozen=True)
class Failing:
    failures: int
    # Failing for at least the auto-disable period.
    long_enough: bool


async def endpoint_failed(
    session: AsyncSession, subscription_id: uuid.UUID, *, disable_after_days: float
) -> Failing | None:
    s = WebhookSubscription
    since = func.coalesce(s.failing_since, func.now())
    row = (
        await session.execute(
            update(s)
            .where(s.id == subscription_id, s.active)
            .values(consecutive_failures=s.consecutive_failures + 1, failing_since=since)
            .returning(
                s.consecutive_failures,
                s.failing_since
                <= func.now() - _interval("disable_after", disable_after_days * 86400),
            )
        )
    ).first()
    return None if row is None else Failing(row[0], bool(row[1]))


async def pause_endpoint(session: AsyncSession, subscription_id: uuid.UUID, seconds: float) -> None:
    s = WebhookSubscription
    await session.execute(
        update(s)
        .where(s.id == subscription_id)
        .values(retry_at=func.now() + _interval("pause", seconds))
    )


async def disable_endpoint(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, last_error: str | None
) -> None:
    """Disable it and tell its owner: an event in the feed, delivered to the owner's other
    active webhooks."""
    s = WebhookSubscription
    row = (
        await session.execute(
            update(s)
            .where(s.id == subscription_id, s.active)
            .values(
                active=False,
                disabled_at=func.now(),
                disabled_reason=reason,
                retry_at=None,
                updated_at=func.now(),
            )
            .returning(s.organization_id, s.url, s.failing_since, s.consecutive_failures)
        )
    ).first()
    if row is None:
        return
    org_id, url, since, failures = row
    event_id = await session.scalar(
        insert(WebhookEvent)
        .values(
            organization_id=org_id,
            type=WEBHOOK_DISABLED,
            payload={
                "webhook_id": str(subscription_id),
                "url": url,
                "reason": reason,
                "failing_since": since.isoformat() if since else None,
                "consecutive_failures": failures,
                "last_error": last_error,
            },
        )
        .returning(WebhookEvent.id)
    )
    others = select(s.id, literal(event_id)).where(
        s.organization_id == org_id, s.active, s.id != subscription_id
    )
    await session.execute(
        insert(WebhookDelivery).from_select(["subscription_id", "event_id"], others)
    )


def health_reset(*, enabled: bool) -> dict[str, Any]:
    """What pointing a webhook elsewhere resets (PATCH `url`): its failure record; and
    enabling it again (PATCH `active: true`) also why it was disabled."""
    values: dict[str, Any] = {"consecutive_failures": 0, "failing_since": None, "retry_at": None}
    if enabled:
        values |= {"disabled_at": None, "disabled_reason": None}
    return values
