"""Stored matches: requirement x plot, with score, explanation and the parties' state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    String,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.db.base import Base


class MatchState(enum.StrEnum):
    suggested = "suggested"
    shortlisted = "shortlisted"
    dismissed = "dismissed"
    interest_expressed = "interest_expressed"
    in_contact = "in_contact"
    closed = "closed"


class InquiryOutcome(enum.StrEnum):
    agreed = "agreed"
    no_agreement = "no_agreement"
    withdrawn = "withdrawn"


class Match(Base):
    __tablename__ = "matches"
    __table_args__ = (
        # Recomputing one plot, and a municipality's demand view.
        Index("ix_matches_plot_id", "plot_id"),
    )

    requirement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("requirements.id", ondelete="CASCADE"), primary_key=True
    )
    plot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plots.id", ondelete="CASCADE"), primary_key=True
    )
    # Public handle of the pair (inquiries); survives recomputation.
    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, nullable=False, unique=True, server_default=func.gen_random_uuid()
    )
    score: Mapped[float] = mapped_column(Float, nullable=False)
    partial: Mapped[bool] = mapped_column(Boolean, nullable=False)
    cross_border: Mapped[bool] = mapped_column(Boolean, nullable=False)
    distance_km: Mapped[float | None] = mapped_column(Float)
    # Compact: criterion scores, weights and days of waiting (matching.terms.SCORE_AT); the
    # full explanation is rendered when matches are read.
    explanation: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    # True when the pair no longer satisfies the rules but is kept for its state
    # (a company's shortlist or an inquiry must not vanish when a plot is reserved).
    stale: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    state: Mapped[MatchState] = mapped_column(
        Enum(MatchState, native_enum=False, create_constraint=True, length=32, name="match_state"),
        nullable=False,
        server_default=MatchState.suggested.value,
    )
    message: Mapped[str | None] = mapped_column(String(2000))
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    interest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[InquiryOutcome | None] = mapped_column(
        Enum(
            InquiryOutcome,
            native_enum=False,
            create_constraint=True,
            length=32,
            name="inquiry_outcome",
        )
    )
    note: Mapped[str | None] = mapped_column(String(2000))
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    state_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The ranked list of one requirement (score desc, then plot id) is one index range scan.
Index("ix_matches_requirement_rank", Match.requirement_id, Match.score.desc(), Match.plot_id)
