"""SQL for requirements. Row-level access lives here: only the owning company and admins
ever select a requirement (everyone else gets None, i.e. 404)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from geoalchemy2 import functions as gf
from sqlalchemy import (
    ColumnElement,
    String,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.principal import AuthPrincipal
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import DEFAULT_CRS, STORAGE_AREA_LONLAT, WORLD, geojson_out
from landmarket.municipalities.models import Municipality
from landmarket.requirements.models import Requirement, RequirementStatus, visible_to


def geometry_in(geojson: dict[str, Any], name: str, *, multi: bool) -> ColumnElement[Any]:
    """GeoJSON in lon/lat -> storage CRS, as a bound parameter."""
    parsed = func.ST_SetSRID(func.ST_GeomFromGeoJSON(bindparam(name, json.dumps(geojson))), 4326)
    out = gf.ST_Transform(parsed, STORAGE_SRID)
    return func.ST_Multi(out) if multi else out


@dataclass(frozen=True)
class AreaCheck:
    valid: bool
    reason: str
    area_m2: float


def _lonlat(geojson: dict[str, Any], name: str) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_GeomFromGeoJSON(bindparam(name, json.dumps(geojson))), 4326)


async def check_area(session: AsyncSession, geojson: dict[str, Any]) -> AreaCheck:
    # Checked in lon/lat (area on the spheroid): an area far from Europe is refused by
    # reaches_scope, and projecting it to storage CRS first would fail (a 500).
    g = _lonlat(geojson, "area_geojson")
    area = func.ST_Area(cast(g, Geography))
    row = (await session.execute(select(func.ST_IsValid(g), func.ST_IsValidReason(g), area))).one()
    return AreaCheck(valid=bool(row[0]), reason=str(row[1]), area_m2=float(row[2] or 0.0))


async def reaches_a_municipality(
    session: AsyncSession, geojson: dict[str, Any], name: str, *, within_m: float
) -> bool:
    """Whether a lon/lat geometry lies within ``within_m`` metres of a known municipality
    (GiST-indexed). Outside the storage CRS's area of use it cannot, and it is never
    projected there, where PostGIS would fail (a 500 before)."""
    lonlat = _lonlat(geojson, name)
    area = func.ST_MakeEnvelope(*STORAGE_AREA_LONLAT, 4326)
    if not await session.scalar(select(func.ST_CoveredBy(lonlat, area))):
        return False
    near = func.ST_DWithin(Municipality.boundary, geometry_in(geojson, name, multi=False), within_m)
    return (await session.scalar(select(Municipality.ags).where(near).limit(1))) is not None


async def unknown_municipalities(session: AsyncSession, ags: Sequence[str]) -> set[str]:
    listed = bindparam("ags_list", list(ags), type_=ARRAY(String(8)))
    found = await session.scalars(select(Municipality.ags).where(Municipality.ags == any_(listed)))
    return set(ags) - set(found)


def _world() -> ColumnElement[Any]:
    return func.ST_MakeEnvelope(*WORLD, STORAGE_SRID)


async def insert_requirement(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID:
    # The real search box is computed by matching right after, from the stored location.
    stmt = insert(Requirement).values(**values, search_box=_world()).returning(Requirement.id)
    rid = await session.scalar(stmt)
    assert rid is not None
    return rid


async def update_requirement(
    session: AsyncSession, rid: uuid.UUID, expected_version: int, values: dict[str, Any]
) -> int | None:
    """Compare-and-set on the version: the new version, or None when someone else won."""
    stmt = (
        update(Requirement)
        .where(Requirement.id == rid, Requirement.version == expected_version)
        .values(**values, version=Requirement.version + 1, updated_at=func.now())
        .returning(Requirement.version)
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(stmt)


def _read_select() -> Any:
    return select(
        Requirement,
        geojson_out(Requirement.anchor, DEFAULT_CRS).label("anchor_json"),
        geojson_out(Requirement.area, DEFAULT_CRS).label("area_json"),
    ).execution_options(populate_existing=True)


@dataclass(frozen=True)
class Stored:
    requirement: Requirement
    anchor: dict[str, Any] | None
    area: dict[str, Any] | None


async def get_visible(
    session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID, *, lock: bool = False
) -> Stored | None:
    stmt = _read_select().where(Requirement.id == rid, visible_to(principal))
    if lock:
        stmt = stmt.with_for_update(of=Requirement)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else Stored(row[0], row[1], row[2])


async def get_locked(session: AsyncSession, rid: uuid.UUID) -> Stored | None:
    """Any requirement, locked, whoever asks: for operator paths (erasing a company) that
    have already decided who may act."""
    stmt = _read_select().where(Requirement.id == rid).with_for_update(of=Requirement)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else Stored(row[0], row[1], row[2])


async def list_visible(
    session: AsyncSession,
    principal: AuthPrincipal,
    *,
    status: Sequence[RequirementStatus],
    after: uuid.UUID | None,
    limit: int,
) -> list[Stored]:
    stmt = _read_select().where(visible_to(principal))
    if status:
        stmt = stmt.where(Requirement.status.in_(list(status)))
    if after is not None:
        stmt = stmt.where(Requirement.id > after)
    rows = (await session.execute(stmt.order_by(Requirement.id).limit(limit + 1))).all()
    return [Stored(r[0], r[1], r[2]) for r in rows]
