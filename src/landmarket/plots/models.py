"""Plots (Flächen) listed by municipalities."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Computed,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    func,
    or_,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID, Base, Timestamped


class Category(enum.StrEnum):
    brownfield = "brownfield"
    vacant_building = "vacant_building"
    infill_gap = "infill_gap"
    commercial_site = "commercial_site"
    greenfield_reserve = "greenfield_reserve"


class Zoning(enum.StrEnum):
    MU = "MU"
    MI = "MI"
    MK = "MK"
    GE = "GE"
    GI = "GI"
    SO = "SO"
    inner_area_34 = "inner_area_34"
    other = "other"


class PlanningStatus(enum.StrEnum):
    binding_plan = "binding_plan"
    inner_area = "inner_area"
    plan_in_preparation = "plan_in_preparation"
    none = "none"


class Contamination(enum.StrEnum):
    none = "none"
    suspected = "suspected"
    confirmed = "confirmed"
    remediated = "remediated"
    unknown = "unknown"


class Servicing(enum.StrEnum):
    developed = "developed"
    partially_developed = "partially_developed"
    undeveloped = "undeveloped"


class Tenure(enum.StrEnum):
    sale = "sale"
    lease = "lease"
    sale_or_lease = "sale_or_lease"
    hereditary_lease = "hereditary_lease"


class Ownership(enum.StrEnum):
    municipal = "municipal"
    private = "private"
    mixed = "mixed"


class GeometryPrecision(enum.StrEnum):
    """How the geometry was made: surveyed outline, or a square of the registered area
    around a register's point (`landmarket plots push --point-area-field`)."""

    exact = "exact"
    approximate = "approximate"


class PlotStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    reserved = "reserved"
    under_negotiation = "under_negotiation"
    transferred = "transferred"
    withdrawn = "withdrawn"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK instead of a native enum: adding a value needs no ALTER TYPE dance.
    return Enum(cls, native_enum=False, create_constraint=True, length=32, name=name)


class Plot(Timestamped, Base):
    __tablename__ = "plots"
    __table_args__ = (
        UniqueConstraint("municipality_ags", "external_id"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Listings filter by status and page by id.
        Index("ix_plots_status_id", "status", "id"),
        # Matching for requirements that search their whole home region (rules 2 and 3;
        # matching.candidates._home_region_prefilter).
        Index(
            "ix_plots_published_zoning_area",
            "zoning",
            "area_m2",
            postgresql_where=text("status = 'published'"),
        ),
        Index(
            "ix_plots_published_divisible_zoning_area",
            "zoning",
            "area_m2",
            postgresql_where=text("status = 'published' AND divisible"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    municipality_ags: Mapped[str] = mapped_column(
        String(8), ForeignKey("municipalities.ags", ondelete="RESTRICT"), nullable=False
    )
    external_id: Mapped[str] = mapped_column(String(128), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(String(5000))
    category: Mapped[Category | None] = mapped_column(_enum(Category, "plot_category"))
    zoning: Mapped[Zoning | None] = mapped_column(_enum(Zoning, "plot_zoning"))
    planning_status: Mapped[PlanningStatus | None] = mapped_column(
        _enum(PlanningStatus, "plot_planning_status")
    )
    emission_quota_db: Mapped[float | None] = mapped_column(Float)
    contamination: Mapped[Contamination | None] = mapped_column(
        _enum(Contamination, "plot_contamination")
    )
    servicing: Mapped[Servicing | None] = mapped_column(_enum(Servicing, "plot_servicing"))
    fibre_available: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    broadband_mbps: Mapped[int | None] = mapped_column(Integer)
    transit_stop_distance_m: Mapped[int | None] = mapped_column(Integer)
    motorway_distance_km: Mapped[float | None] = mapped_column(Float)
    rail_siding: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    tenure: Mapped[Tenure | None] = mapped_column(_enum(Tenure, "plot_tenure"))
    price_eur_per_m2: Mapped[float | None] = mapped_column(Float)
    rent_eur_per_m2_month: Mapped[float | None] = mapped_column(Float)
    ownership: Mapped[Ownership | None] = mapped_column(_enum(Ownership, "plot_ownership"))
    divisible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    min_divisible_area_m2: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date)
    parcel_ids: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), nullable=False, server_default=text("'{}'")
    )
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[PlotStatus] = mapped_column(
        _enum(PlotStatus, "plot_status"), nullable=False, default=PlotStatus.draft
    )
    geometry_precision: Mapped[GeometryPrecision] = mapped_column(
        _enum(GeometryPrecision, "plot_geometry_precision"),
        nullable=False,
        default=GeometryPrecision.exact,
        server_default=GeometryPrecision.exact.value,
    )
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )
    area_m2: Mapped[float] = mapped_column(
        Float, Computed("ST_Area(geom)", persisted=True), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # The version the last bulk import (push) wrote or found unchanged: a higher version
    # means an edit by other means since, which a push reports as a conflict. Not a property.
    synced_version: Mapped[int | None] = mapped_column(Integer, deferred=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_confirmed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # The public properties as one JSON object, written by a database trigger on every insert
    # and update (migration 0009) for the OGC API's pages; never set here, never loaded.
    public_properties: Mapped[Any] = mapped_column(JSON, nullable=False, deferred=True)


def visible_to(principal: AuthPrincipal | None) -> ColumnElement[bool]:
    """Row-level visibility, applied wherever plots are selected (here so that matching can
    apply it without importing plots' repository).

    Anonymous callers and companies see published plots; municipalities also their own."""
    if principal is not None and principal.is_admin:
        return true()
    published = Plot.status == PlotStatus.published
    if principal is not None and principal.editable_ags:
        return or_(published, Plot.municipality_ags.in_(sorted(principal.editable_ags)))
    return published
