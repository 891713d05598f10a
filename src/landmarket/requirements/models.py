"""Space requirements (Flächengesuche) posted by companies. Confidential: owner and admins only."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    func,
    literal,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID, Base, Timestamped


class EmissionClass(enum.StrEnum):
    non_disturbing = "non_disturbing"
    not_substantially_disturbing = "not_substantially_disturbing"
    not_substantially_annoying = "not_substantially_annoying"
    substantially_annoying = "substantially_annoying"


class RequirementTenure(enum.StrEnum):
    buy = "buy"
    lease = "lease"
    either = "either"


class RequirementStatus(enum.StrEnum):
    open = "open"
    paused = "paused"
    fulfilled = "fulfilled"
    withdrawn = "withdrawn"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # VARCHAR + CHECK like the plot enums: new values need no ALTER TYPE.
    return Enum(cls, native_enum=False, create_constraint=True, length=32, name=name)


class Requirement(Timestamped, Base):
    __tablename__ = "requirements"
    __table_args__ = (
        CheckConstraint("area_min_m2 > 0 AND area_min_m2 <= area_max_m2", name="area_range"),
        CheckConstraint("version >= 1", name="version_positive"),
        # The owner's listing pages by id.
        Index("ix_requirements_company_id_id", "company_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    # Copied from the company at creation: the origin of cross-border flows in reports stays
    # what it was when the requirement was posted.
    home_ags: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("municipalities.ags", ondelete="RESTRICT"), nullable=True
    )
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(5000))
    area_min_m2: Mapped[float] = mapped_column(Float, nullable=False)
    area_max_m2: Mapped[float] = mapped_column(Float, nullable=False)
    emission_class: Mapped[EmissionClass] = mapped_column(
        _enum(EmissionClass, "requirement_emission_class"), nullable=False
    )
    zonings: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    tenure: Mapped[RequirementTenure] = mapped_column(
        _enum(RequirementTenure, "requirement_tenure"), nullable=False
    )
    max_price_eur_per_m2: Mapped[float | None] = mapped_column(Float)
    max_rent_eur_per_m2_month: Mapped[float | None] = mapped_column(Float)
    needed_by: Mapped[date | None] = mapped_column(Date)
    # location
    anchor: Mapped[Any | None] = mapped_column(
        Geometry("POINT", srid=STORAGE_SRID, spatial_index=False)
    )
    max_distance_km: Mapped[float | None] = mapped_column(Float)
    municipalities: Mapped[list[str] | None] = mapped_column(ARRAY(String(8)))
    area: Mapped[Any | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)
    )
    # A box containing every plot the location can accept (all parts intersected; the home
    # regions when no location is given). Only a GiST prefilter: the exact rules still apply.
    search_box: Mapped[Any] = mapped_column(
        Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False
    )
    # must-haves
    must_fibre: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    must_rail_siding: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    must_developed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    must_no_contamination: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    must_max_transit_stop_distance_m: Mapped[int | None] = mapped_column(Integer)
    must_max_motorway_distance_km: Mapped[float | None] = mapped_column(Float)
    # weights 0-10; null = the documented default (reactivation: the region's policy)
    weight_area: Mapped[float | None] = mapped_column(Float)
    weight_distance: Mapped[float | None] = mapped_column(Float)
    weight_price: Mapped[float | None] = mapped_column(Float)
    weight_availability: Mapped[float | None] = mapped_column(Float)
    weight_infrastructure: Mapped[float | None] = mapped_column(Float)
    weight_reactivation: Mapped[float | None] = mapped_column(Float)
    sector_nace: Mapped[str | None] = mapped_column(String(10))
    jobs: Mapped[int | None] = mapped_column(Integer)
    share_identity: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[RequirementStatus] = mapped_column(
        _enum(RequirementStatus, "requirement_status"),
        nullable=False,
        default=RequirementStatus.open,
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


def visible_to(principal: AuthPrincipal) -> ColumnElement[bool]:
    """Row-level visibility, applied wherever requirements are selected (here so that matching
    can apply it without importing requirements' repository)."""
    if principal.is_admin:
        return true()
    if principal.kind is OrgKind.company:
        return Requirement.company_id == principal.org_id
    # Requirements are confidential: municipalities and agencies never select one.
    return literal(False)
