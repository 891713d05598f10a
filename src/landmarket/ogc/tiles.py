"""Mapbox vector tiles of a collection in WebMercatorQuad, built by PostGIS (ST_AsMVT).

The tile envelope is transformed to the storage CRS (the constant side) so the GiST index on
the stored geometry picks the candidates; only those are projected to Web Mercator.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from geoalchemy2 import functions as gf
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    LargeBinary,
    Select,
    Text,
    Uuid,
    bindparam,
    cast,
    func,
    select,
)

from landmarket.core.errors import BadRequest, FieldError, NotFound
from landmarket.db import reads
from landmarket.db.base import STORAGE_SRID
from landmarket.db.readpool import ReadPool
from landmarket.ogc.collections import COLLECTIONS, Collection
from landmarket.ogc.crs import once
from landmarket.ogc.repository import Query, constant

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 24
EXTENT = 4096
BUFFER = 64
# Web Mercator world extent in metres.
HALF_WORLD = 20037508.342789244
# The storage CRS (UTM 32N) is only meaningful near Germany; a world-sized tile envelope is
# clipped to this lon/lat window before it is projected, so low zooms cannot blow up PROJ.
CLIP_LONLAT = (-10.0, 35.0, 30.0, 72.0)


def tile_address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Path segments -> integers: malformed 400, outside the tile matrix 404 (OGC API Tiles)."""
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except ValueError:
        raise BadRequest(
            "tileMatrix, tileRow and tileCol must be integers",
            errors=[FieldError(pointer="/path", detail=f"{z}/{y}/{x}")],
        ) from None
    if not 0 <= zi <= MAX_ZOOM:
        raise NotFound(f"tile matrix {zi} does not exist in {TMS_ID} (0-{MAX_ZOOM})")
    if not (0 <= xi < 2**zi and 0 <= yi < 2**zi):
        raise NotFound(f"tile {zi}/{yi}/{xi} lies outside tile matrix {zi}")
    return zi, xi, yi


def _mvt_value(collection: Collection, name: str) -> ColumnElement[Any]:
    column = collection.table.c[name]
    if isinstance(column.type, (Date, Uuid)):
        return cast(column, Text).label(name)
    return column.label(name)


def tile_query(collection: Collection, z: int, x: int, y: int) -> Query:
    size = 2 * HALF_WORLD / 2**z
    params = {
        "z": z,
        "x": x,
        "y": y,
        # Margin of the MVT buffer, so features just outside are still clipped consistently.
        "margin": BUFFER / EXTENT * size,
        # The search box is densified before it is projected to the storage CRS.
        "step": size / 16,
    }
    return Query(_tile_statement(collection.id), params)


@lru_cache(maxsize=8)
def _tile_statement(collection_id: str) -> Select[Any]:
    """One statement per collection (built once, see ``repository``); the tile is a parameter."""
    collection = COLLECTIONS[collection_id]
    z, x, y = (bindparam(name, type_=Integer) for name in ("z", "x", "y"))
    bounds = once(func.ST_TileEnvelope(z, x, y))
    clip = func.ST_Transform(func.ST_MakeEnvelope(*CLIP_LONLAT, 4326), 3857)
    search = gf.ST_Transform(
        func.ST_Segmentize(
            func.ST_Intersection(func.ST_Expand(bounds, bindparam("margin", type_=Float)), clip),
            bindparam("step", type_=Float),
        ),
        STORAGE_SRID,
    )
    rows = (
        select(
            func.ST_AsMVTGeom(
                gf.ST_Transform(collection.geometry, 3857), bounds, EXTENT, BUFFER, True
            ).label("geom"),
            cast(collection.id_expr, Text).label("id"),
            *(_mvt_value(collection, name) for name in collection.tile_properties),
        )
        .where(collection.base, func.ST_Intersects(collection.geometry, once(search)))
        .subquery("t")
    )
    layer = constant(collection.id)
    return select(cast(func.ST_AsMVT(rows.table_valued(), layer, EXTENT, "geom"), LargeBinary))


async def tile(pool: ReadPool, collection: Collection, z: int, x: int, y: int) -> bytes:
    query = tile_query(collection, z, x, y)
    data = await reads.scalar(pool, query.statement, query.params)
    return bytes(data or b"")


# Published plots change while a map is open, so caches keep a tile briefly and then ask
# again with If-None-Match; an unchanged tile is answered 304 without its body.
CACHE_CONTROL = "public, max-age=60, must-revalidate"


def etag(data: bytes) -> str:
    """A strong validator from the tile's bytes (the same rows give the same bytes)."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def not_modified(if_none_match: str | None, current: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against each listed tag, or ``*``."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or current in tags
