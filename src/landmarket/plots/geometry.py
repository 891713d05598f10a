"""Plot geometry validation: the one place every plot geometry passes through.

Structure (types, ring closure, finite and in-range coordinates, vertex count) is checked in
Python so the database never sees a malformed document; validity, area and location are
checked in PostGIS. Pointers are relative to ``pointer`` so the bulk import can reuse this with
``/features/<i>/geometry``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import functions as gf
from sqlalchemy import ColumnElement, Float, Integer, String, bindparam, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import Crs
from landmarket.municipalities.models import Municipality

MAX_VERTICES = 10_000
MAX_AREA_M2 = 50_000_000.0
BOUNDARY_TOLERANCE_M = 500.0

_GEOGRAPHIC = (-180.0, -90.0, 180.0, 90.0)
_MERCATOR = 20_037_508.35
# Generous bounds per CRS: they catch garbage and wrong-CRS input early; placement is checked
# precisely against the municipality boundary afterwards.
_BOUNDS: dict[int, tuple[float, float, float, float]] = {
    4326: _GEOGRAPHIC,
    4258: _GEOGRAPHIC,
    25832: (-1_000_000.0, 0.0, 2_000_000.0, 10_000_000.0),
    25833: (-1_000_000.0, 0.0, 2_000_000.0, 10_000_000.0),
    31467: (2_000_000.0, 4_000_000.0, 5_000_000.0, 7_000_000.0),
    3857: (-_MERCATOR, -_MERCATOR, _MERCATOR, _MERCATOR),
}


@dataclass(frozen=True)
class CheckedGeometry:
    """A validated geometry, ready to store."""

    ewkb: bytes  # MultiPolygon in EPSG:25832
    area_m2: float
    municipality_ags: str
    # ST_IsValidReason of the input when it was repaired, else None.
    repaired: str | None


def _fail(pointer: str, detail: str, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(
        message or f"Invalid geometry: {detail}",
        errors=[FieldError(pointer=pointer, detail=detail)],
    )


def check_structure(geometry: dict[str, Any], crs: Crs, pointer: str) -> None:
    """GeoJSON (Multi)Polygon structure, finite in-range coordinates, vertex count."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise _fail(f"{pointer}/type", "must be Polygon or MultiPolygon")
    base = f"{pointer}/coordinates"
    if not isinstance(coords, list) or not coords:
        raise _fail(base, "must be a non-empty array")
    polygons = (
        [(base, coords)]
        if kind == "Polygon"
        else [(f"{base}/{i}", p) for i, p in enumerate(coords)]
    )
    min_x, min_y, max_x, max_y = _BOUNDS.get(crs.srid, _GEOGRAPHIC)
    vertices = 0
    for poly_ptr, rings in polygons:
        if not isinstance(rings, list) or not rings:
            raise _fail(poly_ptr, "a polygon must be a non-empty array of rings")
        for r, ring in enumerate(rings):
            ring_ptr = f"{poly_ptr}/{r}"
            if not isinstance(ring, list) or len(ring) < 4:
                raise _fail(ring_ptr, "a ring needs at least 4 positions")
            for p, pos in enumerate(ring):
                pos_ptr = f"{ring_ptr}/{p}"
                if (
                    not isinstance(pos, list)
                    or not 2 <= len(pos) <= 3
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
                ):
                    raise _fail(pos_ptr, "a position is an array of 2 or 3 numbers")
                x, y = float(pos[0]), float(pos[1])
                if not (math.isfinite(x) and math.isfinite(y)):
                    raise _fail(pos_ptr, "coordinates must be finite numbers")
                if not (min_x <= x <= max_x and min_y <= y <= max_y):
                    raise _fail(
                        pos_ptr,
                        f"({x}, {y}) is outside the valid range of {crs.label} "
                        f"(x {min_x}..{max_x}, y {min_y}..{max_y}); check the axis order "
                        "and the Content-Crs header",
                    )
            if ring[0][:2] != ring[-1][:2]:
                raise _fail(ring_ptr, "a ring must be closed (first position = last position)")
            vertices += len(ring)
    if vertices > MAX_VERTICES:
        raise _fail(
            f"{pointer}/coordinates", f"{vertices} vertices; at most {MAX_VERTICES} are allowed"
        )


def _located(point: ColumnElement[Any]) -> Any:
    """The municipality whose boundary contains the point (GiST-indexed)."""
    return (
        select(Municipality.ags, Municipality.name)
        .where(func.ST_Intersects(Municipality.boundary, point))
        .order_by(Municipality.ags)
        .limit(1)
        .lateral("located")
    )


async def check_geometry(
    session: AsyncSession,
    geometry: dict[str, Any],
    crs: Crs,
    *,
    municipality_ags: str | None,
    repair: bool,
    pointer: str = "/body/geometry",
    ags_pointer: str = "/body/properties/municipality_ags",
) -> CheckedGeometry:
    """Validate a GeoJSON geometry in ``crs`` and place it in a municipality.

    ``municipality_ags`` None means: derive it from where the plot's interior point lies.
    """
    check_structure(geometry, crs, pointer)
    # Heights (a third ordinate) are dropped: plots are stored in 2D.
    source = func.ST_SetSRID(
        func.ST_Force2D(func.ST_GeomFromGeoJSON(bindparam("geojson", json.dumps(geometry)))),
        crs.srid,
    )
    src = select(source.label("g")).cte("src")
    valid = func.ST_IsValid(src.c.g)
    fixed = select(
        valid.label("valid"),
        func.ST_IsValidReason(src.c.g).label("reason"),
        func.ST_Multi(
            gf.ST_Transform(func.ST_CollectionExtract(func.ST_MakeValid(src.c.g), 3), STORAGE_SRID)
            if repair
            else gf.ST_Transform(src.c.g, STORAGE_SRID)
        ).label("g"),
    ).cte("fixed")
    point = select(
        fixed.c.valid,
        fixed.c.reason,
        fixed.c.g,
        func.ST_PointOnSurface(fixed.c.g).label("p"),
    ).cte("placed")
    located = _located(point.c.p)
    target = bindparam("target", municipality_ags, type_=String(8))
    within_target = (
        select(func.ST_DWithin(Municipality.boundary, point.c.p, BOUNDARY_TOLERANCE_M))
        .where(Municipality.ags == target)
        .scalar_subquery()
    )
    target_name = select(Municipality.name).where(Municipality.ags == target).scalar_subquery()
    stmt = select(
        point.c.valid,
        point.c.reason,
        func.ST_AsEWKB(point.c.g).label("ewkb"),
        func.ST_IsEmpty(point.c.g).label("empty"),
        func.ST_Area(point.c.g, type_=Float).label("area"),
        func.ST_NPoints(point.c.g, type_=Integer).label("npoints"),
        located.c.ags.label("located_ags"),
        located.c.name.label("located_name"),
        within_target.label("within_target"),
        target_name.label("target_name"),
    ).select_from(point.outerjoin(located, literal(True)))
    try:
        async with session.begin_nested():
            row = (await session.execute(stmt)).one()
    except DBAPIError as exc:
        # Valid GeoJSON can still defeat the projection (e.g. far outside the CRS's area).
        raise _fail(pointer, "PostGIS could not read or transform this geometry") from exc

    if not row.valid and not repair:
        raise _fail(
            pointer,
            f"{row.reason}; send repair=true to have it repaired with ST_MakeValid",
            f"Invalid geometry: {row.reason}",
        )
    if row.empty or row.area is None or row.area <= 0:
        raise _fail(pointer, "the area is 0")
    if row.area > MAX_AREA_M2:
        raise _fail(
            pointer, f"the area is {row.area / 1e6:.2f} km²; at most {MAX_AREA_M2 / 1e6:g} km²"
        )
    if row.npoints > MAX_VERTICES:
        raise _fail(pointer, f"{row.npoints} vertices; at most {MAX_VERTICES} are allowed")
    where = (
        f"its interior point lies in {row.located_name} ({row.located_ags})"
        if row.located_ags
        else "its interior point lies in no known municipality; check the axis order "
        "(lon, lat) and the Content-Crs header"
    )
    if municipality_ags is None:
        if row.located_ags is None:
            raise ValidationFailed(
                "The municipality cannot be derived from the geometry",
                errors=[FieldError(pointer=ags_pointer, detail=f"required: {where}")],
            )
        ags = str(row.located_ags)
    else:
        if row.target_name is None:
            raise ValidationFailed(
                f"Unknown municipality {municipality_ags}",
                errors=[FieldError(pointer=ags_pointer, detail="no municipality with this AGS")],
            )
        if not row.within_target:
            raise _fail(
                pointer,
                f"the plot is not in {row.target_name} ({municipality_ags}) "
                f"(tolerance {BOUNDARY_TOLERANCE_M:g} m): {where}",
                f"The plot lies outside {row.target_name}: {where}",
            )
        ags = municipality_ags
    return CheckedGeometry(
        ewkb=bytes(row.ewkb),
        area_m2=float(row.area),
        municipality_ags=ags,
        repaired=None if row.valid else str(row.reason),
    )


def geometry_value(ewkb: bytes) -> ColumnElement[Any]:
    """A checked geometry as an SQL value for insert/update."""
    return func.ST_GeomFromEWKB(bindparam("geom_ewkb", ewkb, type_=None))
