"""The OpenAPI 3.0 document of /ogc, self-contained: every $ref points into the document
itself (GDAL and other clients fetch it, some offline), never to an external host."""

from __future__ import annotations

from typing import Any

import landmarket
from landmarket.core.errors import Problem
from landmarket.core.schemas import NUL_FREE_PATTERN
from landmarket.ogc import cql2
from landmarket.ogc.collections import COLLECTIONS
from landmarket.ogc.crs import OGC_CRS
from landmarket.ogc.params import DEFAULT_LIMIT, MAX_LIMIT
from landmarket.ogc.tiles import MAX_ZOOM

_GEOJSON = "application/geo+json"


def _param(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
        **extra,
    }


# No request string can hold NUL (PostgreSQL text cannot); coordinates beyond this lie outside
# every supported CRS.
_TEXT: dict[str, Any] = {"type": "string", "pattern": NUL_FREE_PATTERN}
_COORDINATE: dict[str, Any] = {"type": "number", "minimum": -1e8, "maximum": 1e8}
_CRS_SCHEMA = {"type": "string", "format": "uri", "enum": list(OGC_CRS)}
PARAMETERS: dict[str, Any] = {
    "f": _param(
        "f", "Output format (overrides Accept)", {"type": "string", "enum": ["json", "html"]}
    ),
    "limit": _param(
        "limit",
        "Features per page",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    "bbox": _param(
        "bbox",
        "minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs axis order",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": _COORDINATE},
    ),
    "bbox-crs": _param("bbox-crs", "CRS of bbox (default CRS84)", _CRS_SCHEMA),
    "crs": _param("crs", "CRS of the response geometry (default CRS84)", _CRS_SCHEMA),
    "datetime": _param(
        "datetime",
        "Instant or interval (start/end, `..` open) matched against updated_at; years 1-9999 "
        "in UTC",
        _TEXT,
    ),
    "filter": _param(
        "filter",
        f"CQL2 filter: at most {cql2.MAX_FILTER_LENGTH} characters, {cql2.MAX_NODES} terms and "
        f"{cql2.MAX_DEPTH} levels of nesting; no NUL; integers within 64 bits",
        {**_TEXT, "maxLength": cql2.MAX_FILTER_LENGTH},
    ),
    "filter-lang": _param(
        "filter-lang",
        "Language of filter",
        {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
    ),
    "filter-crs": _param("filter-crs", "CRS of geometry literals in filter", _CRS_SCHEMA),
    "cursor": _param("cursor", "Opaque page position, from a next/prev link", _TEXT),
    "numberMatched": _param(
        "numberMatched", "true: count all matching features (costs a count)", {"type": "boolean"}
    ),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _ok(media: str, schema: str, description: str = "OK") -> dict[str, Any]:
    return {
        "description": description,
        "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}, "text/html": {}},
    }


_ERRORS = {
    str(code): {"$ref": f"#/components/responses/{name}"}
    for code, name in ((400, "BadRequest"), (404, "NotFound"), (500, "ServerError"))
}


def _op(
    op_id: str, summary: str, params: list[str], ok: dict[str, Any], tag: str
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "tags": [tag],
            "parameters": [_ref(p) for p in params],
            "responses": {"200": ok, **_ERRORS},
        }
    }


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": _op(
            "getLandingPage",
            "Landing page",
            ["f"],
            _ok("application/json", "Document"),
            "Capabilities",
        ),
        "/conformance": _op(
            "getConformance",
            "Conformance classes",
            ["f"],
            _ok("application/json", "Document"),
            "Capabilities",
        ),
        "/api": _op(
            "getApi",
            "This document",
            ["f"],
            _ok("application/vnd.oai.openapi+json;version=3.0", "Document"),
            "Capabilities",
        ),
        "/collections": _op(
            "getCollections",
            "Collections",
            ["f"],
            _ok("application/json", "Document"),
            "Capabilities",
        ),
    }
    item_params = [
        "f",
        "limit",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "cursor",
        "numberMatched",
    ]
    for c in COLLECTIONS.values():
        url = f"/collections/{c.id}"
        props = [
            _param(n, f"Equal to {n}", {k: v for k, v in q.schema.items() if k != "title"})
            for n, q in c.queryables.items()
        ]
        paths[url] = _op(
            f"describe_{c.id}", c.title, ["f"], _ok("application/json", "Document"), c.title
        )
        paths[f"{url}/queryables"] = _op(
            f"queryables_{c.id}",
            f"{c.title}: queryables",
            ["f"],
            _ok("application/schema+json", "Document"),
            c.title,
        )
        items = _op(
            f"items_{c.id}",
            f"{c.title}: features",
            item_params,
            _ok(_GEOJSON, "FeatureCollection"),
            c.title,
        )
        items["get"]["parameters"] += props
        paths[f"{url}/items"] = items
        one = _op(
            f"item_{c.id}",
            f"{c.title}: one feature",
            ["f", "crs"],
            _ok(_GEOJSON, "Feature"),
            c.title,
        )
        one["get"]["parameters"].insert(
            0, {"name": "featureId", "in": "path", "required": True, "schema": _TEXT}
        )
        paths[f"{url}/items/{{featureId}}"] = one
        if c.has_tiles:
            paths[f"{url}/tiles"] = _op(
                f"tilesets_{c.id}",
                f"{c.title}: tilesets",
                ["f"],
                _ok("application/json", "Document"),
                c.title,
            )
            paths[f"{url}/tiles/WebMercatorQuad"] = _op(
                f"tileset_{c.id}",
                f"{c.title}: tileset metadata",
                ["f"],
                _ok("application/json", "Document"),
                c.title,
            )
            tile = _op(
                f"tile_{c.id}",
                f"{c.title}: a Mapbox vector tile",
                [],
                {
                    "description": "The tile",
                    "content": {
                        "application/vnd.mapbox-vector-tile": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
                c.title,
            )
            tile["get"]["parameters"] = [
                {
                    "name": n,
                    "in": "path",
                    "required": True,
                    "description": d,
                    "schema": {"type": "integer", "minimum": 0, "maximum": top},
                }
                for n, d, top in (
                    ("z", "tileMatrix (zoom)", MAX_ZOOM),
                    ("x", "tileCol", 2**MAX_ZOOM - 1),
                    ("y", "tileRow", 2**MAX_ZOOM - 1),
                )
            ]
            tile["get"]["responses"]["204"] = {"description": "Empty tile"}
            paths[f"{url}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"] = tile
    return paths


def _schemas() -> dict[str, Any]:
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = problem.pop("$defs", {})
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {k: {"type": "string"} for k in ("href", "rel", "type", "title")},
    }
    links = {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}
    feature = {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "nullable": True},
            "properties": {"type": "object", "nullable": True},
            "links": links,
        },
    }
    collection = {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
            "numberReturned": {"type": "integer", "minimum": 0},
            "numberMatched": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string", "format": "date-time"},
            "links": links,
        },
    }
    return {
        **defs,
        "Problem": problem,
        "Link": link,
        "Feature": feature,
        "FeatureCollection": collection,
        "Document": {"type": "object", "properties": {"links": links}},
    }


def openapi_document(base: str) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "landmarket OGC API",
            "version": landmarket.__version__,
            "description": "OGC API Features (Parts 1, 2, 3) and Tiles for published plots.",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": base}],
        "paths": _paths(),
        "components": {
            "parameters": PARAMETERS,
            "schemas": _schemas(),
            "responses": {
                "BadRequest": {
                    "description": "Malformed or unknown query parameter, bad filter",
                    "content": problem,
                },
                "NotFound": {"description": "No such resource", "content": problem},
                "ServerError": {"description": "Unexpected error", "content": problem},
            },
        },
    }
