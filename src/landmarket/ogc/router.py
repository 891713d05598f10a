"""OGC API Features and Tiles endpoints under /ogc: thin, documents come from the service.

Query parameters are read from the request itself, not declared to FastAPI, because the
standard wants unknown parameters refused with 400 and bad values with 400 (not 422).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from landmarket.core.errors import NotFound
from landmarket.db.geo import content_crs_header
from landmarket.ogc import html, params, service, tiles
from landmarket.ogc.deps import EngineDep, ReadConnection
from landmarket.ogc.links import GEOJSON, JSON, OPENAPI, SCHEMA, self_and_alternate
from landmarket.ogc.openapi import openapi_document

router = APIRouter(include_in_schema=False)
_F = frozenset({"f"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _doc(
    request: Request, fmt: str, title: str, doc: dict[str, Any], media: str = JSON
) -> Response:
    if fmt == "html":
        return html.response(html.page(title, doc))
    return JSONResponse(doc, media_type=media)


def _fmt(request: Request, allowed: frozenset[str] = _F) -> str:
    params.check_known(request.query_params, allowed)
    return params.output_format(request.query_params, request.headers.get("accept"))


@router.get("")
@router.get("/")
async def landing_page(request: Request) -> Response:
    fmt = _fmt(request)
    return _doc(
        request, fmt, "landmarket", service.landing(_base(request), request.query_params, fmt)
    )


@router.get("/conformance")
async def conformance(request: Request) -> Response:
    fmt = _fmt(request)
    doc = service.conformance(_base(request), request.query_params, fmt)
    return _doc(request, fmt, "Conformance", doc)


@router.get("/api")
async def api(request: Request) -> Response:
    fmt = _fmt(request)
    doc = openapi_document(_base(request))
    if fmt == "html":
        return html.response(html.page("API definition", {"openapi": json.dumps(doc, indent=1)}))
    return JSONResponse(doc, media_type=OPENAPI)


@router.get("/collections")
async def collections(request: Request, conn: ReadConnection) -> Response:
    fmt = _fmt(request)
    doc = await service.collections(conn, _base(request), request.query_params, fmt)
    return _doc(request, fmt, "Collections", doc)


@router.get("/collections/{collection_id}")
async def collection(request: Request, collection_id: str, conn: ReadConnection) -> Response:
    fmt = _fmt(request)
    c = service.collection_or_404(collection_id)
    base = _base(request)
    doc = await service.collection_doc(conn, base, c)
    doc["links"] += self_and_alternate(f"{base}/collections/{c.id}", request.query_params, fmt)
    return _doc(request, fmt, c.title, doc)


@router.get("/collections/{collection_id}/queryables")
async def queryables(request: Request, collection_id: str) -> Response:
    fmt = _fmt(request)
    c = service.collection_or_404(collection_id)
    return _doc(
        request, fmt, f"{c.title}: queryables", service.queryables(_base(request), c), SCHEMA
    )


@router.get("/collections/{collection_id}/items")
async def items(
    request: Request, collection_id: str, conn: ReadConnection, engine: EngineDep
) -> Response:
    c = service.collection_or_404(collection_id)
    query = params.items_query(request.query_params, c)
    fmt = params.output_format(request.query_params, request.headers.get("accept"))
    url = f"{_base(request)}/collections/{c.id}/items"
    req = service.items_request(c, query, url, request.query_params)
    headers = content_crs_header(query.crs)
    if fmt == "json" and service.streams(req):
        return StreamingResponse(
            service.items_stream(engine, req), media_type=GEOJSON, headers=headers
        )
    body, features = await service.items_page(conn, req)
    if fmt == "html":
        links = json.loads(body[body.rindex(',"links":') + 9 : -1])
        page = html.features_page(c.title, [json.loads(f) for f in features], links)
        return html.response(page, headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}")
async def item(
    request: Request, collection_id: str, feature_id: str, conn: ReadConnection
) -> Response:
    fmt = _fmt(request, frozenset({"f", "crs"}))
    c = service.collection_or_404(collection_id)
    crs = params.crs_param(request.query_params, "crs")
    text = await service.item(conn, c, feature_id, crs)
    links = service.item_links(_base(request), c, feature_id, request.query_params)
    headers = content_crs_header(crs)
    if fmt == "html":
        return html.response(
            html.features_page(c.title, [json.loads(text)], links), headers=headers
        )
    # Links are appended to the PostGIS-built feature without re-encoding it.
    body = text[:-1] + ',"links":' + json.dumps(links) + "}"
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/tiles")
async def tilesets(request: Request, collection_id: str) -> Response:
    fmt = _fmt(request)
    c = _tiled(collection_id)
    return _doc(request, fmt, f"{c.title}: tilesets", service.tilesets(_base(request), c))


@router.get("/collections/{collection_id}/tiles/{tms}")
async def tileset(request: Request, collection_id: str, tms: str) -> Response:
    fmt = _fmt(request)
    c = _tiled(collection_id)
    _tms(tms)
    return _doc(request, fmt, f"{c.title}: {tms}", service.tileset(_base(request), c))


@router.get("/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}")
async def tile(
    request: Request, collection_id: str, tms: str, z: str, x: str, y: str, conn: ReadConnection
) -> Response:
    params.check_known(request.query_params, frozenset({"f"}))
    if request.query_params.get("f", "mvt") != "mvt":
        raise params.bad("f", "tiles are only available as mvt")
    c = _tiled(collection_id)
    _tms(tms)
    zi, xi, yi = tiles.tile_address(z, x, y)
    data = await tiles.tile(conn, c, zi, xi, yi)
    if not data:
        return Response(status_code=204)
    return Response(data, media_type=tiles.MVT)


def _tiled(collection_id: str) -> Any:
    c = service.collection_or_404(collection_id)
    if not c.has_tiles:
        raise NotFound(f"collection {c.id!r} has no tiles")
    return c


def _tms(tms: str) -> None:
    if tms != tiles.TMS_ID:
        raise NotFound(f"no tile matrix set {tms!r}; available: {tiles.TMS_ID}")
