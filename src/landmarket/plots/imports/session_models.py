"""Import sessions: one push of many batches, committed (or not) as one unit.

A GIS office's file is usually larger than one request. The batches of a push are stored here
as they arrive and only written to ``plots`` by the commit, in one transaction, as one import
over every feature of every batch: duplicates are found across batches, an atomic push writes
all or nothing, and the report says only what was written.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.db.base import Base


class SessionState(enum.StrEnum):
    open = "open"
    committed = "committed"


class ImportSession(Base):
    __tablename__ = "plot_import_sessions"
    # Expired sessions are purged by expiry time.
    __table_args__ = (Index("ix_plot_import_sessions_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Only this organisation's keys may use the session (another org gets 404).
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    state: Mapped[SessionState] = mapped_column(
        Enum(
            SessionState,
            native_enum=False,
            create_constraint=True,
            length=16,
            name="plot_import_session_state",
        ),
        nullable=False,
        default=SessionState.open,
    )
    # The CRS URI of every batch's geometry (the Content-Crs sent when the session was opened).
    crs: Mapped[str] = mapped_column(String(128), nullable=False)
    # The import options chosen when the session was opened (mode, repair, prune, merge, ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The commit's report, so a commit re-sent after a dropped connection gets it again.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ImportBatch(Base):
    __tablename__ = "plot_import_batches"

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("plot_import_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    # sha256 of the canonical JSON of the features: the same batch sent again is a no-op,
    # another batch under a used sequence number is a conflict.
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    # The features as JSON text: stored and read back whole, never queried.
    features: Mapped[str] = mapped_column(Text, nullable=False)
