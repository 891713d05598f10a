"""OGC resources as documents: links, metadata and the feature collection envelope."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import QueryParams

from landmarket.core.errors import BadRequest, FieldError, NotFound, ValidationFailed
from landmarket.core.pagination import decode_cursor, encode_cursor
from landmarket.db.geo import CRS84, FEATURE_COLLECTION_HEAD, Crs
from landmarket.db.readpool import ReadPool
from landmarket.ogc import cql2, repository
from landmarket.ogc.collections import COLLECTIONS, Collection
from landmarket.ogc.conformance import CONFORMS_TO
from landmarket.ogc.crs import OGC_CRS, STORAGE_CRS_URI
from landmarket.ogc.links import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    SCHEMA,
    link,
    self_and_alternate,
    with_params,
)
from landmarket.ogc.params import ItemsQuery
from landmarket.ogc.tiles import MVT, TMS_ID, TMS_URI

# Pages up to this size are fetched in one round trip; larger ones stream from a cursor.
STREAM_ABOVE = 1000
STREAM_CHUNK = 1000


def collection_or_404(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise NotFound(f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}")
    return collection


def landing(base: str, params: QueryParams, fmt: str) -> dict[str, Any]:
    return {
        "title": "landmarket",
        "description": "Published commercial plots of the region as OGC API Features and "
        "vector tiles.",
        "links": [
            *self_and_alternate(base, params, fmt),
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON),
            link(f"{base}/collections", "data", JSON, "collections"),
            link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON),
        ],
    }


def conformance(base: str, params: QueryParams, fmt: str) -> dict[str, Any]:
    return {
        "conformsTo": list(CONFORMS_TO),
        "links": self_and_alternate(f"{base}/conformance", params, fmt),
    }


async def collection_doc(pool: ReadPool, base: str, collection: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}"
    bbox = await repository.extent(pool, collection)
    links = [
        link(f"{url}/items?f=json", "items", GEOJSON, "the features"),
        link(f"{url}/items?f=html", "items", HTML, "the features as HTML"),
        link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA),
    ]
    if collection.has_tiles:
        links.append(
            link(f"{url}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON)
        )
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": list(OGC_CRS),
        "storageCrs": STORAGE_CRS_URI,
        "links": links,
    }
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


async def collections(pool: ReadPool, base: str, params: QueryParams, fmt: str) -> dict[str, Any]:
    docs = [await collection_doc(pool, base, c) for c in COLLECTIONS.values()]
    return {
        "collections": docs,
        "crs": list(OGC_CRS),
        "links": self_and_alternate(f"{base}/collections", params, fmt),
    }


def queryables(base: str, collection: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}/queryables"
    properties: dict[str, Any] = {
        cql2.GEOMETRY: {"title": "geometry", "format": "geometry-multipolygon"},
    }
    properties.update({name: q.schema for name, q in collection.queryables.items()})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Position:
    after: Any | None = None
    before: Any | None = None


def position(collection: Collection, cursor: str | None) -> Position:
    if cursor is None:
        return Position()
    invalid = BadRequest(
        "invalid cursor", errors=[FieldError(pointer="/query/cursor", detail="take it from a link")]
    )
    try:
        direction, raw = decode_cursor(cursor, 2)
    except ValidationFailed as exc:
        # The OGC API answers every invalid parameter with 400, as its document says.
        raise invalid from exc
    key = collection.parse_id(str(raw))
    if direction not in ("n", "p") or key is None:
        raise invalid
    return Position(after=key) if direction == "n" else Position(before=key)


@dataclass
class ItemsRequest:
    collection: Collection
    query: ItemsQuery
    where: repository.Where
    at: Position
    url: str
    params: QueryParams


def items_request(
    collection: Collection, query: ItemsQuery, url: str, params: QueryParams
) -> ItemsRequest:
    cql = None
    if query.filter is not None:
        cql = repository.Cql(query.filter, query.filter_lang, query.filter_crs)
    where = repository.where(
        collection,
        bbox=query.bbox,
        bbox_crs=query.bbox_crs,
        interval=query.interval,
        properties=query.properties,
        cql=cql,
    )
    return ItemsRequest(collection, query, where, position(collection, query.cursor), url, params)


_last_stamp: tuple[int, str] = (0, "")


def _stamp() -> str:
    """The time stamp of a page, to the second: formatted once per second, as every page
    has one."""
    global _last_stamp
    second = int(time.time())
    if _last_stamp[0] != second:
        stamp = datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")
        _last_stamp = (second, stamp)
    return _last_stamp[1]


def _tail(
    req: ItemsRequest,
    returned: int,
    first: Any,
    last: Any,
    prev: bool,
    more: bool,
    matched: int | None,
) -> str:
    """The members after ``features``: counts, time stamp and links."""
    links = self_and_alternate(req.url, req.params, "json", GEOJSON)
    if more and last is not None:
        href = with_params(req.url, req.params, cursor=encode_cursor("n", last), f="json")
        links.append(link(href, "next", GEOJSON, "next page"))
    if prev and first is not None:
        href = with_params(req.url, req.params, cursor=encode_cursor("p", first), f="json")
        links.append(link(href, "prev", GEOJSON, "previous page"))
    # Numbers and the stamp need no JSON encoder; only the links (URLs, titles) go through it.
    counts = f'"numberReturned":{returned},'
    if matched is not None:
        counts += f'"numberMatched":{matched},'
    links_json = _ENCODER.encode(links)
    return f'],{counts}"timeStamp":"{_stamp()}","links":{links_json}}}'


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_HEAD = FEATURE_COLLECTION_HEAD + "["


def _page(req: ItemsRequest) -> repository.Query:
    q = req.query
    return repository.page(
        req.collection, q.crs, req.where, after=req.at.after, before=req.at.before, limit=q.limit
    )


async def items_page(pool: ReadPool, req: ItemsRequest) -> tuple[str, list[str]]:
    """The whole body (one round trip for the rows) and the page's feature texts."""
    rows = await repository.fetch_page(pool, _page(req))
    limit = req.query.limit
    more = len(rows) > limit
    rows = rows[:limit]
    backwards = req.at.before is not None
    if backwards:
        rows.reverse()
    features = [text for _, text in rows]
    first = rows[0][0] if rows else None
    last = rows[-1][0] if rows else None
    has_prev = more if backwards else req.at.after is not None
    has_next = True if backwards else more
    matched: int | None = None
    if req.query.number_matched:
        matched = await repository.fetch_count(pool, repository.count(req.collection, req.where))
    elif req.query.cursor is None and not more:
        matched = len(features)  # the first page holds everything: counting is free
    body = (
        _HEAD
        + ",".join(features)
        + _tail(req, len(features), first, last, has_prev, has_next, matched)
    )
    return body, features


def streams(req: ItemsRequest) -> bool:
    return req.query.limit > STREAM_ABOVE and req.at.before is None


async def items_stream(engine: AsyncEngine, req: ItemsRequest) -> AsyncIterator[bytes]:
    """A large forward page from a server-side cursor; ``links`` come last, once the last
    key is known."""
    limit = req.query.limit
    async with engine.connect() as conn, conn.begin():
        matched = None
        if req.query.number_matched:
            matched = await repository.count_on(conn, repository.count(req.collection, req.where))
        yield _HEAD.encode()
        returned, first, last, more = 0, None, None, False
        async for rows in repository.stream_page(conn, _page(req), STREAM_CHUNK):
            take = rows[: limit - returned]
            more = more or len(take) < len(rows)
            if not take:
                break
            if first is None:
                first = take[0][0]
            chunk = ",".join(text for _, text in take)
            yield ((b"," if returned else b"") + chunk.encode())
            returned += len(take)
            last = take[-1][0]
        if matched is None and req.query.cursor is None and not more:
            matched = returned
        tail = _tail(req, returned, first, last, req.at.after is not None, more, matched)
        yield tail.encode()


async def item(pool: ReadPool, collection: Collection, feature_id: str, crs: Crs) -> str:
    key = collection.parse_id(feature_id)
    text = None if key is None else await repository.feature(pool, collection, key, crs)
    if text is None:
        raise NotFound(f"no feature {feature_id!r} in {collection.id!r}")
    return text


def item_links(
    base: str, collection: Collection, feature_id: str, params: QueryParams
) -> list[dict[str, Any]]:
    url = f"{base}/collections/{collection.id}/items/{feature_id}"
    return [
        *self_and_alternate(url, params, "json", GEOJSON),
        link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
    ]


def tilesets(base: str, collection: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}/tiles"
    return {
        "tilesets": [
            {
                "title": f"{collection.title} ({TMS_ID})",
                "dataType": "vector",
                "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                "tileMatrixSetURI": TMS_URI,
                "links": [
                    link(f"{url}/{TMS_ID}", "self", JSON, "tileset metadata"),
                    link(TMS_URI, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON),
                ],
            }
        ],
        "links": [link(url, "self", JSON)],
    }


def tileset(base: str, collection: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}/tiles/{TMS_ID}"
    fields = {
        "id": "string",
        **{
            n: q.schema.get("type", "string")
            for n, q in collection.queryables.items()
            if n in collection.tile_properties
        },
    }
    return {
        "title": f"{collection.title} ({TMS_ID})",
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "layers": [
            {
                "id": collection.id,
                "dataType": "vector",
                "geometryDimension": 2,
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {"type": kind} for name, kind in fields.items()},
                },
            }
        ],
        "links": [
            link(url, "self", JSON, "this tileset"),
            link(TMS_URI, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON),
            link(f"{url}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}", "item", MVT, "tiles")
            | {"templated": True},
            link(
                f"{base}/collections/{collection.id}",
                "http://www.opengis.net/def/rel/ogc/1.0/geodata",
                JSON,
            ),
        ],
    }
