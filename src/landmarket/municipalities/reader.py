"""Reading boundary files with pyogrio and validating their rows (no database access)."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio
import pyogrio.errors
import pyogrio.raw

AGS_PATTERN = re.compile(r"[0-9]{8}")
# BKG VG250/VG5000 "GF" (Geofaktor): 1/2 water without/with structure, 3/4 land
# without/with structure, 9 land and water combined (VG5000). See docs/municipalities.md.
WATER_GF = frozenset({1, 2})
LAND_GF = frozenset({3, 4, 9})
DEFAULT_KIND = "Gemeinde"
MAX_NAME = 200  # column widths of the municipalities table
MAX_KIND = 100
_EPSG = re.compile(r"^EPSG:(\d+)$", re.IGNORECASE)


class MunicipalityImportError(Exception):
    """The import cannot run or was refused; nothing was written."""


@dataclass(frozen=True)
class SourceFeature:
    """One row as read from a file, before validation (values keep their source types)."""

    ags: object
    name: object
    wkb: bytes | None
    kind: object = None
    gf: object = None


@dataclass(frozen=True)
class InvalidRow:
    row: int  # 1-based, in file order
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True)
class FieldNames:
    ags: str = "AGS"
    name: str = "GEN"
    kind: str = "BEZ"
    gf: str = "GF"


# --- reading -------------------------------------------------------------------------------


def _choose_layer(path: Path, layer: str | None) -> str | None:
    if layer is not None:
        return layer
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    if len(layers) <= 1:
        return None
    # A VG250 directory holds one layer per level (STA, LAN, RBZ, KRS, VWG, GEM).
    gem = [name for name in layers if name.upper().endswith("_GEM")]
    if len(gem) == 1:
        return gem[0]
    raise MunicipalityImportError(
        f"{path} has several layers ({', '.join(layers)}); choose one with --layer"
    )


def _find_field(fields: Sequence[str], wanted: str) -> str | None:
    by_upper = {f.upper(): f for f in fields}
    return by_upper.get(wanted.upper())


def file_srid(crs: str | None) -> int | None:
    match = _EPSG.match(crs or "")
    return int(match.group(1)) if match else None


def read_file(
    path: Path,
    names: FieldNames = FieldNames(),
    *,
    srid: int | None = None,
    layer: str | None = None,
) -> tuple[list[SourceFeature], int]:
    """Read the features and the file's EPSG code (``srid`` overrides a missing or wrong one)."""
    try:
        layer = _choose_layer(path, layer)
        info = pyogrio.read_info(path, layer=layer)
        fields = [str(f) for f in info["fields"]]
        ags_field = _find_field(fields, names.ags)
        name_field = _find_field(fields, names.name)
        missing = [f"{n!r}" for n, f in ((names.ags, ags_field), (names.name, name_field)) if not f]
        if missing:
            raise MunicipalityImportError(
                f"{path}: no field {' or '.join(missing)}; the file has {', '.join(fields)} "
                "(name the fields with --ags-field / --name-field)"
            )
        assert ags_field is not None and name_field is not None
        kind_field = _find_field(fields, names.kind)
        gf_field = _find_field(fields, names.gf)
        columns = [f for f in (ags_field, name_field, kind_field, gf_field) if f]
        meta, _, geometries, values = pyogrio.raw.read(
            path, layer=layer, columns=columns, force_2d=True
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise MunicipalityImportError(f"cannot read {path}: {exc}") from exc

    srid = srid or file_srid(meta.get("crs"))
    if srid is None:
        raise MunicipalityImportError(
            f"{path}: the file names no EPSG code (CRS: {meta.get('crs') or 'none'}); pass --srid"
        )
    # pyogrio returns the columns in file order, not in the order asked for.
    returned = [str(f) for f in meta["fields"]]
    by_name = {name: [_py(v) for v in col] for name, col in zip(returned, values, strict=True)}
    count = len(geometries)

    def column(name: str | None) -> list[object]:
        return by_name[name] if name else [None] * count

    features = [
        SourceFeature(ags=a, name=n, kind=k, gf=g, wkb=w)
        for a, n, k, g, w in zip(
            column(ags_field),
            column(name_field),
            column(kind_field),
            column(gf_field),
            geometries,
            strict=True,
        )
    ]
    return features, srid


def _py(value: Any) -> object:
    """numpy scalar -> Python value; NaN (a null in a float column) -> None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# --- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidRow:
    """A row that passed validation; `water` parts are counted, then left out."""

    row: int
    ags: str
    name: str
    kind: str
    wkb: bytes
    water: bool


def normalize_ags(value: object) -> str | None:
    """Text AGS must already be 8 digits. Integer-typed fields lose the leading zero of
    Länder 01-09 (e.g. 1001000 for Flensburg), so integers are zero-padded to 8 digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:08d}" if 0 <= value < 10**8 else None
    if isinstance(value, str):
        text = value.strip()
        return text if AGS_PATTERN.fullmatch(text) else None
    return None


def _gf(value: object) -> int | str | None:
    if value is None or value == "":
        return None
    try:
        gf = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
    except ValueError:
        return f"GF {value!r} is not a number"
    if gf in WATER_GF or gf in LAND_GF:
        return gf
    return f"GF {gf} is not a documented BKG Geofaktor (1, 2, 3, 4 or 9)"


def _polygonal(wkb: bytes | None) -> str | None:
    """Why the WKB is not a non-empty (Multi)Polygon, or None if it is."""
    if not wkb or len(wkb) < 9:
        return "no geometry"
    order = "<" if wkb[0] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", wkb, 1)
    offset = 9 if code & 0x20000000 else 5  # EWKB may carry an SRID after the type
    base = (code & 0x0FFFFFFF) % 1000  # drop EWKB flags and ISO Z/M thousands
    if base not in (3, 6):
        names = {1: "Point", 2: "LineString", 4: "MultiPoint", 5: "MultiLineString"}
        return f"geometry is a {names.get(base, 'GeometryCollection')}, not a polygon"
    (parts,) = struct.unpack_from(order + "I", wkb, offset)
    return "geometry is empty" if parts == 0 else None


def validate_row(number: int, feature: SourceFeature) -> ValidRow | InvalidRow:
    ags = normalize_ags(feature.ags)
    if ags is None:
        return InvalidRow(number, f"AGS {feature.ags!r} is not 8 digits")
    name = feature.name.strip() if isinstance(feature.name, str) else ""
    if not name:
        return InvalidRow(number, f"AGS {ags}: name is empty")
    if len(name) > MAX_NAME:
        return InvalidRow(number, f"AGS {ags}: name longer than {MAX_NAME} characters")
    kind = feature.kind.strip() if isinstance(feature.kind, str) else ""
    if len(kind) > MAX_KIND:
        return InvalidRow(number, f"AGS {ags}: kind longer than {MAX_KIND} characters")
    gf = _gf(feature.gf)
    if isinstance(gf, str):
        return InvalidRow(number, f"AGS {ags}: {gf}")
    problem = _polygonal(feature.wkb)
    if problem:
        return InvalidRow(number, f"AGS {ags}: {problem}")
    assert feature.wkb is not None
    water = gf in WATER_GF
    return ValidRow(number, ags, name, kind or DEFAULT_KIND, feature.wkb, water)
