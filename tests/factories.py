"""Small async helpers that put rows in the database for tests. Each one commits, so the
HTTP client (another connection) sees the rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth import service
from landmarket.auth.models import Organization, OrgKind
from landmarket.auth.schemas import ApiKeyCreate, OrganizationCreate
from landmarket.db.base import STORAGE_SRID
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.plots.models import Plot
from landmarket.requirements import service as requirements
from landmarket.requirements.schemas import RequirementCreate

# Near Frankfurt am Main in EPSG:25832 (metres).
_ORIGIN_X, _ORIGIN_Y = 470_000, 5_540_000
_SIDE = 1_000


def _cell_origin(ags: str) -> tuple[int, int]:
    cell = int(ags[2:]) % 2500
    return _ORIGIN_X + (cell % 50) * 2 * _SIDE, _ORIGIN_Y + (cell // 50) * 2 * _SIDE


def default_square(ags: str) -> str:
    """A 1 km square on a 50 x 50 grid of cells 2 km apart, placed by the district and
    municipality digits of the AGS, so e.g. 06412000 and 06413000 get disjoint squares
    (cells repeat only when those six digits are equal modulo 2,500)."""
    x0, y0 = _cell_origin(ags)
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


async def make_plot(
    session: AsyncSession,
    ags: str,
    *,
    dx: float = 100,
    dy: float = 100,
    side: float = 100,
    **columns: Any,
) -> uuid.UUID:
    """A square plot ``side`` metres wide, ``dx``/``dy`` metres into the municipality's
    :func:`default_square`; a published GE brownfield unless ``columns`` say otherwise."""
    x0, y0 = _cell_origin(ags)
    x, y = x0 + dx, y0 + dy
    values: dict[str, Any] = {
        "municipality_ags": ags,
        "external_id": uuid.uuid4().hex,
        "title": "Plot",
        "status": "published",
        "published_at": func.now(),
        "zoning": "GE",
        "category": "brownfield",
        "geom": func.ST_Multi(func.ST_MakeEnvelope(x, y, x + side, y + side, STORAGE_SRID)),
    } | columns
    plot_id = await session.scalar(insert(Plot).values(**values).returning(Plot.id))
    await session.commit()
    assert plot_id is not None
    return plot_id


async def make_requirement(session: AsyncSession, company_key: str, **fields: Any) -> uuid.UUID:
    """A requirement of the company behind ``company_key``, created by the service (so its
    matches are computed); ``fields`` override a 1,000-20,000 m² GE-compatible search."""
    principal = await service.authenticate(session, company_key)
    body = RequirementCreate.model_validate(
        {
            "title": "Assembly hall",
            "area_min_m2": 1_000,
            "area_max_m2": 20_000,
            "emission_class": "not_substantially_annoying",
        }
        | fields
    )
    created = await requirements.create(session, principal, body)
    await session.commit()
    return created.requirement.id
