"""Webhook and event feed endpoints: thin; rules and access in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from landmarket.auth import keys
from landmarket.auth.deps import BearerCredentials, Principal
from landmarket.core.config import Settings
from landmarket.core.errors import Unauthorized, problem_responses
from landmarket.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from landmarket.core.ratelimit import mark_verified
from landmarket.core.schemas import NulFreeStr
from landmarket.db.session import SessionDep, outage_as_503
from landmarket.webhooks import service
from landmarket.webhooks.feed_listener import PollGate
from landmarket.webhooks.models import DeliveryState
from landmarket.webhooks.schemas import (
    DeliveryRead,
    EventFeed,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[uuid.UUID, Path(description="The webhook's id")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[NulFreeStr | None, Query(description="`next_cursor` of the previous page")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events; the signing secret is shown only in this response",
    responses=problem_responses(401, 422),
)
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    response: Response,
    principal: Principal,
    session: SessionDep,
) -> WebhookCreated:
    created = await service.create(session, principal, body, _settings(request))
    response.headers["Location"] = f"/v1/webhooks/{created.id}"
    return created


@router.get(
    "/webhooks",
    response_model=Page[WebhookRead],
    summary="The caller's organisation's webhooks, by id",
    responses=problem_responses(401, 422),
)
async def list_webhooks(
    principal: Principal, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[WebhookRead]:
    return await service.list_webhooks(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/webhooks/{webhook_id}",
    response_model=WebhookRead,
    summary="One webhook (without its secret)",
    responses=problem_responses(401, 404, 422),
)
async def get_webhook(
    webhook_id: WebhookId, principal: Principal, session: SessionDep
) -> WebhookRead:
    return await service.get(session, principal, webhook_id)


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookRead,
    summary="Change URL, event types, filter, description or pause it (`active`)",
    responses=problem_responses(401, 404, 422),
)
async def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    request: Request,
    principal: Principal,
    session: SessionDep,
) -> WebhookRead:
    return await service.update(session, principal, webhook_id, body, _settings(request))


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    summary="Delete a webhook and its pending deliveries",
    responses=problem_responses(401, 404, 422),
)
async def delete_webhook(webhook_id: WebhookId, principal: Principal, session: SessionDep) -> None:
    await service.delete(session, principal, webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryRead],
    summary="Delivery log, newest first: state, attempts, last status and error",
    responses=problem_responses(401, 404, 422),
)
async def list_deliveries(
    webhook_id: WebhookId,
    principal: Principal,
    session: SessionDep,
    state: Annotated[list[DeliveryState] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    return await service.list_deliveries(
        session, principal, webhook_id, states=state or [], cursor=cursor, limit=limit
    )


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    response_model=DeliveryRead,
    summary="Queue a `ping` event to this webhook only",
    responses=problem_responses(401, 404, 422),
)
async def ping_webhook(
    webhook_id: WebhookId, principal: Principal, session: SessionDep
) -> DeliveryRead:
    return await service.ping(session, principal, webhook_id)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryRead,
    summary="Queue a dead delivery again, with a fresh set of attempts",
    responses=problem_responses(401, 404, 409, 422),
)
async def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, principal: Principal, session: SessionDep
) -> DeliveryRead:
    return await service.redeliver(session, principal, webhook_id, delivery_id)


@router.get(
    "/events",
    response_model=EventFeed,
    summary="The caller's own event feed (the webhook payloads), oldest first; "
    "long-polls up to `wait` seconds when there is nothing new",
    description="A waiting request holds no database connection: it is woken when the "
    "caller's organisation gets an event. At most `LANDMARKET_EVENT_FEED_MAX_POLLS_PER_KEY` "
    "requests per API key at once (per API process); one more is answered 429 with "
    "`Retry-After`. A key revoked while a request waits gets 401 instead of later events.",
    responses=problem_responses(401, 422, 429, 503),
)
async def list_events(
    request: Request,
    credentials: BearerCredentials,
    after: Annotated[
        NulFreeStr | None, Query(description="`next_cursor` of the previous call; omit to start")
    ] = None,
    wait: Annotated[
        float, Query(ge=0, le=30, description="Seconds to wait for new events (long polling)")
    ] = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> EventFeed:
    if credentials is None:
        raise Unauthorized("An API key is required: send `Authorization: Bearer <api key>`")
    secret = credentials.credentials.strip()
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    settings = _settings(request)
    gate: PollGate = request.app.state.feed_gate
    # The cap first: a flood of polls with one key is refused before it reaches the database.
    # Not the Principal dependency: that would hold a pooled connection for the whole wait.
    async with gate.enter(keys.digest(secret)), outage_as_503():
        return await service.feed(
            maker,
            secret,
            after=after,
            wait=wait,
            limit=limit,
            max_wait=settings.event_feed_max_wait_seconds,
            listener=request.app.state.feed_listener,
            poll_seconds=settings.event_feed_poll_seconds,
            verified=lambda principal: mark_verified(request, principal.key_id),
        )
