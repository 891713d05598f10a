"""GeoJSON (streamed feature by feature) and GeoPackage (written chunk by chunk with pyogrio,
then streamed from the file): memory stays at one chunk of rows however many plots there are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw

from landmarket.reports.tables import Column

GEOJSON_MEDIA_TYPE = "application/geo+json"
GPKG_MEDIA_TYPE = "application/geopackage+sqlite3"
GPKG_CRS = "EPSG:25832"
# GeoPackage 1.2: GDAL 3.6 (still common in municipal QGIS installs) warns that a 1.4 file
# (what newer GDAL writes by default) "may only be partially supported"; 1.2 holds every
# type written here and every GDAL since 2.2 reads it without a word.
GPKG_VERSION = "1.2"


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def feature_chunk(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], first: bool) -> str:
    """Features as text, comma-separated (a leading comma unless ``first``); the geometry
    arrives as GeoJSON text from PostGIS and is spliced in without parsing."""
    parts = []
    for row in rows:
        props = {c.name: _jsonable(row[c.name]) for c in columns}
        if "suppressed" in row:
            props["suppressed"] = row["suppressed"]
        body = json.dumps({"type": "Feature", "properties": props}, ensure_ascii=False)
        parts.append(body[:-1] + ', "geometry": ' + (row["geom"] or "null") + "}")
    text = ",\n".join(parts)
    return text if first or not text else ",\n" + text


def collection_head(name: str) -> str:
    return f'{{"type": "FeatureCollection", "name": {json.dumps(name)}, "features": [\n'


COLLECTION_TAIL = "\n]}\n"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _array(column: Column, values: list[Any]) -> tuple[np.ndarray[Any, Any], Any]:
    """A numpy array for pyogrio, and the null mask where the dtype has no null value."""
    mask = np.array([v is None for v in values], dtype=bool)
    if column.kind == "float":
        return np.array([np.nan if v is None else v for v in values], dtype="float64"), None
    if column.kind == "int":
        return np.array([v or 0 for v in values], dtype="int64"), mask
    if column.kind == "bool":
        return np.array([bool(v) for v in values], dtype=bool), mask
    if column.kind == "date":
        return np.array(
            [np.datetime64("NaT") if v is None else np.datetime64(v, "D") for v in values],
            dtype="datetime64[D]",
        ), None
    if column.kind == "datetime":  # stored in UTC
        return np.array(
            [np.datetime64("NaT") if v is None else np.datetime64(_utc(v), "ms") for v in values],
            dtype="datetime64[ms]",
        ), None
    if column.kind == "list":  # GeoPackage has no list type: comma-separated text
        return np.array([None if v is None else ", ".join(v) for v in values], dtype=object), None
    return np.array([None if v is None else str(v) for v in values], dtype=object), None


def write_gpkg_chunk(
    path: Path,
    layer: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    append: bool,
    extra_bool: str | None = None,
) -> None:
    """Append rows (with ``geom`` as WKB in EPSG:25832) to a GeoPackage layer."""
    cols = list(columns)
    if extra_bool is not None:
        cols.append(Column(extra_bool, "bool"))
    arrays, masks = [], []
    for c in cols:
        data, mask = _array(c, [r[c.name] for r in rows])
        arrays.append(data)
        masks.append(mask)
    geometry = np.array([bytes(r["geom"]) for r in rows], dtype=object)
    pyogrio.raw.write(
        str(path),
        geometry,
        arrays,
        [c.name for c in cols],
        field_mask=masks if any(m is not None for m in masks) else None,
        layer=layer,
        driver="GPKG",
        geometry_type="MultiPolygon",
        crs=GPKG_CRS,
        append=append,
        encoding="UTF-8",
        dataset_options=None if append else {"VERSION": GPKG_VERSION},
    )
