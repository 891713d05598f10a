"""Coordinate reference systems and GeoJSON <-> geometry conversion in PostGIS.

Storage is EPSG:25832 (metres, true areas in Germany). The API speaks GeoJSON in
lon/lat (RFC 7946) by default and other CRS by OGC API Features Part 2 URIs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import functions as gf
from pydantic.config import JsonDict
from sqlalchemy import ColumnElement, DateTime, FromClause, cast, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import QueryableAttribute

from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.db.base import STORAGE_SRID

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    # Geographic CRS get 7 decimals (~1 cm); projected ones 2 decimals (1 cm in metres).
    decimals: int
    label: str


SUPPORTED_CRS: dict[str, Crs] = {
    c.uri: c
    for c in (
        Crs(CRS84, 4326, 7, "WGS 84 lon/lat (CRS84)"),
        Crs(EPSG_URI.format(4326), 4326, 7, "WGS 84"),
        Crs(EPSG_URI.format(4258), 4258, 7, "ETRS89"),
        Crs(EPSG_URI.format(25832), 25832, 2, "ETRS89 / UTM zone 32N"),
        Crs(EPSG_URI.format(25833), 25833, 2, "ETRS89 / UTM zone 33N"),
        Crs(EPSG_URI.format(31467), 31467, 2, "DHDN / 3-degree Gauss-Kruger zone 3"),
        Crs(EPSG_URI.format(3857), 3857, 2, "WGS 84 / Pseudo-Mercator"),
    )
}
DEFAULT_CRS = SUPPORTED_CRS[CRS84]
_SHORT = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG::)(\d+)$", re.IGNORECASE)


_GEOGRAPHIC = (-180.0, -90.0, 180.0, 90.0)
_MERCATOR = 20_037_508.35
# Generous bounds per CRS (x/y order): they catch garbage and wrong-CRS input early, before
# PostGIS fails to transform it; plot placement is checked against the municipality later.
CRS_BOUNDS: dict[int, tuple[float, float, float, float]] = {
    4326: _GEOGRAPHIC,
    4258: _GEOGRAPHIC,
    25832: (-1_000_000.0, 0.0, 2_000_000.0, 10_000_000.0),
    25833: (-1_000_000.0, 0.0, 2_000_000.0, 10_000_000.0),
    31467: (2_000_000.0, 4_000_000.0, 5_000_000.0, 7_000_000.0),
    3857: (-_MERCATOR, -_MERCATOR, _MERCATOR, _MERCATOR),
}


def crs_bounds(crs: Crs) -> tuple[float, float, float, float]:
    return CRS_BOUNDS.get(crs.srid, _GEOGRAPHIC)


Box = tuple[float, float, float, float]
# What a geometry in no known municipality usually means (plot and requirement writes).
AXIS_ORDER_HINT = "check the axis order (lon, lat)"


class BboxError(ValueError):
    """A bbox parameter that cannot be read; ``detail`` says why (the caller names it)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def bbox_problem(bbox: Box, crs: Crs) -> str | None:
    """Why a bbox (x/y order) in ``crs`` is refused: it reaches past the bounds of the CRS,
    where PostGIS cannot transform it (e.g. longitude 300)."""
    min_x, min_y, max_x, max_y = crs_bounds(crs)
    x0, y0, x1, y1 = bbox
    if x0 < min_x or y0 < min_y or x1 > max_x or y1 > max_y:
        return f"must lie within x {min_x:g}..{max_x:g}, y {min_y:g}..{max_y:g} ({crs.label})"
    return None


def parse_bbox(value: str, crs: Crs, *, lat_first: bool = False, heights: bool = False) -> Box:
    """A ``bbox`` query value in ``crs`` -> (min x, min y, max x, max y) in x/y order.

    ``lat_first``: the numbers follow a north-first axis order (OGC API Part 2) and are
    swapped; ``heights``: 6 numbers (with heights, which are dropped: plots are 2D) are
    allowed too. The one reader of every endpoint's bbox (/v1/plots and OGC items).
    """
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    counts = (4, 6) if heights else (4,)
    if len(numbers) not in counts or not all(math.isfinite(n) for n in numbers):
        wanted = "4 or 6" if heights else "4"
        raise BboxError(f"expected {wanted} comma-separated numbers: minx,miny,maxx,maxy")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a, b, c, d = numbers
    box = (b, a, d, c) if lat_first else (a, b, c, d)
    if box[0] > box[2] or box[1] > box[3]:
        raise BboxError("the lower corner must not exceed the upper corner")
    outside = bbox_problem(box, crs)
    if outside is not None:
        raise BboxError(outside)
    return box


# A box in EPSG:25832 containing everything: the search box when the location limits nothing.
WORLD: Box = (-2.0e7, -2.0e7, 2.0e7, 2.0e7)

# The storage CRS is a transverse Mercator projection around 9°E: far from that meridian it
# folds over or fails, so a whole-world box became a sliver that held no plot and a box
# reaching to 90°W was a PostGIS error. Boxes are therefore clipped, before they are
# projected, to the area where EPSG:25832 is sound and where every plot lies: the area of use
# of its datum ETRS89 (EPSG:4258, Europe: lon -16.1..40.18, lat 32.88..84.73), expressed in
# each CRS as the bounding box of its image there (rounded outwards, within CRS_BOUNDS;
# tests/ogc/test_bbox_sizes.py recomputes them with PostGIS). Plots outside Europe cannot be found
# by a bbox; they cannot be placed either, since every plot lies within a German municipality.
STORAGE_AREA_LONLAT: Box = (-16.1, 32.88, 40.18, 84.73)
STORAGE_WINDOW: dict[int, Box] = {
    4326: STORAGE_AREA_LONLAT,
    4258: STORAGE_AREA_LONLAT,
    3857: (-1_792_300.0, 3_879_300.0, 4_472_900.0, 19_636_000.0),
    25833: (-1_000_000.0, 3_637_900.0, 2_000_000.0, 9_493_800.0),
    # Within its bounds DHDN Gauss-Kruger zone 3 shares the storage CRS's central meridian.
    31467: CRS_BOUNDS[31467],
}


def clip_bbox(bbox: Box, crs: Crs) -> Box | None:
    """``bbox`` (x/y order) cut to where it can be projected to storage CRS; None when nothing
    of it lies there (no plot can be inside). Boxes in storage CRS are never projected."""
    window = STORAGE_WINDOW.get(crs.srid)
    if window is None:
        return bbox
    clipped = (
        max(bbox[0], window[0]),
        max(bbox[1], window[1]),
        min(bbox[2], window[2]),
        min(bbox[3], window[3]),
    )
    if clipped[0] > clipped[2] or clipped[1] > clipped[3]:
        return None
    return clipped


def segment_length(bbox: Box) -> float:
    """The densification step of a box: 32 segments along its longer side."""
    min_x, min_y, max_x, max_y = bbox
    return max(max_x - min_x, max_y - min_y) / 32 or 1.0


def envelope_sql(
    min_x: Any, min_y: Any, max_x: Any, max_y: Any, step: Any, crs: Crs
) -> ColumnElement[Any]:
    """A box (values or bound parameters, already clipped) -> a polygon in storage CRS.

    Densified before projecting so its edges follow the curved outline of the box. NULL
    corners stand for a box clipped away entirely: an empty polygon, which intersects
    nothing (and NOT S_INTERSECTS it holds for every plot)."""
    box: ColumnElement[Any] = func.ST_MakeEnvelope(min_x, min_y, max_x, max_y, crs.srid)
    if crs.srid != STORAGE_SRID:
        box = gf.ST_Transform(func.ST_Segmentize(box, step), STORAGE_SRID)
    return func.coalesce(box, func.ST_GeomFromText("POLYGON EMPTY", STORAGE_SRID))


def envelope_values(bbox: Box, crs: Crs) -> tuple[float | None, ...]:
    """The clipped corners and the step of ``bbox`` for ``envelope_sql``'s parameters;
    all None when the box lies entirely where no plot can be."""
    clipped = clip_bbox(bbox, crs)
    if clipped is None:
        return (None,) * 5
    return (*clipped, segment_length(clipped))


def bbox_envelope(bbox: Box, crs: Crs) -> ColumnElement[Any]:
    """``bbox`` (x/y order) in ``crs`` -> a polygon in storage CRS: clipped, densified,
    projected. Compare the column with it (never transform the column): the GiST index
    answers."""
    clipped = clip_bbox(bbox, crs)
    if clipped is None:
        return func.ST_GeomFromText("POLYGON EMPTY", STORAGE_SRID)
    return envelope_sql(*clipped, segment_length(clipped), crs)


def crs_spellings(*, bracketed: bool = False) -> list[str]:
    """The values :func:`parse_crs` takes, as an OpenAPI ``enum``: every supported CRS as OGC
    URI, ``EPSG:n`` and ``urn:ogc:def:crs:EPSG::n``, and CRS84 as ``CRS84``/``OGC:CRS84``;
    ``bracketed`` adds the URIs in angle brackets, the form of the Content-Crs header."""
    names = [*SUPPORTED_CRS, "CRS84", "OGC:CRS84"]
    for srid in dict.fromkeys(c.srid for c in SUPPORTED_CRS.values()):
        names += [f"EPSG:{srid}", f"urn:ogc:def:crs:EPSG::{srid}"]
    return [f"<{uri}>" for uri in SUPPORTED_CRS] + names if bracketed else names


def parse_crs(value: str | None, pointer: str = "/query/crs") -> Crs:
    """Resolve an OGC CRS URI (or the common ``EPSG:n`` shorthand) to a supported CRS."""
    if value is None or value == "":
        return DEFAULT_CRS
    value = value.strip()
    if value.upper() in ("CRS84", "OGC:CRS84"):
        return DEFAULT_CRS
    short = _SHORT.match(value)
    key = EPSG_URI.format(short.group(1)) if short else value
    crs = SUPPORTED_CRS.get(key)
    if crs is None:
        supported = ", ".join(SUPPORTED_CRS)
        raise ValidationFailed(
            f"Unsupported CRS {value!r}",
            errors=[FieldError(pointer=pointer, detail=f"supported: {supported}")],
        )
    return crs


def content_crs_header(crs: Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


def geojson_out(
    geom: ColumnElement[Any] | QueryableAttribute[Any], crs: Crs = DEFAULT_CRS
) -> ColumnElement[Any]:
    """Geometry column -> GeoJSON (as jsonb) in the requested CRS, built in PostGIS.

    Coordinates stay lon/lat (x/y) for every CRS: GeoJSON has no axis-order switch and
    RFC 7946 clients expect easting first.
    """
    transformed = geom if crs.srid == STORAGE_SRID else gf.ST_Transform(geom, crs.srid)
    # Options 0: no legacy "crs" member (RFC 7946 dropped it); the CRS goes in Content-Crs.
    return cast(func.ST_AsGeoJSON(transformed, crs.decimals, 0), JSONB)


def geojson_in(geometry: dict[str, Any], srid: int = 4326) -> ColumnElement[Any]:
    """GeoJSON geometry (a validated dict) -> MultiPolygon in storage CRS, as a bound parameter."""
    parsed = func.ST_SetSRID(func.ST_GeomFromGeoJSON(literal(json.dumps(geometry))), srid)
    return func.ST_Multi(gf.ST_Transform(parsed, STORAGE_SRID))


def polygon_schema(position: JsonDict) -> JsonDict:
    """`json_schema_extra` of a GeoJSON Polygon/MultiPolygon model with a free `coordinates`
    field: the nesting its `type` calls for, rings of at least 4 ``position``s (closure,
    validity and placement are checked by the server)."""
    ring: JsonDict = {"type": "array", "items": position, "minItems": 4}
    polygon: JsonDict = {"type": "array", "items": ring, "minItems": 1}
    multi: JsonDict = {"type": "array", "items": polygon, "minItems": 1}

    def when(kind: str, coordinates: JsonDict) -> JsonDict:
        return {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"properties": {"coordinates": coordinates}},
        }

    return {"allOf": [when("Polygon", polygon), when("MultiPolygon", multi)]}


# The opening of every FeatureCollection body we write around features serialised in PostGIS.
FEATURE_COLLECTION_HEAD = '{"type":"FeatureCollection","features":'


def feature_collection(
    features_json: str, number_returned: int, links: list[dict[str, Any]], **members: Any
) -> str:
    """A GeoJSON FeatureCollection around ``features_json`` (one JSON array built in PostGIS):
    only the envelope is written here; ``members`` go between ``numberReturned`` and
    ``links``."""
    extra = "".join(f',"{name}":{json.dumps(value)}' for name, value in members.items())
    return (
        FEATURE_COLLECTION_HEAD
        + features_json
        + f',"numberReturned":{number_returned}{extra},"links":{json.dumps(links)}}}'
    )


# Timestamps in properties: fixed UTC rendering, independent of the session's TimeZone setting.
ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def json_properties(
    table: FromClause, names: Iterable[str], key: Callable[[str], ColumnElement[Any]]
) -> ColumnElement[Any]:
    """A GeoJSON properties object of ``table``'s columns ``names`` (``json_build_object``),
    timestamps in UTC; ``key`` puts a member name into the SQL (a bound parameter, or fixed
    text)."""
    pairs: list[ColumnElement[Any]] = []
    for name in names:
        column = table.c[name]
        value: ColumnElement[Any] = column
        if isinstance(column.type, DateTime):
            value = func.to_char(func.timezone("UTC", column), ISO_UTC)
        pairs += [key(name), value]
    return func.json_build_object(*pairs)
