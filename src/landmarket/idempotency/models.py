"""One row per (organisation, Idempotency-Key): the request's fingerprint and its response.

A row only ever exists for a finished request: it is inserted in the same transaction as the
work, so a request that fails or dies leaves nothing behind that could block its retry.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, SmallInteger, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.db.base import Base


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    # Scoped per organisation, not per API key: a client that rotates its key mid-retry
    # still gets its first response, and two tenants never see each other's keys.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256 (hex) of method, path, query, body-significant headers and the body.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    response_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # [[name, value], ...] as sent, so repeated headers survive the replay.
    response_headers: Mapped[list[list[str]]] = mapped_column(JSONB, nullable=False)
    response_body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # The purge walks this index; a row past it is treated as absent even before it is purged.
    expires_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
