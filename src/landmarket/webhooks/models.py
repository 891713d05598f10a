"""Webhook subscriptions, the outbox of events, and one delivery row per (event, subscription)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.db.base import Base, Timestamped


class DeliveryState(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class WebhookSubscription(Timestamped, Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    min_score: Mapped[float | None] = mapped_column(Float)
    requirement_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))
    description: Mapped[str | None] = mapped_column(String(500))
    # Kept in clear: signing needs it. Shown once at creation, never returned again.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    # Health, kept by the worker: while the endpoint fails, one delivery at a time probes it
    # and not before ``retry_at``; after long enough it is disabled (docs/webhooks.md).
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Round-robin: the worker claims for the subscriptions served longest ago first.
    served_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class WebhookEvent(Base):
    """The outbox: written in the transaction of the change that caused it."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # The feed of one organisation in commit-safe order (see events feed in service).
        Index("ix_webhook_events_feed", "organization_id", "xid", "seq"),
        # The retention purge walks events by age.
        Index("ix_webhook_events_occurred_at", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    # The writing transaction's id: a feed reader only returns events of transactions older
    # than every transaction still running, so a late commit can never be skipped by a cursor.
    xid: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Internal: the requirement the event is about, for subscription filters on company events
    # and for erasing a company's data from other organisations' events (demand, inquiries).
    # Never part of a payload by itself: municipalities never learn requirement ids.
    requirement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
        # The worker's fair claim: the due rows of one subscription, oldest first.
        Index(
            "ix_webhook_deliveries_subscription_due",
            "subscription_id",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        # Requests in flight per subscription (its concurrency cap): few rows.
        Index(
            "ix_webhook_deliveries_in_flight",
            "subscription_id",
            postgresql_where=text("state = 'pending' AND lease IS NOT NULL"),
        ),
        # The retention purge: finished rows by the time of their last attempt.
        Index(
            "ix_webhook_deliveries_finished",
            "state",
            "last_attempt_at",
            postgresql_where=text("state <> 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    state: Mapped[DeliveryState] = mapped_column(
        Enum(
            DeliveryState,
            native_enum=False,
            create_constraint=True,
            length=16,
            name="webhook_delivery_state",
        ),
        nullable=False,
        server_default=DeliveryState.pending.value,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # Set when a worker claims the row; a result is only recorded under the same lease, so a
    # worker that outlived its lease cannot overwrite the outcome of the one that took over.
    lease: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
