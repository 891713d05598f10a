"""Small async helpers that put rows in the database for tests. Each one commits, so the
HTTP client (another connection) sees the rows."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import service
from landmarket.auth.models import Organization, OrgKind
from landmarket.auth.schemas import ApiKeyCreate, OrganizationCreate
from landmarket.db.base import STORAGE_SRID
from landmarket.municipalities.models import Municipality, Region, region_municipalities

# Near Frankfurt am Main in EPSG:25832 (metres).
_ORIGIN_X, _ORIGIN_Y = 470_000, 5_540_000
_SIDE = 1_000


def default_square(ags: str) -> str:
    """A 1 km square on a 50 x 50 grid of cells 2 km apart, placed by the district and
    municipality digits of the AGS, so e.g. 06412000 and 06413000 get disjoint squares
    (cells repeat only when those six digits are equal modulo 2,500)."""
    cell = int(ags[2:]) % 2500
    x0, y0 = _ORIGIN_X + (cell % 50) * 2 * _SIDE, _ORIGIN_Y + (cell // 50) * 2 * _SIDE
    x1, y1 = x0 + _SIDE, y0 + _SIDE
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


async def make_municipality(
    session: AsyncSession,
    ags: str,
    name: str,
    wkt_polygon_in_25832: str | None = None,
    *,
    kind: str = "Gemeinde",
) -> Municipality:
    wkt = wkt_polygon_in_25832 or default_square(ags)
    municipality = Municipality(
        ags=ags,
        name=name,
        kind=kind,
        boundary=func.ST_Multi(func.ST_GeomFromText(wkt, STORAGE_SRID)),
    )
    session.add(municipality)
    await session.commit()
    return municipality


async def make_region(
    session: AsyncSession, slug: str, name: str, ags_list: Iterable[str]
) -> Region:
    region = Region(slug=slug, name=name)
    session.add(region)
    await session.flush()
    members = [{"region_slug": slug, "ags": ags} for ags in ags_list]
    if members:
        await session.execute(insert(region_municipalities), members)
    await session.commit()
    return region


async def make_org_with_key(
    session: AsyncSession,
    kind: OrgKind | str,
    name: str,
    *,
    ags: Iterable[str] = (),
    regions: Iterable[str] = (),
    home_ags: str | None = None,
) -> tuple[Organization, str]:
    """An organisation (referenced municipalities/regions must exist) and its plaintext key."""
    data = OrganizationCreate(
        kind=OrgKind(kind),
        name=name,
        ags=list(ags) or None,
        regions=list(regions) or None,
        home_ags=home_ags,
    )
    created = await service.create_organization(session, data)
    key = await service.create_api_key(session, created.id, ApiKeyCreate(name="test"))
    await session.commit()
    org = await session.get(Organization, created.id)
    assert org is not None
    return org, key.key
