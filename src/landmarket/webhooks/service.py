"""Webhook use cases: subscriptions per organisation, delivery log, ping, redelivery, feed.

Other organisations' webhooks answer 404 exactly as if they did not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from landmarket.auth import service as auth_service
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.config import Settings
from landmarket.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from landmarket.core.pagination import (
    Page,
    as_datetime,
    as_int,
    as_uuid,
    decode_typed_cursor,
    decode_uuid_cursor,
    encode_cursor,
    keyset_tail,
)
from landmarket.webhooks import queue, ssrf
from landmarket.webhooks import repository as repo
from landmarket.webhooks.events import BY_KIND, EventType
from landmarket.webhooks.feed_listener import FeedListener, woken_within
from landmarket.webhooks.models import DeliveryState, WebhookSubscription
from landmarket.webhooks.schemas import (
    DeliveryRead,
    EventFeed,
    EventRead,
    WebhookCreate,
    WebhookCreated,
    WebhookFilter,
    WebhookRead,
    WebhookUpdate,
)
from landmarket.webhooks.signing import new_secret

FEED_RECHECK_SECONDS = 0.05


def _read(sub: WebhookSubscription) -> WebhookRead:
    return WebhookRead(
        id=sub.id,
        url=sub.url,
        event_types=list(sub.event_types),
        filter=WebhookFilter(min_score=sub.min_score, requirement_ids=sub.requirement_ids),
        description=sub.description,
        active=sub.active,
        failing_since=sub.failing_since,
        consecutive_failures=sub.consecutive_failures,
        disabled_at=sub.disabled_at,
        disabled_reason=sub.disabled_reason,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def _invalid(pointer: str, detail: str) -> ValidationFailed:
    return ValidationFailed(
        f"{pointer.removeprefix('/body/')}: {detail}",
        errors=[FieldError(pointer=pointer, detail=detail)],
    )


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await ssrf.resolve(url, settings)
    except ssrf.UnsafeTarget as exc:
        raise _invalid("/body/url", str(exc)) from exc


def _check_types(principal: AuthPrincipal, types: Sequence[EventType]) -> None:
    allowed = BY_KIND.get(principal.kind, frozenset())
    errors = [
        FieldError(
            pointer=f"/body/event_types/{i}",
            detail=f"{t.value} is not available to {principal.kind.value} organisations"
            + (f" (available: {', '.join(sorted(allowed))})" if allowed else ""),
        )
        for i, t in enumerate(types)
        if t not in allowed
    ]
    if errors:
        raise ValidationFailed("Some event types cannot be subscribed to", errors=errors)


async def _check_filter(
    session: AsyncSession, principal: AuthPrincipal, f: WebhookFilter | None
) -> None:
    if f is None or f.requirement_ids is None:
        return
    own = await repo.own_requirements(session, principal.org_id, f.requirement_ids)
    errors = [
        FieldError(pointer=f"/body/filter/requirement_ids/{i}", detail="no such requirement")
        for i, rid in enumerate(f.requirement_ids)
        if rid not in own
    ]
    if errors:
        raise ValidationFailed("The filter names requirements you do not have", errors=errors)


def _filter_values(f: WebhookFilter | None) -> dict[str, Any]:
    f = f or WebhookFilter()
    return {"min_score": f.min_score, "requirement_ids": f.requirement_ids}


async def create(
    session: AsyncSession, principal: AuthPrincipal, body: WebhookCreate, settings: Settings
) -> WebhookCreated:
    _check_types(principal, body.event_types)
    await _check_filter(session, principal, body.filter)
    await _check_url(body.url, settings)
    sub = await repo.create(
        session,
        {
            "organization_id": principal.org_id,
            "url": body.url,
            "event_types": sorted({t.value for t in body.event_types}),
            "description": body.description,
            "active": body.active,
            "secret": new_secret(),
            **_filter_values(body.filter),
        },
    )
    return WebhookCreated(**_read(sub).model_dump(), secret=sub.secret)


async def _own(
    session: AsyncSession, principal: AuthPrincipal, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription:
    sub = await repo.get(session, principal.org_id, webhook_id, lock=lock)
    if sub is None:
        raise NotFound(f"No webhook {webhook_id}")
    return sub


async def get(
    session: AsyncSession, principal: AuthPrincipal, webhook_id: uuid.UUID
) -> WebhookRead:
    return _read(await _own(session, principal, webhook_id))


async def list_webhooks(
    session: AsyncSession, principal: AuthPrincipal, *, cursor: str | None, limit: int
) -> Page[WebhookRead]:
    rows = list(
        await repo.list_for(
            session, principal.org_id, after=decode_uuid_cursor(cursor), limit=limit
        )
    )
    page, next_cursor = keyset_tail(rows, limit, lambda s: (str(s.id),))
    return Page[WebhookRead](items=[_read(s) for s in page], next_cursor=next_cursor)


async def update(
    session: AsyncSession,
    principal: AuthPrincipal,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    settings: Settings,
) -> WebhookRead:
    sub = await _own(session, principal, webhook_id, lock=True)
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    if "event_types" in sent:
        if body.event_types is None:
            raise _invalid("/body/event_types", "cannot be null")
        _check_types(principal, body.event_types)
        values["event_types"] = sorted({t.value for t in body.event_types})
    if "url" in sent:
        if body.url is None:
            raise _invalid("/body/url", "cannot be null")
        await _check_url(body.url, settings)
        values["url"] = body.url
        values |= queue.health_reset(enabled=False)  # a new endpoint: a clean record
    if "filter" in sent:
        await _check_filter(session, principal, body.filter)
        values |= _filter_values(body.filter)
    if "active" in sent:
        if body.active is None:
            raise _invalid("/body/active", "cannot be null")
        values["active"] = body.active
        if body.active and not sub.active:  # enabled again: tried at once, as a healthy one
            values |= queue.health_reset(enabled=True)
    if "description" in sent:
        values["description"] = body.description
    if values:
        sub = await repo.update_subscription(session, sub, values)
    return _read(sub)


async def delete(session: AsyncSession, principal: AuthPrincipal, webhook_id: uuid.UUID) -> None:
    await _own(session, principal, webhook_id, lock=True)
    await repo.delete_subscription(session, webhook_id)


def _delivery(row: repo.DeliveryRow) -> DeliveryRead:
    d = row.delivery
    return DeliveryRead(
        id=d.id,
        event_id=d.event_id,
        event_type=row.event_type,
        state=d.state,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.state is DeliveryState.pending else None,
        last_attempt_at=d.last_attempt_at,
        last_status=d.last_status,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


async def list_deliveries(
    session: AsyncSession,
    principal: AuthPrincipal,
    webhook_id: uuid.UUID,
    *,
    states: Sequence[DeliveryState],
    cursor: str | None,
    limit: int,
) -> Page[DeliveryRead]:
    await _own(session, principal, webhook_id)
    after = None if cursor is None else decode_typed_cursor(cursor, as_datetime, as_uuid)
    rows = list(await repo.deliveries(session, webhook_id, states=states, after=after, limit=limit))
    page, next_cursor = keyset_tail(
        rows, limit, lambda r: (r.delivery.created_at.isoformat(), str(r.delivery.id))
    )
    return Page[DeliveryRead](items=[_delivery(r) for r in page], next_cursor=next_cursor)


async def _delivery_read(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    row = await repo.delivery(session, webhook_id, delivery_id)
    if row is None:
        raise NotFound(f"No delivery {delivery_id} of webhook {webhook_id}")
    return _delivery(row)


async def ping(
    session: AsyncSession, principal: AuthPrincipal, webhook_id: uuid.UUID
) -> DeliveryRead:
    sub = await _own(session, principal, webhook_id)
    delivery_id = await repo.ping(session, sub)
    return await _delivery_read(session, webhook_id, delivery_id)


async def redeliver(
    session: AsyncSession, principal: AuthPrincipal, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    await _own(session, principal, webhook_id)
    current = await _delivery_read(session, webhook_id, delivery_id)
    if current.state is not DeliveryState.dead:
        raise Conflict(
            f"Only dead deliveries can be redelivered; this one is {current.state.value}"
        )
    await repo.requeue(session, delivery_id)
    return await _delivery_read(session, webhook_id, delivery_id)


def _feed_cursor(after: str | None) -> tuple[int, int] | None:
    if after is None:
        return None
    xid, seq = decode_typed_cursor(after, as_int, as_int, pointer="/query/after")
    return xid, seq


async def feed(
    maker: async_sessionmaker[AsyncSession],
    secret: str,
    *,
    after: str | None,
    wait: float,
    limit: int,
    max_wait: float,
    listener: FeedListener,
    poll_seconds: float,
    verified: Callable[[AuthPrincipal], None],
) -> EventFeed:
    """The events of the organisation of the API key ``secret`` after the cursor; with
    ``wait`` (at most ``max_wait``), waits until some arrive.

    Each read is its own short transaction (the first one also authenticates the key: one
    connection checkout per poll, not two); in between, the poll sleeps on the listener's
    wake-up for its organisation (a notification when events are committed) and holds no
    database connection. It reads anyway every ``poll_seconds`` (jittered).
    """
    deadline = time.monotonic() + min(wait, max_wait)
    principal: AuthPrincipal | None = None
    key: tuple[int, int] | None = None
    # After a notification: how soon to look again if the read found nothing yet. The feed
    # only shows events once every older transaction has ended, so a notified event can
    # take a moment to appear; then it looks again soon (doubling), not after poll_seconds.
    recheck: float | None = None
    with contextlib.ExitStack() as stack:
        woken = asyncio.Event()  # the listener's, once the organisation is known
        while True:
            woken.clear()
            async with maker() as session, session.begin():
                if principal is None:
                    principal = await auth_service.authenticate(session, secret)
                    verified(principal)
                    key = _feed_cursor(after)
                    # Before the first read: a notification during it is not missed.
                    woken = stack.enter_context(listener.waiting(principal.org_id))
                events = list(await repo.feed(session, principal.org_id, after=key, limit=limit))
                # After the read, in a later snapshot: an event it returned was committed
                # before this check began, so a key revoked before that commit is refused
                # here, also when the poll began before the revocation.
                await auth_service.ensure_still_valid(session, principal)
            left = deadline - time.monotonic()
            if events or left <= 0:
                break
            if recheck is None:
                pause = poll_seconds * random.uniform(0.8, 1.2)  # noqa: S311 (spreads looks)
            else:
                pause, recheck = recheck, (recheck * 2 if recheck * 2 < poll_seconds else None)
            if woken.is_set() or await woken_within(woken, min(pause, left)):
                recheck = FEED_RECHECK_SECONDS
    if events:
        key = (events[-1].xid, events[-1].seq)
    return EventFeed(
        items=[
            EventRead(id=e.id, type=e.type, occurred_at=e.occurred_at, data=e.payload)
            for e in events
        ],
        next_cursor=encode_cursor(*(key or (0, 0))),
    )
