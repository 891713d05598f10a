"""Regions and their member municipalities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from landmarket.db.base import STORAGE_SRID, Base, Timestamped

region_municipalities = Table(
    "region_municipalities",
    Base.metadata,
    Column("region_slug", ForeignKey("regions.slug", ondelete="CASCADE"), primary_key=True),
    Column("ags", ForeignKey("municipalities.ags", ondelete="CASCADE"), primary_key=True),
    # Matching asks which regions a municipality is in (matching.eligibility.same_region).
    Index("ix_region_municipalities_ags", "ags", "region_slug"),
)


class Municipality(Timestamped, Base):
    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("ags ~ '^[0-9]{8}$'", name="ags_format"),
        # Keyset pagination and prefix search walk (name, ags).
        Index("ix_municipalities_name_ags", "name", "ags"),
    )

    ags: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # BKG's BEZ: Stadt, Gemeinde, Markt, Kreisfreie Stadt, ...
    kind: Mapped[str] = mapped_column(String(100), nullable=False)
    # First five AGS digits: Land (2) + Regierungsbezirk (1) + Kreis (2).
    district_ags: Mapped[str] = mapped_column(
        String(5), Computed("substr(ags, 1, 5)", persisted=True), nullable=False
    )
    boundary: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )
    area_m2: Mapped[float] = mapped_column(
        Float, Computed("ST_Area(boundary)", persisted=True), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # The licence line of the boundary set this boundary came from (given or recognised at
    # import); reports, exports and the OGC API cite it instead of assuming one source.
    attribution: Mapped[str | None] = mapped_column(String(300))

    regions: Mapped[list[Region]] = relationship(
        secondary=region_municipalities, back_populates="municipalities", lazy="raise"
    )


class Region(Timestamped, Base):
    __tablename__ = "regions"
    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="slug_format"),)

    slug: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Policy knobs, e.g. the weight of the brownfield reactivation bonus in matching.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")

    municipalities: Mapped[list[Municipality]] = relationship(
        secondary=region_municipalities, back_populates="regions", lazy="raise"
    )
