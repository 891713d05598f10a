"""SQL for regions and municipalities: typed statements with bound parameters only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.db.geo import Crs, geojson_out
from landmarket.db.sql import LIKE_ESCAPE, contains_pattern
from landmarket.municipalities.models import Municipality, Region, region_municipalities

_members = region_municipalities
_boundary: ColumnElement[Any] = Municipality.boundary.expression


def _member_count() -> Any:
    return (
        select(func.count())
        .where(_members.c.region_slug == Region.slug)
        .scalar_subquery()
        .label("municipality_count")
    )


async def list_regions(session: AsyncSession) -> list[tuple[Region, int]]:
    result = await session.execute(select(Region, _member_count()).order_by(Region.slug))
    return [(row[0], int(row[1])) for row in result]


async def get_region(session: AsyncSession, slug: str) -> tuple[Region, int] | None:
    stmt = select(Region, _member_count()).where(Region.slug == slug)
    row = (await session.execute(stmt)).first()
    return (row[0], int(row[1])) if row is not None else None


async def region_exists(session: AsyncSession, slug: str) -> bool:
    return bool(await session.scalar(select(func.count()).where(Region.slug == slug)))


async def member_ags(session: AsyncSession, slug: str) -> list[str]:
    stmt = select(_members.c.ags).where(_members.c.region_slug == slug).order_by(_members.c.ags)
    return list(await session.scalars(stmt))


async def list_municipalities(
    session: AsyncSession,
    *,
    region: str | None,
    q: str | None,
    after: tuple[str, str] | None,
    limit: int,
    geometry_crs: Crs | None,
) -> Sequence[Row[Any]]:
    """One page in (name, ags) order, ``limit`` + 1 rows so the caller sees if more follow."""
    columns: list[Any] = [
        Municipality.ags,
        Municipality.name,
        Municipality.kind,
        Municipality.district_ags,
        Municipality.area_m2,
    ]
    if geometry_crs is not None:
        columns.append(geojson_out(_boundary, geometry_crs).label("geometry"))
    stmt = select(*columns).order_by(Municipality.name, Municipality.ags).limit(limit + 1)
    if region is not None:
        stmt = stmt.where(
            Municipality.ags.in_(select(_members.c.ags).where(_members.c.region_slug == region))
        )
    if q:
        stmt = stmt.where(Municipality.name.ilike(contains_pattern(q), escape=LIKE_ESCAPE))
    if after is not None:
        stmt = stmt.where(tuple_(Municipality.name, Municipality.ags) > tuple_(*after))
    return (await session.execute(stmt)).all()


async def get_municipality(session: AsyncSession, ags: str, crs: Crs) -> Row[Any] | None:
    regions = (
        select(func.array_agg(aggregate_order_by(_members.c.region_slug, _members.c.region_slug)))
        .where(_members.c.ags == Municipality.ags)
        .scalar_subquery()
        .label("regions")
    )
    stmt = select(
        Municipality.ags,
        Municipality.name,
        Municipality.kind,
        Municipality.district_ags,
        Municipality.area_m2,
        geojson_out(_boundary, crs).label("geometry"),
        regions,
    ).where(Municipality.ags == ags)
    row: Row[Any] | None = (await session.execute(stmt)).first()
    return row
