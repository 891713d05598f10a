"""Plot geometry validation: the one implementation of every geometry rule.

Single plots and bulk imports run the same code:

- ``structure_problem`` (Python): types, ring closure, finite and in-range coordinates, vertex
  count. It runs before PostGIS sees a geometry, because one malformed document would abort a
  whole set-based statement and PostGIS cannot point at the offending position.
- ``placement`` (one SQL statement over any set of rows with ``idx``, ``geojson`` and
  ``target`` columns): validity and its reason, repair, area, vertex count after repair, the
  municipality the interior point lies in, and whether it is within the tolerance of the
  target municipality. A single plot passes a one-row source, the bulk import its staging table.
- ``judge`` (Python): turns one placement row into the checked result or the failure.

Pointers are relative to ``pointer`` so the bulk import reports ``/features/<i>/geometry``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import functions as gf
from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import AXIS_ORDER_HINT, Crs, crs_bounds
from landmarket.db.session import is_transient
from landmarket.municipalities.models import Municipality

# The API takes LANDMARKET_MAX_GEOMETRY_VERTICES; callers without settings (demo, tools) this.
DEFAULT_MAX_VERTICES: int = Settings.model_fields["max_geometry_vertices"].default
MAX_AREA_M2 = 50_000_000.0
BOUNDARY_TOLERANCE_M = 500.0
UNREADABLE = "PostGIS could not read or transform this geometry"
_AXIS_HINT = f"{AXIS_ORDER_HINT} and the Content-Crs header"


@dataclass(frozen=True)
class GeometryProblem:
    """Why a geometry was rejected: ``detail`` for the pointer, ``message`` for the problem."""

    pointer: str
    detail: str
    message: str

    def error(self) -> ValidationFailed:
        return ValidationFailed(
            self.message, errors=[FieldError(pointer=self.pointer, detail=self.detail)]
        )


@dataclass(frozen=True)
class Placed:
    """A geometry that passed every rule (its stored form stays in SQL)."""

    municipality_ags: str
    area_m2: float
    # ST_IsValidReason of the input when it was repaired, else None.
    repaired: str | None


@dataclass(frozen=True)
class CheckedGeometry(Placed):
    """A validated single-plot geometry, ready to store."""

    ewkb: bytes  # MultiPolygon in EPSG:25832


def _problem(pointer: str, detail: str, message: str | None = None) -> GeometryProblem:
    return GeometryProblem(pointer, detail, message or f"Invalid geometry: {detail}")


def structure_problem(
    geometry: Any, crs: Crs, pointer: str, *, max_vertices: int
) -> GeometryProblem | None:
    """GeoJSON (Multi)Polygon structure, finite in-range coordinates, vertex count."""
    if not isinstance(geometry, dict):
        return _problem(pointer, "must be a GeoJSON Polygon or MultiPolygon object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        return _problem(f"{pointer}/type", "must be Polygon or MultiPolygon")
    base = f"{pointer}/coordinates"
    if not isinstance(coords, list) or not coords:
        return _problem(base, "must be a non-empty array")
    polygons = (
        [(base, coords)]
        if kind == "Polygon"
        else [(f"{base}/{i}", p) for i, p in enumerate(coords)]
    )
    min_x, min_y, max_x, max_y = crs_bounds(crs)
    vertices = 0
    for poly_ptr, rings in polygons:
        if not isinstance(rings, list) or not rings:
            return _problem(poly_ptr, "a polygon must be a non-empty array of rings")
        for r, ring in enumerate(rings):
            ring_ptr = f"{poly_ptr}/{r}"
            if not isinstance(ring, list) or len(ring) < 4:
                return _problem(ring_ptr, "a ring needs at least 4 positions")
            for p, pos in enumerate(ring):
                pos_ptr = f"{ring_ptr}/{p}"
                if (
                    not isinstance(pos, list)
                    or not 2 <= len(pos) <= 3
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
                ):
                    return _problem(pos_ptr, "a position is an array of 2 or 3 numbers")
                x, y = float(pos[0]), float(pos[1])
                if not (math.isfinite(x) and math.isfinite(y)):
                    return _problem(pos_ptr, "coordinates must be finite numbers")
                if not (min_x <= x <= max_x and min_y <= y <= max_y):
                    return _problem(
                        pos_ptr,
                        f"({x}, {y}) is outside the valid range of {crs.label} "
                        f"(x {min_x}..{max_x}, y {min_y}..{max_y}); check the axis order "
                        "and the Content-Crs header",
                    )
            if ring[0][:2] != ring[-1][:2]:
                return _problem(ring_ptr, "a ring must be closed (first position = last position)")
            vertices += len(ring)
    if vertices > max_vertices:
        return _too_many_vertices(base, vertices, max_vertices)
    return None


def _too_many_vertices(pointer: str, vertices: int, max_vertices: int) -> GeometryProblem:
    return _problem(
        pointer,
        f"{vertices} vertices; at most {max_vertices} are allowed "
        "(LANDMARKET_MAX_GEOMETRY_VERTICES); simplify the geometry",
    )


def check_structure(geometry: dict[str, Any], crs: Crs, pointer: str, *, max_vertices: int) -> None:
    problem = structure_problem(geometry, crs, pointer, max_vertices=max_vertices)
    if problem is not None:
        raise problem.error()


def _located(point: ColumnElement[Any], name: str = "located") -> Any:
    """The municipality whose boundary contains the point (GiST-indexed)."""
    return (
        select(Municipality.ags, Municipality.name)
        .where(func.ST_Intersects(Municipality.boundary, point))
        .order_by(Municipality.ags)
        .limit(1)
        .lateral(name)
    )


def _covered(boundary: ColumnElement[Any], part: ColumnElement[Any]) -> ColumnElement[bool]:
    """The part lies within the boundary or at most BOUNDARY_TOLERANCE_M beyond it. Most
    parts lie inside (a prepared ST_Covers, cached across rows of one municipality); only the
    others pay for a buffer, of the boundary's neighbourhood of the part rather than all of it."""
    reach = func.ST_Expand(part, BOUNDARY_TOLERANCE_M * 1.1)
    near = func.ST_Buffer(func.ST_Intersection(boundary, reach), BOUNDARY_TOLERANCE_M)
    return or_(func.ST_Covers(boundary, part), func.ST_Covers(near, part))


def _stray_part(geom: ColumnElement[Any], owner: ColumnElement[Any], *, valid: Any) -> Any:
    """The first part (1-based) of ``geom`` not within the owner's municipality (tolerance
    included), and its interior point. Each part of a MultiPolygon is checked on its own: one
    outside part is not excused by the others (its interior point lying elsewhere)."""
    series = (
        func.generate_series(1, func.ST_NumGeometries(geom))
        .table_valued("n")
        .render_derived("parts")
    )
    n = series.c.n
    part = func.ST_GeometryN(geom, n)
    owner_row = Municipality.__table__
    stmt = (
        select(n.label("n"), func.ST_PointOnSurface(part).label("p"))
        .select_from(series.join(owner_row, owner_row.c.ags == owner))
        .where(not_(_covered(owner_row.c.boundary, part)))
    )
    if valid is not None:
        stmt = stmt.where(valid)  # an invalid geometry is refused anyway, unread by GEOS
    return stmt.order_by(n).limit(1).lateral("stray")


def placement(source: FromClause, srid: int, *, repair: bool) -> Select[Any]:
    """Per source row (``idx``, ``geojson`` text, ``target`` AGS or NULL): the stored geometry
    (``geom``) and everything ``judge`` needs. Works for one row and for ten thousand."""
    # Heights (a third ordinate) are dropped: plots are stored in 2D.
    parsed = func.ST_SetSRID(func.ST_Force2D(func.ST_GeomFromGeoJSON(source.c.geojson)), srid)
    src = select(source.c.idx, source.c.target, parsed.label("g")).cte("src")
    stored = func.ST_CollectionExtract(func.ST_MakeValid(src.c.g), 3) if repair else src.c.g
    fixed = select(
        src.c.idx,
        src.c.target,
        func.ST_IsValid(src.c.g).label("valid"),
        func.ST_IsValidReason(src.c.g).label("reason"),
        func.ST_Multi(gf.ST_Transform(stored, STORAGE_SRID)).label("g"),
    ).cte("fixed")
    point = select(fixed, func.ST_PointOnSurface(fixed.c.g).label("p")).cte("placed")
    located = _located(point.c.p)
    within_target = (
        select(func.ST_DWithin(Municipality.boundary, point.c.p, BOUNDARY_TOLERANCE_M))
        .where(Municipality.ags == point.c.target)
        .scalar_subquery()
    )
    target_name = (
        select(Municipality.name).where(Municipality.ags == point.c.target).scalar_subquery()
    )
    owner = func.coalesce(point.c.target, located.c.ags)
    stray = _stray_part(point.c.g, owner, valid=None if repair else point.c.valid)
    stray_located = _located(stray.c.p, "stray_located")
    return select(
        point.c.idx,
        point.c.target,
        point.c.valid,
        point.c.reason,
        point.c.g.label("geom"),
        func.ST_IsEmpty(point.c.g).label("empty"),
        func.ST_Area(point.c.g, type_=Float).label("area"),
        func.ST_NPoints(point.c.g, type_=Integer).label("npoints"),
        located.c.ags.label("located_ags"),
        located.c.name.label("located_name"),
        within_target.label("within_target"),
        target_name.label("target_name"),
        func.ST_NumGeometries(point.c.g, type_=Integer).label("parts"),
        stray.c.n.label("stray_part"),
        stray_located.c.ags.label("stray_ags"),
        stray_located.c.name.label("stray_name"),
    ).select_from(
        point.outerjoin(located, literal(True))
        .outerjoin(stray, literal(True))
        .outerjoin(stray_located, literal(True))
    )


def judge(
    row: Any,
    *,
    repair: bool,
    pointer: str,
    ags_pointer: str,
    max_vertices: int,
) -> Placed | GeometryProblem:
    """The verdict on one ``placement`` row: the rules that need PostGIS's answers."""
    if not row.valid and not repair:
        return _problem(
            pointer,
            f"{row.reason}; send repair=true to have it repaired with ST_MakeValid",
            f"Invalid geometry: {row.reason}",
        )
    if row.empty or row.area is None or row.area <= 0:
        return _problem(pointer, "the area is 0")
    if row.area > MAX_AREA_M2:
        return _problem(
            pointer, f"the area is {row.area / 1e6:.2f} km²; at most {MAX_AREA_M2 / 1e6:g} km²"
        )
    if row.npoints > max_vertices:
        # ST_MakeValid can add vertices, so the repaired geometry is counted again.
        return _too_many_vertices(pointer, row.npoints, max_vertices)
    where = (
        f"its interior point lies in {row.located_name} ({row.located_ags})"
        if row.located_ags
        else f"its interior point lies in no known municipality; {_AXIS_HINT}"
    )
    if row.target is None:
        if row.located_ags is None:
            return GeometryProblem(
                ags_pointer,
                f"required: {where}",
                "The municipality cannot be derived from the geometry",
            )
        ags = str(row.located_ags)
    else:
        if row.target_name is None:
            return GeometryProblem(
                ags_pointer, "no municipality with this AGS", f"Unknown municipality {row.target}"
            )
        if not row.within_target:
            return _problem(
                pointer,
                f"the plot is not in {row.target_name} ({row.target}) "
                f"(tolerance {BOUNDARY_TOLERANCE_M:g} m): {where}",
                f"The plot lies outside {row.target_name}: {where}",
            )
        ags = str(row.target)
    if row.stray_part is not None:
        return _stray_problem(row, ags, pointer)
    return Placed(
        municipality_ags=ags,
        area_m2=float(row.area),
        repaired=None if row.valid else str(row.reason),
    )


def _stray_problem(row: Any, ags: str, pointer: str) -> GeometryProblem:
    """A part of the plot lies outside its municipality (beyond the tolerance)."""
    name = row.target_name if row.target is not None else row.located_name
    n, parts = int(row.stray_part), int(row.parts)
    if row.stray_ags == ags:
        where = f"it reaches more than {BOUNDARY_TOLERANCE_M:g} m beyond the boundary"
    elif row.stray_ags:
        where = f"its interior point lies in {row.stray_name} ({row.stray_ags})"
    else:
        where = f"its interior point lies in no known municipality; {_AXIS_HINT}"
    which = f"part {n} of {parts}" if parts > 1 else "the plot"
    # Part n is coordinates/n-1 of the document as sent (a repair may regroup the parts).
    at = f"{pointer}/coordinates/{n - 1}" if parts > 1 and row.valid else pointer
    return _problem(
        at,
        f"{which} is not in {name} ({ags}) (tolerance {BOUNDARY_TOLERANCE_M:g} m): {where}",
        f"The plot lies outside {name}: {which}: {where}",
    )


async def check_geometry(
    session: AsyncSession,
    geometry: dict[str, Any],
    crs: Crs,
    *,
    municipality_ags: str | None,
    repair: bool,
    max_vertices: int,
    pointer: str = "/body/geometry",
    ags_pointer: str = "/body/properties/municipality_ags",
) -> CheckedGeometry:
    """Validate one GeoJSON geometry in ``crs`` and place it in a municipality.

    ``municipality_ags`` None means: derive it from where the plot's interior point lies.
    """
    check_structure(geometry, crs, pointer, max_vertices=max_vertices)
    one_row = select(
        literal(0).label("idx"),
        bindparam("geojson", json.dumps(geometry), type_=Text).label("geojson"),
        bindparam("target", municipality_ags, type_=String(8)).label("target"),
    ).subquery("one_plot")
    placed = placement(one_row, crs.srid, repair=repair).subquery("placed_plot")
    stmt = select(placed, func.ST_AsEWKB(placed.c.geom).label("ewkb"))
    try:
        async with session.begin_nested():
            row = (await session.execute(stmt)).one()
    except DBAPIError as exc:
        if is_transient(exc):
            raise  # timeout or outage: a 503, not the client's geometry
        # Valid GeoJSON can still defeat the projection (e.g. far outside the CRS's area).
        raise _problem(pointer, UNREADABLE).error() from exc
    verdict = judge(
        row, repair=repair, pointer=pointer, ags_pointer=ags_pointer, max_vertices=max_vertices
    )
    if isinstance(verdict, GeometryProblem):
        raise verdict.error()
    return CheckedGeometry(
        municipality_ags=verdict.municipality_ags,
        area_m2=verdict.area_m2,
        repaired=verdict.repaired,
        ewkb=bytes(row.ewkb),
    )


def geometry_value(ewkb: bytes) -> ColumnElement[Any]:
    """A checked geometry as an SQL value for insert/update."""
    return func.ST_GeomFromEWKB(bindparam("geom_ewkb", ewkb, type_=None))
