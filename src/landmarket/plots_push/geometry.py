"""Geometry on the client: WKB → GeoJSON, points → approximate squares, reprojection.

No geometry library is needed: WKB is decoded here, and reprojection runs in GDAL (bundled
with pyogrio) by reading the data through an OGR VRT with a warped layer.
"""

from __future__ import annotations

import csv
import math
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pyogrio.errors
import pyogrio.raw

# Projected CRS in metres the API accepts: a point's square can be drawn in them directly.
METRIC_SRIDS = frozenset({25832, 25833, 31467})
TARGET_SRID = 25832


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
    if kind == 1:
        values = struct.unpack_from(order + "d" * dims, data, pos)
        return {"type": "Point", "coordinates": list(values[:2])}, pos + 8 * dims
    if kind == 3:
        (rings,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        coords = []
        for _ in range(rings):
            ring, pos = _ring(data, pos, order, dims)
            coords.append(ring)
        return {"type": "Polygon", "coordinates": coords}, pos
    if kind in (4, 6):
        (parts,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        members = []
        for _ in range(parts):
            part, pos = _geometry(data, pos)
            members.append(part["coordinates"])
        if kind == 4:
            return {"type": "MultiPoint", "coordinates": members}, pos
        return {"type": "MultiPolygon", "coordinates": members}, pos
    names = {2: "LineString", 5: "MultiLineString"}
    # Not a plot; refused with a message naming the geometry type.
    return {"type": names.get(kind, "GeometryCollection"), "coordinates": []}, len(data)


def wkb_to_geojson(data: bytes | None) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        return _geometry(bytes(data))[0]
    except (struct.error, IndexError):
        return {"type": "unreadable", "coordinates": []}


def point_of(geometry: dict[str, Any]) -> tuple[float, float] | None:
    """The point of a Point, or of a MultiPoint with one member."""
    coords = geometry.get("coordinates")
    if geometry.get("type") == "Point" and coords:
        return float(coords[0]), float(coords[1])
    if geometry.get("type") == "MultiPoint" and coords and len(coords) == 1:
        return float(coords[0][0]), float(coords[0][1])
    return None


def square(centre: tuple[float, float], area_m2: float) -> dict[str, Any]:
    """An axis-parallel square of ``area_m2`` around ``centre`` (metric CRS)."""
    half = math.sqrt(area_m2) / 2
    x, y = centre
    ring = [
        [x - half, y - half],
        [x + half, y - half],
        [x + half, y + half],
        [x - half, y + half],
        [x - half, y - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _warped_vrt(inner: str, target_srid: int) -> str:
    return (
        "<OGRVRTDataSource><OGRVRTWarpedLayer>"
        f"{inner}<TargetSRS>EPSG:{target_srid}</TargetSRS>"
        "</OGRVRTWarpedLayer></OGRVRTDataSource>"
    )


def _read_warped(csv_path: Path, source_srs: str, target_srid: int) -> dict[int, Any]:
    layer = csv_path.stem
    inner = (
        f'<OGRVRTLayer name="{escape(layer)}">'
        f"<SrcDataSource>{escape(str(csv_path))}</SrcDataSource>"
        f"<SrcLayer>{escape(layer)}</SrcLayer>"
        f"<LayerSRS>{escape(source_srs)}</LayerSRS>"
        '<GeometryField encoding="WKT" field="wkt"/>'
        '<Field name="idx" type="Integer"/>'
        "</OGRVRTLayer>"
    )
    vrt = csv_path.with_suffix(".vrt")
    vrt.write_text(_warped_vrt(inner, target_srid), encoding="utf-8")
    _, _, geometries, values = pyogrio.raw.read(vrt)
    out = {}
    for idx, wkb in zip(values[0], geometries, strict=True):
        geometry = wkb_to_geojson(wkb)
        if geometry is not None and _finite(geometry.get("coordinates")):
            out[int(idx)] = geometry
    return out


def _finite(coords: Any) -> bool:
    if isinstance(coords, list):
        return bool(coords) and all(_finite(c) for c in coords)
    return isinstance(coords, float | int) and math.isfinite(coords)


def reproject(
    geometries: Sequence[dict[str, Any] | None],
    source_srs: str,
    target_srid: int = TARGET_SRID,
) -> list[dict[str, Any] | None]:
    """Each geometry from ``source_srs`` (e.g. "EPSG:2056") to ``target_srid`` with GDAL;
    None where it cannot be transformed (that row is refused, the others go on)."""
    wkts = [to_wkt(g) for g in geometries]
    result: list[dict[str, Any] | None] = [None] * len(geometries)
    with tempfile.TemporaryDirectory(prefix="landmarket-push-") as tmp:
        counter = 0

        def run(indexes: list[int]) -> None:
            nonlocal counter
            if not indexes:
                return
            counter += 1
            path = Path(tmp) / f"part{counter}.csv"
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["idx", "wkt"])
                writer.writerows([i, wkts[i]] for i in indexes)
            try:
                for i, geometry in _read_warped(path, source_srs, target_srid).items():
                    result[i] = geometry
            except (pyogrio.errors.DataSourceError, pyogrio.errors.FeatureError):
                # One bad geometry fails the whole read: halve until it is found. Only bad
                # input takes this path.
                if len(indexes) > 1:
                    middle = len(indexes) // 2
                    run(indexes[:middle])
                    run(indexes[middle:])

        run([i for i, w in enumerate(wkts) if w])
    return result


def _wkt_ring(ring: list[list[float]]) -> str:
    return "(" + ", ".join(f"{p[0]!r} {p[1]!r}" for p in ring) + ")"


def to_wkt(geometry: dict[str, Any] | None) -> str:
    """GeoJSON → WKT for the errors file (so a refused row can be fixed and pushed again)."""
    if not geometry:
        return ""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    try:
        if kind == "Point":
            return f"POINT ({coords[0]!r} {coords[1]!r})"
        if kind == "MultiPoint":
            return "MULTIPOINT (" + ", ".join(f"({p[0]!r} {p[1]!r})" for p in coords) + ")"
        if kind == "Polygon":
            return "POLYGON (" + ", ".join(_wkt_ring(r) for r in coords) + ")"
        if kind == "MultiPolygon":
            parts = ("(" + ", ".join(_wkt_ring(r) for r in p) + ")" for p in coords)
            return "MULTIPOLYGON (" + ", ".join(parts) + ")"
    except (IndexError, TypeError):
        return ""
    return ""
