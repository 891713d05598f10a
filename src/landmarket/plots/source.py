"""Reading plot files (GeoJSON, GeoPackage, Shapefile) for `landmarket plots push`.

Client side only: the features are turned into GeoJSON in the file's own CRS and the API
validates them. Geometries are decoded from WKB here, so the CLI needs no geometry library.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio
import pyogrio.errors
import pyogrio.raw

from landmarket.db.geo import CRS84, EPSG_URI, SUPPORTED_CRS
from landmarket.plots.schemas import PlotProperties

PROPERTY_NAMES = frozenset(PlotProperties.model_fields)
_EPSG = re.compile(r"^EPSG:(\d+)$", re.IGNORECASE)
_GEOGRAPHIC_LONLAT = {4326: CRS84}


class SourceError(Exception):
    """The file cannot be pushed as it is (unreadable, unsupported CRS, bad mapping)."""


@dataclass(frozen=True)
class PlotSource:
    features: list[dict[str, Any]]
    crs_uri: str
    ignored_fields: list[str]


def _ring(data: bytes, pos: int, order: str, dims: int) -> tuple[list[list[float]], int]:
    (count,) = struct.unpack_from(order + "I", data, pos)
    pos += 4
    values = struct.unpack_from(order + "d" * (count * dims), data, pos)
    pos += 8 * count * dims
    return [list(values[i : i + 2]) for i in range(0, len(values), dims)], pos


def _geometry(data: bytes, pos: int = 0) -> tuple[dict[str, Any], int]:
    order = "<" if data[pos] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", data, pos + 1)
    pos += 5
    # ISO WKB (1000/2000/3000 + type) and EWKB flags (Z 0x80000000, M 0x40000000, SRID).
    if code & 0x20000000:
        pos += 4
    dims = 2 + bool(code & 0x80000000) + bool(code & 0x40000000)
    code &= 0x0FFFFFFF
    dims += {1: 1, 2: 1, 3: 2}.get(code // 1000, 0)
    kind = code % 1000
    if kind == 3:
        (rings,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        coords = []
        for _ in range(rings):
            ring, pos = _ring(data, pos, order, dims)
            coords.append(ring)
        return {"type": "Polygon", "coordinates": coords}, pos
    if kind == 6:
        (parts,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        polygons = []
        for _ in range(parts):
            part, pos = _geometry(data, pos)
            polygons.append(part["coordinates"])
        return {"type": "MultiPolygon", "coordinates": polygons}, pos
    names = {1: "Point", 2: "LineString", 4: "MultiPoint", 5: "MultiLineString"}
    # Not a plot; the API rejects it with a pointer to the feature's geometry type.
    return {"type": names.get(kind, "GeometryCollection"), "coordinates": []}, len(data)


def wkb_to_geojson(data: bytes | None) -> dict[str, Any] | None:
    return None if not data else _geometry(bytes(data))[0]


def _value(value: Any) -> Any:
    """numpy and GDAL values → JSON values; empty strings and NaN are 'not set'."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10] if isinstance(value, dt.date) else value.isoformat()
    return value


def _property(name: str, value: Any) -> Any:
    if name == "external_id" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if name in ("external_id", "municipality_ags") and isinstance(value, int):
        return str(value).zfill(8) if name == "municipality_ags" else str(value)
    if name == "parcel_ids" and isinstance(value, str):
        return [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
    if name == "contact" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def crs_uri(crs: str | None, path: Path) -> str:
    match = _EPSG.match(crs or "")
    if not match:
        raise SourceError(f"{path}: the file names no EPSG code (CRS: {crs or 'none'})")
    srid = int(match.group(1))
    uri = _GEOGRAPHIC_LONLAT.get(srid, EPSG_URI.format(srid))
    if uri not in SUPPORTED_CRS:
        supported = ", ".join(sorted({f"EPSG:{c.srid}" for c in SUPPORTED_CRS.values()}))
        raise SourceError(
            f"{path}: EPSG:{srid} is not supported by the API; reproject the file to one of "
            f"{supported} (e.g. ogr2ogr -t_srs EPSG:25832)"
        )
    return uri


def read_plots(
    path: Path,
    *,
    id_field: str,
    mapping: Mapping[str, str],
    municipality: str | None = None,
    layer: str | None = None,
) -> PlotSource:
    """Features with properties named as the API expects, in the file's CRS."""
    try:
        meta, _, geometries, values = pyogrio.raw.read(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"{path}: {exc}") from exc
    fields: Sequence[str] = [str(f) for f in meta["fields"]]
    if id_field not in fields:
        raise SourceError(f"{path}: no field {id_field!r} for the external id; fields: {fields}")
    targets: dict[str, str] = {}
    for source in fields:
        target = mapping.get(source, source)
        if source == id_field:
            target = "external_id"
        if target in PROPERTY_NAMES:
            targets[source] = target
    features = []
    for row, wkb in enumerate(geometries):
        properties: dict[str, Any] = {}
        for column, source in enumerate(fields):
            if source in targets:
                value = _value(values[column][row])
                if value is not None:
                    properties[targets[source]] = _property(targets[source], value)
        if municipality and "municipality_ags" not in properties:
            properties["municipality_ags"] = municipality
        features.append(
            {"type": "Feature", "geometry": wkb_to_geojson(wkb), "properties": properties}
        )
    return PlotSource(
        features=features,
        crs_uri=crs_uri(meta.get("crs"), path),
        ignored_fields=[f for f in fields if f not in targets],
    )
