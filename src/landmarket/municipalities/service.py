"""Regions and municipalities: lookups with 404s, pagination and response shaping."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.errors import NotFound
from landmarket.core.pagination import Page, as_str, decode_typed_cursor, encode_cursor
from landmarket.db.geo import Crs
from landmarket.municipalities import repository
from landmarket.municipalities.schemas import (
    MunicipalityFeature,
    MunicipalityProperties,
    MunicipalityRead,
    RegionDetail,
    RegionRead,
)


def area_km2(area_m2: float) -> float:
    # 0.001 km² (1,000 m²) is finer than the source data's generalisation allows anyway.
    return round(area_m2 / 1e6, 3)


async def list_regions(session: AsyncSession) -> list[RegionRead]:
    return [
        RegionRead(slug=r.slug, name=r.name, settings=r.settings, municipality_count=n)
        for r, n in await repository.list_regions(session)
    ]


async def get_region(session: AsyncSession, slug: str) -> RegionDetail:
    row = await repository.get_region(session, slug)
    if row is None:
        raise NotFound(f"No region {slug!r}")
    region, count = row
    return RegionDetail(
        slug=region.slug,
        name=region.name,
        settings=region.settings,
        municipality_count=count,
        municipalities=await repository.member_ags(session, slug),
    )


def _after(cursor: str | None) -> tuple[str, str] | None:
    if cursor is None:
        return None
    name, ags = decode_typed_cursor(cursor, as_str, as_str)
    return name, ags


async def list_municipalities(
    session: AsyncSession,
    *,
    region: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
    geometry_crs: Crs | None,
) -> Page[MunicipalityRead]:
    after = _after(cursor)
    if region is not None and not await repository.region_exists(session, region):
        raise NotFound(f"No region {region!r}")
    rows = await repository.list_municipalities(
        session, region=region, q=q, after=after, limit=limit, geometry_crs=geometry_crs
    )
    items = [_read(row._mapping) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].name, items[-1].ags) if len(rows) > limit else None
    return Page[MunicipalityRead](items=items, next_cursor=next_cursor)


def _read(row: Any) -> MunicipalityRead:
    return MunicipalityRead(
        ags=row["ags"],
        name=row["name"],
        kind=row["kind"],
        district_ags=row["district_ags"],
        area_km2=area_km2(row["area_m2"]),
        geometry=row.get("geometry"),
    )


async def get_municipality(session: AsyncSession, ags: str, crs: Crs) -> MunicipalityFeature:
    row = await repository.get_municipality(session, ags, crs)
    if row is None:
        raise NotFound(f"No municipality with AGS {ags}")
    return MunicipalityFeature(
        id=row.ags,
        geometry=row.geometry,
        properties=MunicipalityProperties(
            ags=row.ags,
            name=row.name,
            kind=row.kind,
            district_ags=row.district_ags,
            area_km2=area_km2(row.area_m2),
            regions=row.regions or [],
        ),
    )
