"""CRS handling of OGC API Features Part 2: axis order and the constant side of comparisons.

Part 2 says coordinates follow the axis order of the CRS: EPSG:4326 and EPSG:4258 are
latitude first, EPSG:31467 northing first, CRS84 and the projected UTM/Mercator CRS are
easting first. PostGIS always works x/y, so north-first CRS are flipped on the way out and
on the way in.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import functions as gf
from sqlalchemy import ColumnElement, Float, Text, bindparam, func, select

from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import (
    CRS84,
    EPSG_URI,
    STORAGE_WINDOW,
    SUPPORTED_CRS,
    Crs,
    bbox_envelope,
    envelope_sql,
    envelope_values,
)

NORTH_FIRST = frozenset(EPSG_URI.format(code) for code in (4326, 4258, 31467))
STORAGE_CRS_URI = EPSG_URI.format(STORAGE_SRID)
# Advertised per collection (storage CRS first after CRS84, the GeoJSON default).
OGC_CRS: tuple[str, ...] = (CRS84, *(u for u in SUPPORTED_CRS if u != CRS84))


def north_first(crs: Crs) -> bool:
    return crs.uri in NORTH_FIRST


def geometry_json(geom: ColumnElement[Any], crs: Crs) -> ColumnElement[Any]:
    """Stored geometry -> GeoJSON geometry text in ``crs`` and that CRS's axis order."""
    out: ColumnElement[Any] = geom if crs.srid == STORAGE_SRID else gf.ST_Transform(geom, crs.srid)
    if north_first(crs):
        out = func.ST_FlipCoordinates(out)
    return func.ST_AsGeoJSON(out, crs.decimals, 0, type_=Text)


def to_storage(geom: ColumnElement[Any], crs: Crs) -> ColumnElement[Any]:
    """A constant geometry given in ``crs`` -> storage CRS, so the column stays untouched and
    its GiST index usable.

    Clipped first to where the storage CRS is sound (``db.geo.STORAGE_WINDOW``, as boxes
    are): a point at 90°W was a PostGIS error (500) and a world polygon folded into a sliver
    that met no plot. Plots all lie inside, so the spatial predicates keep their answers; a
    geometry wholly outside becomes empty (intersects nothing, disjoint from everything).
    Densified like boxes, so straight edges in ``crs`` stay where they are after projecting.
    """
    if north_first(crs):
        geom = func.ST_FlipCoordinates(geom)
    geom = func.ST_SetSRID(geom, crs.srid)
    window = STORAGE_WINDOW.get(crs.srid)
    if crs.srid == STORAGE_SRID or window is None:
        return geom if crs.srid == STORAGE_SRID else gf.ST_Transform(geom, STORAGE_SRID)
    # ST_ClipByBox2D is fast and never fails; its output may be invalid, hence MakeValid.
    clipped = func.ST_MakeValid(func.ST_ClipByBox2D(geom, func.ST_MakeEnvelope(*window)))
    extent = func.greatest(
        func.ST_XMax(clipped) - func.ST_XMin(clipped), func.ST_YMax(clipped) - func.ST_YMin(clipped)
    )
    step = func.coalesce(func.nullif(extent / 32, 0.0), 1.0)
    return gf.ST_Transform(func.ST_Segmentize(clipped, step), STORAGE_SRID)


def once(geom: ColumnElement[Any]) -> ColumnElement[Any]:
    """A constant geometry as an uncorrelated scalar subquery: PostgreSQL computes it once per
    execution (an InitPlan). Inline, a cached generic plan of the prepared statement would
    re-run the projection for every candidate row."""
    return select(geom).scalar_subquery()


def envelope(bbox: tuple[float, float, float, float], crs: Crs) -> ColumnElement[Any]:
    """A bbox (x/y order already normalised) in ``crs`` -> a polygon in storage CRS."""
    return bbox_envelope(bbox, crs)


# Names of the bound parameters of ``bound_envelope``, in bbox order, and its densification step.
BBOX_PARAMS = ("bbox_min_x", "bbox_min_y", "bbox_max_x", "bbox_max_y")
BBOX_STEP = "bbox_step"


def bound_envelope(crs: Crs) -> ColumnElement[Any]:
    """``envelope`` with the clipped corners and the step as bound parameters (``BBOX_PARAMS``,
    ``BBOX_STEP``, from ``bbox_params``), for statements that are built once and run many
    times."""
    min_x, min_y, max_x, max_y = (bindparam(name, type_=Float) for name in BBOX_PARAMS)
    return envelope_sql(min_x, min_y, max_x, max_y, bindparam(BBOX_STEP, type_=Float), crs)


def bbox_params(bbox: tuple[float, float, float, float], crs: Crs) -> dict[str, float | None]:
    """``bound_envelope``'s values: the box clipped as ``db.geo.clip_bbox`` does (all None
    when nothing of it is left) and its step."""
    return dict(zip((*BBOX_PARAMS, BBOX_STEP), envelope_values(bbox, crs), strict=True))
