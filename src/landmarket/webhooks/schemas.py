"""API schemas for webhooks, deliveries and the event feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool, WithJsonSchema

from landmarket.core.schemas import ApiModel, Number, ReadModel, Text
from landmarket.webhooks.events import BY_KIND, EventType
from landmarket.webhooks.models import DeliveryState

# What any kind may subscribe to (which of them a key may: docs/webhooks.md); `ping` only
# comes from POST /v1/webhooks/{id}/test and is never subscribed to.
SubscribableType = Annotated[
    EventType,
    WithJsonSchema(
        {"type": "string", "enum": sorted(t.value for kind in BY_KIND.values() for t in kind)}
    ),
]


class WebhookFilter(ApiModel):
    min_score: Annotated[float, Number(ge=0, le=100)] | None = Field(
        default=None, description="Only events whose `score` is at least this"
    )
    requirement_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Companies: only events about these of your requirements",
    )


class WebhookCreate(ApiModel):
    url: Annotated[str, Text(max_length=2000)] = Field(
        description="https URL (http only to localhost, for development), as an HTTP client "
        "parses it: no credentials, fragment, whitespace or control characters; its host must "
        "resolve to public addresses only; redirects are not followed",
    )
    event_types: list[SubscribableType] = Field(min_length=1, max_length=10)
    filter: WebhookFilter | None = None
    description: Annotated[str, Text(max_length=500)] | None = None
    active: StrictBool = True


class WebhookUpdate(ApiModel):
    url: Annotated[str, Text(max_length=2000)] | None = None
    event_types: list[SubscribableType] | None = Field(default=None, min_length=1, max_length=10)
    filter: WebhookFilter | None = None
    description: Annotated[str, Text(max_length=500)] | None = None
    active: StrictBool | None = None


class WebhookRead(ReadModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    filter: WebhookFilter
    description: str | None
    active: bool
    failing_since: datetime | None = Field(
        description="Since when every attempt to the URL has failed (null: it works)"
    )
    consecutive_failures: int = Field(description="Failed attempts in a row")
    disabled_at: datetime | None = Field(
        description="When delivery disabled it after failing too long (`active` is false); "
        "`PATCH` `active: true` enables it again"
    )
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="Signs every delivery (`Webhook-Signature`); shown only in this response"
    )


class DeliveryRead(ReadModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = Field(description="When pending: the next attempt")
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="HTTP status of the last attempt")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class EventRead(ReadModel):
    id: uuid.UUID = Field(description="Also the `Webhook-Id` header: de-duplicate on it")
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class EventFeed(ReadModel):
    items: list[EventRead]
    next_cursor: str = Field(description="Pass as `after` for the events after these")
