"""Reading what a GIS office has: GeoPackage, Shapefile, GeoJSON, CSV, XLSX (pyogrio/GDAL).

The file type is taken from the content, not the name (an XLSX named .csv is an XLSX). Tables
(CSV, XLSX) get their geometry from X/Y (or lon/lat) columns or a WKT column. Coordinates in a
CRS the API does not take are reprojected here, before sending.
"""

from __future__ import annotations

import contextlib
import csv
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyogrio
import pyogrio.errors
import pyogrio.raw

from landmarket.db.geo import CRS84, EPSG_URI, SUPPORTED_CRS
from landmarket.plots_push.geometry import (
    METRIC_SRIDS,
    TARGET_SRID,
    reproject,
    wkb_to_geojson,
)
from landmarket.plots_push.mapping import Mapping
from landmarket.plots_push.values import Refused, blank, to_number

_EPSG = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG::)(\d+)$", re.IGNORECASE)
_API_SRIDS = frozenset(c.srid for c in SUPPORTED_CRS.values())
# Column pairs recognised without being named: (x, y, implied CRS or None).
_XY_NAMES = (
    ("x", "y", None),
    ("rechtswert", "hochwert", None),
    ("ostwert", "nordwert", None),
    ("easting", "northing", None),
    ("lon", "lat", "EPSG:4326"),
    ("lng", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("laenge", "breite", "EPSG:4326"),
)
_WKT_NAMES = ("wkt", "geometry", "geom", "geometrie", "the_geom")


class SourceError(Exception):
    """The file cannot be read as plots; says what is wrong and what would help."""


@dataclass
class Table:
    fields: list[str]
    rows: list[dict[str, Any]]
    # GeoJSON geometry per row in ``srid`` (None: none; refused per row later).
    geometries: list[dict[str, Any] | None]
    srid: int
    # Per row, why its geometry could not be read (source column, value, expected form).
    geometry_problems: dict[int, tuple[str, Any, str]] = field(default_factory=dict)
    # Row number of the first data row as the office sees it (features 1, table lines 2).
    first_row: int = 1
    geometry_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def crs_uri(self) -> str:
        return CRS84 if self.srid == 4326 else EPSG_URI.format(self.srid)


def _sniff(path: Path) -> tuple[str, str]:
    """(GDAL driver, file suffix) from the first bytes of the file."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if head.startswith(b"SQLite format 3\x00"):
        return "GPKG", ".gpkg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{path}: a damaged ZIP/XLSX file") from exc
        if any(n.startswith("xl/") for n in names):
            return "XLSX", ".xlsx"
        if any(n.startswith("content.xml") for n in names):
            return "ODS", ".ods"
        if any(n.lower().endswith(".shp") for n in names):
            return "ESRI Shapefile", ".zip"
        raise SourceError(f"{path}: a ZIP file with neither a spreadsheet nor a Shapefile")
    if head[:4] == b"\x00\x00\x27\x0a":
        return "ESRI Shapefile", ".shp"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SourceError(f"{path}: an old Excel (.xls) file; save it as .xlsx or CSV")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "GeoJSON", ".geojson"
    if b"\x00" in head:
        raise SourceError(
            f"{path}: not a file type this command reads (GeoPackage, Shapefile, GeoJSON, "
            "CSV, XLSX)"
        )
    return "CSV", ".csv"


@contextlib.contextmanager
def _named(path: Path, suffix: str) -> Iterator[Path]:
    """The file under a name with the right suffix, so GDAL picks the right driver."""
    if path.suffix.lower() == suffix or suffix in (".shp", ".zip"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="landmarket-push-") as tmp:
        link = Path(tmp) / (path.stem + suffix)
        link.symlink_to(path.resolve())
        yield link


def _encoding(path: Path, driver: str) -> str | None:
    """CSV files from German offices are often Windows-1252, not UTF-8."""
    if driver != "CSV":
        return None
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return None


def _layer(path: Path, wanted: str | None, notes: list[str]) -> str:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(f"{path}: cannot be opened: {exc}") from exc
    if not layers:
        raise SourceError(f"{path}: the file has no layers")
    if wanted is not None:
        if wanted not in layers:
            raise SourceError(f"{path}: no layer {wanted!r}; layers: {', '.join(layers)}")
        return wanted
    if len(layers) > 1:
        notes.append(f"layers: {', '.join(layers)}; reading {layers[0]!r} (choose with --layer)")
    return layers[0]


def _srid(crs: str | None) -> int | None:
    match = _EPSG.match(crs or "")
    return int(match.group(1)) if match else None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _find(fields: list[str], name: str) -> str | None:
    for f in fields:
        if f.lower() == name:
            return f
    return None


def read_table(path: Path, mapping: Mapping) -> Table:
    if path.is_file() and path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")
    # GDAL's warnings (e.g. "Ignoring invalid WKT") become per-row errors of ours instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_table(path, mapping)


def _read_table(path: Path, mapping: Mapping) -> Table:
    driver, suffix = _sniff(path)
    notes: list[str] = []
    with _named(path, suffix) as named:
        layer = _layer(named, mapping.layer, notes)
        options: dict[str, Any] = {}
        if driver == "CSV":
            # Every CSV value as text: the conversions (decimal commas, dates) are ours.
            options = {"AUTODETECT_TYPE": "NO", "KEEP_GEOM_COLUMNS": "YES"}
        try:
            meta, _, wkbs, columns = pyogrio.raw.read(
                named, layer=layer, encoding=_encoding(named, driver), **options
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise SourceError(f"{path}: cannot be read: {exc}") from exc
        except (pyogrio.errors.FeatureError, UnicodeDecodeError, ValueError) as exc:
            raise SourceError(f"{path}: a feature cannot be read: {exc}") from exc
        fields = [str(f) for f in meta["fields"]]
        rows = (
            [
                {name: _plain(v) for name, v in zip(fields, values, strict=True)}
                for values in zip(*(c.tolist() for c in columns), strict=True)
            ]
            if fields
            else [{} for _ in range(len(wkbs))]
        )
        table_like = driver in ("CSV", "XLSX", "ODS")
        if table_like:
            # GDAL may have parsed a column named WKT itself; ours names the bad rows.
            meta = {**meta, "geometry_type": None}
        table = Table(
            fields=fields,
            rows=rows,
            geometries=[],
            srid=0,
            first_row=2 if table_like else 1,
            notes=notes,
        )
        try:
            _geometry(path, named, layer, meta, wkbs, mapping, table)
        except SourceError as exc:
            raise SourceError("; ".join([str(exc), *notes])) from exc
    return table


def _geometry(
    path: Path,
    named: Path,
    layer: str,
    meta: dict[str, Any],
    wkbs: Any,
    mapping: Mapping,
    table: Table,
) -> None:
    fields = table.fields
    x_name, y_name, implied = mapping.x, mapping.y, None
    wkt_name = mapping.wkt
    has_file_geometry = meta.get("geometry_type") is not None and wkt_name is None
    if (x_name is None) != (y_name is None):
        raise SourceError("give both the X and the Y column (--x-field and --y-field)")
    if x_name is None and wkt_name is None and not has_file_geometry:
        for xn, yn, crs in _XY_NAMES:
            fx, fy = _find(fields, xn), _find(fields, yn)
            if fx and fy:
                x_name, y_name, implied = fx, fy, crs
                break
        else:
            wkt_name = next((f for n in _WKT_NAMES if (f := _find(fields, n))), None)
    for name in (x_name, y_name, wkt_name):
        if name is not None and name not in fields:
            raise SourceError(f"{path}: no column {name!r}; columns: {', '.join(fields)}")
    if x_name is not None and y_name is not None:
        table.geometry_fields = [x_name, y_name]
        srid = _srid(mapping.crs or implied)
        if srid is None:
            raise SourceError(
                f"{path}: the coordinates in {x_name}/{y_name} need their CRS: --crs EPSG:<code> "
                "(e.g. EPSG:25832 for UTM 32N, EPSG:31467 for Gauss-Krüger zone 3, EPSG:4326 "
                "for lon/lat)"
            )
        _points_from_columns(table, x_name, y_name, srid)
    elif wkt_name is not None:
        table.geometry_fields = [wkt_name]
        srid = _srid(mapping.crs or meta.get("crs"))
        if srid is None:
            raise SourceError(
                f"{path}: the geometry in {wkt_name} needs its CRS: --crs EPSG:<code>"
            )
        geometries = _parse_wkt([r.get(wkt_name) for r in table.rows])
        table.geometries, table.srid = geometries, srid
        for i, (g, row) in enumerate(zip(geometries, table.rows, strict=True)):
            if g is None and not blank(row.get(wkt_name)):
                table.geometry_problems[i] = (wkt_name, row.get(wkt_name), "a WKT geometry")
    elif has_file_geometry:
        srid = _srid(mapping.crs or meta.get("crs"))
        if srid is None:
            raise SourceError(
                f"{path}: the file names no EPSG code (CRS: {meta.get('crs') or 'none'}); "
                "give it with --crs EPSG:<code>"
            )
        table.srid = srid
        table.geometries = [wkb_to_geojson(w) for w in wkbs]
    else:
        raise SourceError(
            f"{path}: no geometry: the table has no geometry column and no coordinate columns. "
            "Name them: --x-field and --y-field (with --crs EPSG:<code>), or --wkt-field. "
            f"Columns: {', '.join(fields) or 'none'}"
        )
    if table.srid not in _API_SRIDS:
        _reproject_all(table)  # a CRS the API does not take: EPSG:25832 before sending
    elif mapping.point_area_field is not None:
        _metric_points(table)


def _parse_wkt(texts: list[Any]) -> list[dict[str, Any] | None]:
    """WKT → GeoJSON through GDAL's CSV driver (a malformed text gives no geometry)."""
    with tempfile.TemporaryDirectory(prefix="landmarket-push-") as tmp:
        path = Path(tmp) / "wkt.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["idx", "WKT"])
            for i, t in enumerate(texts):
                writer.writerow([i, "" if blank(t) else str(t)])
        try:
            _, _, wkbs, columns = pyogrio.raw.read(path, GEOM_POSSIBLE_NAMES="WKT")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.FeatureError):
            return [None] * len(texts)
        result: list[dict[str, Any] | None] = [None] * len(texts)
        for idx, wkb in zip(columns[0].tolist(), wkbs, strict=True):
            result[int(idx)] = wkb_to_geojson(wkb)
        return result


def _points_from_columns(table: Table, x_name: str, y_name: str, srid: int) -> None:
    table.srid = srid
    for i, row in enumerate(table.rows):
        point = []
        for name in (x_name, y_name):
            value = row.get(name)
            try:
                if blank(value):
                    raise Refused("a coordinate (number)")
                point.append(to_number(value, "," if _decimal_comma(value) else None))
            except Refused as exc:
                table.geometry_problems[i] = (name, value, exc.expected)
                break
        table.geometries.append(
            {"type": "Point", "coordinates": point} if len(point) == 2 else None
        )


def _decimal_comma(value: Any) -> bool:
    # A coordinate is never grouped in thousands: a single comma is its decimal separator.
    return isinstance(value, str) and value.count(",") == 1 and "." not in value


_PLOTLIKE = frozenset({"Point", "MultiPoint", "Polygon", "MultiPolygon"})


def _reproject_all(table: Table) -> None:
    """Points and polygons to EPSG:25832 (other kinds are refused by type anyway)."""
    wanted = [g if g and g.get("type") in _PLOTLIKE else None for g in table.geometries]
    moved = reproject(wanted, f"EPSG:{table.srid}")
    name = "/".join(table.geometry_fields) or "geometry"
    for i, (before, after) in enumerate(zip(wanted, moved, strict=True)):
        if before is None:
            continue
        table.geometries[i] = after
        if after is None and i not in table.geometry_problems:
            table.geometry_problems[i] = (
                name,
                _position(before),
                f"a geometry GDAL can transform from EPSG:{table.srid}",
            )
    table.srid = TARGET_SRID


def _position(geometry: dict[str, Any]) -> str:
    """The first position of a geometry, to name it in an error."""
    coords: Any = geometry.get("coordinates")
    while isinstance(coords, list) and coords and isinstance(coords[0], list):
        coords = coords[0]
    if isinstance(coords, list) and len(coords) >= 2:
        return f"{geometry.get('type')} at {coords[0]:.10g} {coords[1]:.10g}"
    return str(geometry.get("type"))


def _metric_points(table: Table) -> None:
    """Points must be in metres to become squares of a given area: a file in lon/lat (or
    Web Mercator) goes to EPSG:25832 whole, polygons too."""
    if table.srid not in METRIC_SRIDS:
        _reproject_all(table)
