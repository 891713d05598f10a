"""Organisations and their API keys."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from landmarket.db.base import Base, Timestamped


class OrgKind(enum.StrEnum):
    municipality = "municipality"
    company = "company"
    agency = "agency"
    admin = "admin"


organization_municipalities = Table(
    "organization_municipalities",
    Base.metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("ags", ForeignKey("municipalities.ags", ondelete="RESTRICT"), primary_key=True),
)

organization_regions = Table(
    "organization_regions",
    Base.metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("region_slug", ForeignKey("regions.slug", ondelete="RESTRICT"), primary_key=True),
)


class Organization(Timestamped, Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[OrgKind] = mapped_column(
        Enum(OrgKind, native_enum=False, create_constraint=True, length=16, name="org_kind"),
        nullable=False,
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Companies: the municipality they are based in (origin of cross-border flows).
    home_ags: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("municipalities.ags", ondelete="RESTRICT"), nullable=True
    )
    sector_nace: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # Set by an erasure (landmarket.privacy): the name is then a pseudonym, the keys revoked.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="organization", lazy="raise")


class ApiKey(Timestamped, Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    # Visible part of the key (e.g. "lm_3fa9c1d2") so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    # SHA-256 of the whole key: keys are 256-bit random, so a slow KDF adds nothing.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship(back_populates="api_keys", lazy="raise")
