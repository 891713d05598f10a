"""OGC API Features and Tiles endpoints under /ogc: thin, documents come from the service.

Plain Starlette routes, not FastAPI operations: query parameters are read from the request
itself because the standard wants unknown parameters refused and bad values answered with 400
(not FastAPI's 422), the API is described by its own OpenAPI document (/ogc/api), and nothing
here needs dependency injection. Skipping FastAPI's per-request dependency solving (which ran
the engine lookups in a worker thread) is a measurable part of the items and tile latency.
Errors still reach the app's problem+json handlers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from landmarket.core.errors import NotFound
from landmarket.db.geo import content_crs_header
from landmarket.db.reads import read_pool
from landmarket.db.session import started
from landmarket.ogc import html, params, service, tiles
from landmarket.ogc.collections import Collection
from landmarket.ogc.links import GEOJSON, JSON, OPENAPI, SCHEMA, self_and_alternate
from landmarket.ogc.openapi import openapi_document

# The router is included without a prefix: Starlette routes must start with "/", and the
# landing page answers at /ogc itself.
PREFIX = "/ogc"
router = APIRouter(include_in_schema=False)
_F = frozenset({"f"})
Endpoint = Callable[[Request], Awaitable[Response]]


def _path(request: Request, name: str) -> str:
    value: str = request.path_params[name]
    return value


def _stream_engine(request: Request) -> AsyncEngine:
    # Large pages stream from a server-side cursor, which needs a transaction: the
    # read-write engine, not the autocommit pool of db.reads.
    engine: AsyncEngine = request.app.state.engine
    return engine


def _base(request: Request) -> str:
    """The API's URL as the client reached it (links are absolute)."""
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    root = scope.get("app_root_path", scope.get("root_path", ""))
    server = scope.get("server")  # (host, port), a list in some servers, or None
    return _base_url(scope.get("scheme", "http"), host, tuple(server) if server else None, root)


@lru_cache(maxsize=64)
def _base_url(scheme: str, host: bytes | None, server: tuple[str, int] | None, root: str) -> str:
    # Starlette's reading of the scope (host header, else server address; root path), once
    # per distinct origin rather than on every request.
    scope: dict[str, Any] = {"type": "http", "scheme": scheme, "server": server, "path": root}
    scope |= {"root_path": root, "query_string": b"", "headers": [(b"host", host)] if host else []}
    return str(Request(scope).base_url).rstrip("/") + PREFIX


def _doc(
    request: Request, fmt: str, title: str, doc: dict[str, Any], media: str = JSON
) -> Response:
    if fmt == "html":
        return html.response(html.page(title, doc))
    return JSONResponse(doc, media_type=media)


def _fmt(request: Request, allowed: frozenset[str] = _F) -> str:
    params.check_known(request.query_params, allowed)
    return params.output_format(request.query_params, request.headers.get("accept"))


async def landing_page(request: Request) -> Response:
    fmt = _fmt(request)
    return _doc(
        request, fmt, "landmarket", service.landing(_base(request), request.query_params, fmt)
    )


async def conformance(request: Request) -> Response:
    fmt = _fmt(request)
    doc = service.conformance(_base(request), request.query_params, fmt)
    return _doc(request, fmt, "Conformance", doc)


async def api(request: Request) -> Response:
    fmt = _fmt(request)
    doc = openapi_document(_base(request))
    if fmt == "html":
        return html.response(html.page("API definition", {"openapi": json.dumps(doc, indent=1)}))
    return JSONResponse(doc, media_type=OPENAPI)


async def collections(request: Request) -> Response:
    fmt = _fmt(request)
    doc = await service.collections(read_pool(request), _base(request), request.query_params, fmt)
    return _doc(request, fmt, "Collections", doc)


async def collection(request: Request) -> Response:
    fmt = _fmt(request)
    c = service.collection_or_404(_path(request, "collection_id"))
    base = _base(request)
    doc = await service.collection_doc(read_pool(request), base, c)
    doc["links"] += self_and_alternate(f"{base}/collections/{c.id}", request.query_params, fmt)
    return _doc(request, fmt, c.title, doc)


async def queryables(request: Request) -> Response:
    fmt = _fmt(request)
    c = service.collection_or_404(_path(request, "collection_id"))
    return _doc(
        request, fmt, f"{c.title}: queryables", service.queryables(_base(request), c), SCHEMA
    )


async def items(request: Request) -> Response:
    c = service.collection_or_404(_path(request, "collection_id"))
    query = params.items_query(request.query_params, c)
    fmt = params.output_format(request.query_params, request.headers.get("accept"))
    url = f"{_base(request)}/collections/{c.id}/items"
    req = service.items_request(c, query, url, request.query_params)
    headers = content_crs_header(query.crs)
    if fmt == "json" and service.streams(req):
        stream = await started(service.items_stream(_stream_engine(request), req))
        return StreamingResponse(stream, media_type=GEOJSON, headers=headers)
    body, features = await service.items_page(read_pool(request), req)
    if fmt == "html":
        links = json.loads(body[body.rindex(',"links":') + 9 : -1])
        page = html.features_page(c.title, [json.loads(f) for f in features], links)
        return html.response(page, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


async def item(request: Request) -> Response:
    fmt = _fmt(request, frozenset({"f", "crs"}))
    c = service.collection_or_404(_path(request, "collection_id"))
    feature_id = _path(request, "feature_id")
    crs = params.crs_param(request.query_params, "crs")
    text = await service.item(read_pool(request), c, feature_id, crs)
    links = service.item_links(_base(request), c, feature_id, request.query_params)
    headers = content_crs_header(crs)
    if fmt == "html":
        return html.response(
            html.features_page(c.title, [json.loads(text)], links), headers=headers
        )
    # Links are appended to the PostGIS-built feature without re-encoding it.
    body = text[:-1] + ',"links":' + json.dumps(links) + "}"
    return Response(body, media_type=GEOJSON, headers=headers)


async def tilesets(request: Request) -> Response:
    fmt = _fmt(request)
    c = _tiled(_path(request, "collection_id"))
    return _doc(request, fmt, f"{c.title}: tilesets", service.tilesets(_base(request), c))


async def tileset(request: Request) -> Response:
    fmt = _fmt(request)
    c = _tiled(_path(request, "collection_id"))
    tms = _tms(_path(request, "tms"))
    return _doc(request, fmt, f"{c.title}: {tms}", service.tileset(_base(request), c))


async def tile(request: Request) -> Response:
    params.check_known(request.query_params, frozenset({"f"}))
    if request.query_params.get("f", "mvt") != "mvt":
        raise params.bad("f", "tiles are only available as mvt")
    c = _tiled(_path(request, "collection_id"))
    _tms(_path(request, "tms"))
    z, x, y = (_path(request, name) for name in ("z", "x", "y"))
    zi, xi, yi = tiles.tile_address(z, x, y)
    data = await tiles.tile(read_pool(request), c, zi, xi, yi)
    if not data:
        return Response(status_code=204, headers={"Cache-Control": tiles.CACHE_CONTROL})
    headers = {"ETag": tiles.etag(data), "Cache-Control": tiles.CACHE_CONTROL}
    if tiles.not_modified(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=tiles.MVT, headers=headers)


def _tiled(collection_id: str) -> Collection:
    c = service.collection_or_404(collection_id)
    if not c.has_tiles:
        raise NotFound(f"collection {c.id!r} has no tiles")
    return c


def _tms(tms: str) -> str:
    if tms != tiles.TMS_ID:
        raise NotFound(f"no tile matrix set {tms!r}; available: {tiles.TMS_ID}")
    return tms


# Matched top-down, the hot reads first: no two of these patterns match the same path, so the
# order changes nothing but the number of patterns tried.
ROUTES: tuple[tuple[str, Endpoint], ...] = (
    ("/collections/{collection_id}/items", items),
    ("/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}", tile),
    ("/collections/{collection_id}/items/{feature_id}", item),
    ("", landing_page),
    ("/", landing_page),
    ("/conformance", conformance),
    ("/api", api),
    ("/collections", collections),
    ("/collections/{collection_id}", collection),
    ("/collections/{collection_id}/queryables", queryables),
    ("/collections/{collection_id}/tiles", tilesets),
    ("/collections/{collection_id}/tiles/{tms}", tileset),
)
for route, endpoint in ROUTES:
    router.add_route(PREFIX + route, endpoint, methods=["GET"], include_in_schema=False)
