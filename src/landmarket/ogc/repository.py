"""SQL of the OGC endpoints: features are built as GeoJSON text in PostGIS.

Python only joins the feature texts of a page and wraps them in the collection's members;
it never parses or re-encodes a feature.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, DateTime, Select, Text, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import Crs
from landmarket.ogc.collections import Collection
from landmarket.ogc.crs import envelope, geometry_json, once

_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _json_value(collection: Collection, name: str) -> ColumnElement[Any]:
    column = collection.table.c[name]
    if isinstance(column.type, DateTime):
        # Fixed UTC rendering, independent of the session's TimeZone setting.
        return func.to_char(func.timezone("UTC", column), _ISO_UTC)
    return column


def feature_text(collection: Collection, crs: Crs) -> ColumnElement[str]:
    pairs: list[ColumnElement[Any]] = []
    for name in collection.properties:
        pairs += [literal(name), _json_value(collection, name)]
    feature = func.json_build_object(
        literal("type"),
        literal("Feature"),
        literal("id"),
        collection.id_expr,
        literal("geometry"),
        geometry_json(collection.geometry, crs),
        literal("properties"),
        func.json_build_object(*pairs),
    )
    return cast(feature, Text)


def conditions(
    collection: Collection,
    *,
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: Crs,
    interval: tuple[datetime | None, datetime | None] | None,
    properties: dict[str, Any],
    cql: ColumnElement[bool] | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [collection.base]
    if bbox is not None:
        # The box is transformed, never the column, so the GiST index answers.
        where.append(func.ST_Intersects(collection.geometry, once(envelope(bbox, bbox_crs))))
    if interval is not None:
        column = collection.table.c[collection.temporal]
        start, end = interval
        if start is not None:
            where.append(column >= start)
        if end is not None:
            where.append(column <= end)
    for name, value in properties.items():
        where.append(collection.queryables[name].expr == value)
    if cql is not None:
        where.append(cql)
    return where


def page_statement(
    collection: Collection,
    crs: Crs,
    where: Sequence[ColumnElement[bool]],
    *,
    after: Any | None,
    before: Any | None,
    limit: int,
) -> Select[tuple[Any, str]]:
    """Keyset page: one row more than asked tells whether another page follows."""
    key = collection.id_expr
    stmt = select(key.label("id"), feature_text(collection, crs).label("feature")).where(*where)
    if before is not None:
        return stmt.where(key < before).order_by(key.desc()).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(key > after)
    return stmt.order_by(key).limit(limit + 1)


async def fetch_page(conn: AsyncConnection, stmt: Select[tuple[Any, str]]) -> list[tuple[Any, str]]:
    return [(row[0], row[1]) for row in await conn.execute(stmt)]


async def stream_page(
    conn: AsyncConnection, stmt: Select[tuple[Any, str]], chunk: int
) -> AsyncIterator[list[tuple[Any, str]]]:
    """Rows from a server-side cursor, ``chunk`` at a time (large pages stay out of memory)."""
    result = await conn.stream(stmt.execution_options(yield_per=chunk))
    async for rows in result.partitions(chunk):
        yield [(row[0], row[1]) for row in rows]


async def count(
    conn: AsyncConnection, collection: Collection, where: Sequence[ColumnElement[bool]]
) -> int:
    stmt = select(func.count()).select_from(collection.table).where(*where)
    return int(await conn.scalar(stmt) or 0)


async def feature(conn: AsyncConnection, collection: Collection, key: Any, crs: Crs) -> str | None:
    stmt = select(feature_text(collection, crs)).where(collection.base, collection.id_expr == key)
    return await conn.scalar(stmt)


async def extent(conn: AsyncConnection, collection: Collection) -> list[float] | None:
    """The collection's CRS84 bounding box (ST_Extent reads only the bounding boxes)."""
    stored = func.ST_SetSRID(cast(func.ST_Extent(collection.geometry), Geometry), STORAGE_SRID)
    box = func.ST_Transform(func.ST_Segmentize(stored, 1000.0), 4326)
    stmt = select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
        collection.base
    )
    row = (await conn.execute(stmt)).one()
    if row[0] is None:
        return None
    return [round(float(v), 7) for v in row]
