"""SQL of the OGC endpoints: features are built as GeoJSON text in PostGIS.

Python only joins the feature texts of a page and wraps them in the collection's members;
it never parses or re-encodes a feature.

Statements are built once per shape (collection, output CRS, which filters, paging direction)
with named bound parameters and kept; a request only supplies the values. Building and
hashing a fresh statement of some hundred elements cost more than running it, while a kept
statement's compiled SQL is found by its memoized cache key and the driver reuses the server's
prepared statement. A CQL2 filter has the shape of its text, so a statement with one is built
per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, reduce
from typing import Any, Literal

from geoalchemy2 import Geometry
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from landmarket.db import reads
from landmarket.db.base import STORAGE_SRID
from landmarket.db.geo import Crs, json_properties
from landmarket.db.readpool import ReadPool
from landmarket.ogc import cql2
from landmarket.ogc.collections import COLLECTIONS, Collection
from landmarket.ogc.crs import bbox_params, bound_envelope, geometry_json, once

Direction = Literal["first", "after", "before"]


@dataclass(frozen=True)
class Query:
    """A (kept) statement and this request's values for its bound parameters."""

    statement: Select[Any]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cql:
    """A CQL2 filter as the client sent it. Its literals become bound parameters holding
    their values, so one filter text is one shape and its statement is kept like the others
    (a client paging through a filtered collection sends the same text again and again)."""

    text: str
    lang: str
    crs: Crs


@dataclass(frozen=True)
class Filters:
    """Which filters an items request has, not their values (except a CQL2 filter's): with
    the collection, the output CRS and the paging direction this picks the kept statement."""

    bbox_crs: Crs | None = None  # None: no bbox
    since: bool = False
    until: bool = False
    properties: tuple[str, ...] = ()
    cql: Cql | None = None


@dataclass(frozen=True)
class Where:
    """An items request's filters: their shape and the values of their bound parameters."""

    filters: Filters
    params: dict[str, Any]


def _fragment(text: str) -> ColumnElement[str]:
    # Fixed text from this code (JSON punctuation, member names), written into the SQL rather
    # than sent as a parameter with every execution. The check is a real one (an assert is
    # gone under ``python -O``): a quote would end the literal (and a NUL cannot be sent).
    if "'" in text or "\x00" in text:
        raise ValueError(f"not a fixed SQL text fragment: {text!r}")
    return literal_column(f"'{text}'", Text)


def constant(text: str) -> ColumnElement[str]:
    """A key of a JSON object: a fixed identifier from collections.py."""
    if not text.isidentifier():
        raise ValueError(f"not an identifier: {text!r}")
    return _fragment(text)


def built_properties(collection: Collection) -> ColumnElement[Any]:
    """The properties object built from the columns (what a stored one must equal)."""
    return json_properties(collection.table, collection.properties, constant)


def _properties(collection: Collection) -> ColumnElement[Any]:
    if collection.stored_properties is not None:
        return collection.table.c[collection.stored_properties]
    return built_properties(collection)


def feature_text(collection: Collection, crs: Crs) -> ColumnElement[str]:
    """The feature as GeoJSON text. Concatenated rather than built with json_build_object:
    the properties object (stored, for plots) and the geometry text are used as they are,
    where json_build_object would check each again."""
    parts = [
        _fragment('{"type":"Feature","id":'),
        cast(func.to_json(collection.id_expr), Text),
        _fragment(',"geometry":'),
        geometry_json(collection.geometry, crs),
        _fragment(',"properties":'),
        cast(_properties(collection), Text),
        _fragment("}"),
    ]
    return type_coerce(reduce(lambda a, b: a.op("||")(b), parts), Text)


def where(
    collection: Collection,
    *,
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: Crs,
    interval: tuple[datetime | None, datetime | None] | None,
    properties: dict[str, Any],
    cql: Cql | None,
) -> Where:
    """The filters of an items request; a malformed CQL2 filter is a 400 here."""
    if cql is not None:
        _cql(collection.id, cql)
    since, until = interval or (None, None)
    params: dict[str, Any] = {f"p_{name}": value for name, value in properties.items()}
    if bbox is not None:
        params.update(bbox_params(bbox, bbox_crs))
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    filters = Filters(
        bbox_crs=bbox_crs if bbox is not None else None,
        since=since is not None,
        until=until is not None,
        properties=tuple(sorted(properties)),
        cql=cql,
    )
    return Where(filters, params)


def conditions(collection: Collection, where: Where) -> list[ColumnElement[bool]]:
    """The WHERE clause of ``where`` (with bound parameters named as in ``where.params``)."""
    return list(_conditions(collection.id, where.filters))


@lru_cache(maxsize=128)
def _cql(collection_id: str, cql: Cql) -> ColumnElement[bool]:
    return cql2.to_sql(cql.text, cql.lang, COLLECTIONS[collection_id], cql.crs)


@lru_cache(maxsize=256)
def _conditions(collection_id: str, filters: Filters) -> tuple[ColumnElement[bool], ...]:
    collection = COLLECTIONS[collection_id]
    out: list[ColumnElement[bool]] = [collection.base]
    if filters.bbox_crs is not None:
        # The box is transformed, never the column, so the GiST index answers.
        box = once(bound_envelope(filters.bbox_crs))
        out.append(func.ST_Intersects(collection.geometry, box))
    temporal = collection.table.c[collection.temporal]
    if filters.since:
        out.append(temporal >= bindparam("since", type_=temporal.type))
    if filters.until:
        out.append(temporal <= bindparam("until", type_=temporal.type))
    for name in filters.properties:
        expr = collection.queryables[name].expr
        out.append(expr == bindparam(f"p_{name}", type_=expr.type))
    if filters.cql is not None:
        out.append(_cql(collection_id, filters.cql))
    return tuple(out)


def page(
    collection: Collection,
    crs: Crs,
    where: Where,
    *,
    after: Any | None,
    before: Any | None,
    limit: int,
) -> Query:
    """Keyset page: one row more than asked tells whether another page follows."""
    params = {**where.params, "limit": limit + 1}
    direction: Direction = "first"
    if before is not None:
        direction, params["before"] = "before", before
    elif after is not None:
        direction, params["after"] = "after", after
    return Query(_page(collection.id, crs, where.filters, direction), params)


@lru_cache(maxsize=256)
def _page(collection_id: str, crs: Crs, filters: Filters, direction: Direction) -> Select[Any]:
    collection = COLLECTIONS[collection_id]
    return _page_statement(collection, crs, _conditions(collection_id, filters), direction)


def _page_statement(
    collection: Collection,
    crs: Crs,
    where: Sequence[ColumnElement[bool]],
    direction: Direction,
) -> Select[Any]:
    key = collection.id_expr
    stmt = select(key.label("id"), feature_text(collection, crs).label("feature")).where(*where)
    limit = bindparam("limit", type_=Integer)
    if direction == "before":
        return (
            stmt.where(key < bindparam("before", type_=key.type)).order_by(key.desc()).limit(limit)
        )
    if direction == "after":
        stmt = stmt.where(key > bindparam("after", type_=key.type))
    return stmt.order_by(key).limit(limit)


async def fetch_page(pool: ReadPool, query: Query) -> list[tuple[Any, str]]:
    return [(row[0], row[1]) for row in await reads.fetch(pool, query.statement, query.params)]


async def stream_page(
    conn: AsyncConnection, query: Query, chunk: int
) -> AsyncIterator[list[tuple[Any, str]]]:
    """Rows from a server-side cursor, ``chunk`` at a time (large pages stay out of memory)."""
    stmt = query.statement.execution_options(yield_per=chunk)
    result = await conn.stream(stmt, query.params)
    async for rows in result.partitions(chunk):
        yield [(row[0], row[1]) for row in rows]


def count(collection: Collection, where: Where) -> Query:
    return Query(_count(collection.id, where.filters), where.params)


@lru_cache(maxsize=256)
def _count(collection_id: str, filters: Filters) -> Select[Any]:
    where = _conditions(collection_id, filters)
    return select(func.count()).select_from(COLLECTIONS[collection_id].table).where(*where)


async def fetch_count(pool: ReadPool, query: Query) -> int:
    return int(await reads.scalar(pool, query.statement, query.params) or 0)


async def count_on(conn: AsyncConnection, query: Query) -> int:
    """``fetch_count`` on a connection already in use (a streamed page's transaction)."""
    return int(await conn.scalar(query.statement, query.params) or 0)


async def feature(pool: ReadPool, collection: Collection, key: Any, crs: Crs) -> str | None:
    text: str | None = await reads.scalar(pool, _feature(collection.id, crs), {"id": key})
    return text


@lru_cache(maxsize=32)
def _feature(collection_id: str, crs: Crs) -> Select[Any]:
    collection = COLLECTIONS[collection_id]
    key = collection.id_expr
    return select(feature_text(collection, crs)).where(
        collection.base, key == bindparam("id", type_=key.type)
    )


async def extent(pool: ReadPool, collection: Collection) -> list[float] | None:
    """The collection's CRS84 bounding box (ST_Extent reads only the bounding boxes)."""
    row = (await reads.fetch(pool, _extent(collection.id)))[0]
    if row[0] is None:
        return None
    return [round(float(v), 7) for v in row]


@lru_cache(maxsize=8)
def _extent(collection_id: str) -> Select[Any]:
    collection = COLLECTIONS[collection_id]
    stored = func.ST_SetSRID(cast(func.ST_Extent(collection.geometry), Geometry), STORAGE_SRID)
    box = func.ST_Transform(func.ST_Segmentize(stored, 1000.0), 4326)
    return select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
        collection.base
    )
