"""SQL for organisations and API keys: typed statements with bound parameters only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import (
    ApiKey,
    Organization,
    OrgKind,
    organization_municipalities,
    organization_regions,
)
from landmarket.municipalities.models import Municipality, Region

# Skip the last_used_at write when the stored value is this fresh: one write per key per
# minute instead of one per request.
TOUCH_INTERVAL_S = 60


@dataclass(frozen=True)
class OrgRow:
    org: Organization
    ags: list[str]
    regions: list[str]


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    org: OrgRow


def _ags_of_org() -> ColumnElement[list[str] | None]:
    om = organization_municipalities.c
    return (
        select(func.array_agg(aggregate_order_by(om.ags, om.ags)))
        .where(om.organization_id == Organization.id)
        .scalar_subquery()
    )


def _regions_of_org() -> ColumnElement[list[str] | None]:
    orr = organization_regions.c
    return (
        select(func.array_agg(aggregate_order_by(orr.region_slug, orr.region_slug)))
        .where(orr.organization_id == Organization.id)
        .scalar_subquery()
    )


def _org_select() -> Select[Organization, list[str] | None, list[str] | None]:
    return select(Organization, _ags_of_org(), _regions_of_org())


async def find_key_by_digest(session: AsyncSession, digest: bytes) -> KeyRow | None:
    stmt = (
        select(ApiKey, Organization, _ags_of_org(), _regions_of_org())
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.key_hash == digest)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    key, org, ags, regions = row
    return KeyRow(key=key, org=OrgRow(org=org, ags=ags or [], regions=regions or []))


async def get_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.id == key_id).execution_options(populate_existing=True)
    return (await session.scalars(stmt)).one_or_none()


async def touch_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Set last_used_at without ever waiting: if another transaction holds the row (a
    concurrent request with the same key, a revocation), that one wins and this is skipped."""
    stale = or_(
        ApiKey.last_used_at.is_(None),
        ApiKey.last_used_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, TOUCH_INTERVAL_S),
    )
    lockable = (
        select(ApiKey.id)
        .where(ApiKey.id == key_id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == lockable)
        .values(last_used_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def existing_ags(session: AsyncSession, ags: Iterable[str]) -> set[str]:
    stmt = select(Municipality.ags).where(Municipality.ags.in_(list(ags)))
    return set((await session.scalars(stmt)).all())


async def existing_regions(session: AsyncSession, slugs: Iterable[str]) -> set[str]:
    stmt = select(Region.slug).where(Region.slug.in_(list(slugs)))
    return set((await session.scalars(stmt)).all())


async def insert_organization(
    session: AsyncSession,
    *,
    kind: OrgKind,
    name: str,
    home_ags: str | None,
    sector_nace: str | None,
    ags: Sequence[str],
    regions: Sequence[str],
) -> uuid.UUID:
    org = Organization(kind=kind, name=name, home_ags=home_ags, sector_nace=sector_nace)
    session.add(org)
    await session.flush()
    if ags:
        await session.execute(
            insert(organization_municipalities),
            [{"organization_id": org.id, "ags": a} for a in ags],
        )
    if regions:
        await session.execute(
            insert(organization_regions),
            [{"organization_id": org.id, "region_slug": r} for r in regions],
        )
    return org.id


def _org_row(org: Organization, ags: list[str] | None, regions: list[str] | None) -> OrgRow:
    return OrgRow(org=org, ags=ags or [], regions=regions or [])


async def get_organization(session: AsyncSession, org_id: uuid.UUID) -> OrgRow | None:
    row = (await session.execute(_org_select().where(Organization.id == org_id))).one_or_none()
    return None if row is None else _org_row(*row)


async def organization_exists(session: AsyncSession, org_id: uuid.UUID) -> bool:
    stmt = select(Organization.id).where(Organization.id == org_id)
    return (await session.scalar(stmt)) is not None


async def find_organization_id(session: AsyncSession, kind: OrgKind, name: str) -> uuid.UUID | None:
    """The oldest organisation of this kind and name (names are not unique in general)."""
    stmt = (
        select(Organization.id)
        .where(Organization.kind == kind, Organization.name == name)
        .order_by(Organization.created_at, Organization.id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def list_organizations(
    session: AsyncSession,
    *,
    kind: OrgKind | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[OrgRow]:
    """Oldest first, keyset-paginated on (created_at, id): stable while rows are added."""
    stmt = _org_select().order_by(Organization.created_at, Organization.id).limit(limit)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    if after is not None:
        stmt = stmt.where(tuple_(Organization.created_at, Organization.id) > tuple_(*after))
    return [_org_row(*row) for row in (await session.execute(stmt)).all()]


async def insert_api_key(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    name: str,
    prefix: str,
    digest: bytes,
    expires_at: datetime | None,
) -> ApiKey:
    key = ApiKey(
        organization_id=org_id, name=name, prefix=prefix, key_hash=digest, expires_at=expires_at
    )
    session.add(key)
    await session.flush()
    # created_at comes from the server default; load it for the response.
    await session.refresh(key, ["created_at"])
    return key


async def list_api_keys(session: AsyncSession, org_id: uuid.UUID | None) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if org_id is not None:
        stmt = stmt.where(ApiKey.organization_id == org_id)
    return list((await session.scalars(stmt)).all())


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    """Idempotent: the first revocation time is kept."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )
    stmt = select(ApiKey).where(ApiKey.id == key_id).execution_options(populate_existing=True)
    return (await session.scalars(stmt)).one_or_none()
