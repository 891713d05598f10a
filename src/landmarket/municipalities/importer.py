"""Import municipality boundaries (Shapefile, GeoPackage, GeoJSON) into PostGIS.

Reading and row validation happen in Python; geometry work (reprojection, repair, merging
parts of one AGS) happens in PostGIS in one set-based statement over a COPY-filled staging
table, which keeps the 11,000-row VG5000 import at a few seconds.
"""

from __future__ import annotations

import math
import re
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyogrio
import pyogrio.errors
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    column,
    delete,
    exists,
    func,
    literal,
    select,
    table,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from landmarket.db.base import STORAGE_SRID
from landmarket.municipalities.models import Municipality, Region, region_municipalities

AGS_PATTERN = re.compile(r"[0-9]{8}")
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# BKG VG250/VG5000 "GF" (Geofaktor): 1/2 water without/with structure, 3/4 land
# without/with structure, 9 land and water combined (VG5000). See docs/municipalities.md.
WATER_GF = frozenset({1, 2})
LAND_GF = frozenset({3, 4, 9})
DEFAULT_KIND = "Gemeinde"
MAX_NAME = 200  # column widths of the municipalities table
MAX_KIND = 100
_COPY_CHUNK = 2000
_EPSG = re.compile(r"^EPSG:(\d+)$", re.IGNORECASE)


class MunicipalityImportError(Exception):
    """The import cannot run or was refused; nothing was written."""


class InvalidRowsError(MunicipalityImportError):
    def __init__(self, report: ImportReport) -> None:
        rows = report.invalid_rows
        super().__init__(
            f"{len(rows)} invalid row(s), nothing was written "
            "(fix them or pass --skip-invalid): " + "; ".join(str(r) for r in rows[:5])
        )
        self.report = report


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


@dataclass
class ImportReport:
    region: str
    srid: int
    source: str = ""
    rows_read: int = 0
    parts_dropped_water: int = 0
    water_only_ags: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    region_members_added: int = 0
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def municipalities(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class FieldNames:
    ags: str = "AGS"
    name: str = "GEN"
    kind: str = "BEZ"
    gf: str = "GF"


class Progress(Protocol):
    def start(self, stage: str, total: int | None = None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class _NoProgress:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


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
class _Row:
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


def validate_row(number: int, feature: SourceFeature) -> _Row | InvalidRow:
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
    return _Row(number, ags, name, kind or DEFAULT_KIND, feature.wkb, water)


# --- writing -------------------------------------------------------------------------------

# A private staging table per transaction; ON COMMIT DROP cleans it up in every outcome.
_staging = Table(
    "landmarket_municipality_import",
    MetaData(),
    Column("row_no", Integer, nullable=False),
    Column("ags", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("wkb", LargeBinary, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


_srs = table("spatial_ref_sys", column("srid", Integer))


def _part_geometry(srid: int) -> Any:
    """One staged part, repaired and in storage CRS, keeping only its polygonal pieces."""
    geom = func.ST_SetSRID(func.ST_GeomFromWKB(_staging.c.wkb), srid)
    if srid != STORAGE_SRID:
        geom = func.ST_Transform(geom, STORAGE_SRID)
    return func.ST_CollectionExtract(func.ST_MakeValid(geom), 3)


async def _stage(session: AsyncSession, rows: Sequence[_Row], progress: Progress) -> None:
    await session.execute(CreateTable(_staging, if_not_exists=True))
    await session.execute(delete(_staging))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    progress.start("uploading", len(rows))
    for start in range(0, len(rows), _COPY_CHUNK):
        chunk = rows[start : start + _COPY_CHUNK]
        await driver.copy_records_to_table(
            _staging.name,
            records=[(r.row, r.ags, r.name, r.kind, r.wkb) for r in chunk],
            columns=["row_no", "ags", "name", "kind", "wkb"],
        )
        progress.advance(len(chunk))


async def _degenerate_rows(session: AsyncSession, srid: int) -> list[InvalidRow]:
    """Parts that are polygons on paper but have no area once repaired (e.g. zero-width)."""
    part = _part_geometry(srid)
    stmt = (
        select(_staging.c.row_no, _staging.c.ags)
        .where(func.coalesce(func.ST_Area(part), 0) <= 0)
        .order_by(_staging.c.row_no)
    )
    result = await session.execute(stmt)
    return [InvalidRow(r.row_no, f"AGS {r.ags}: geometry has no area") for r in result]


def _first(col: ColumnElement[str]) -> ColumnElement[str]:
    """The value of the first row (file order) of an AGS: parts share name and kind."""
    ordered = func.array_agg(aggregate_order_by(col, _staging.c.row_no))
    return type_coerce(ordered, ARRAY(Text))[1]


async def _upsert_municipalities(session: AsyncSession, srid: int) -> tuple[int, int]:
    staged_ags = select(_staging.c.ags).distinct()
    existing = await session.scalar(
        select(func.count()).select_from(Municipality).where(Municipality.ags.in_(staged_ags))
    )
    merged = select(
        _staging.c.ags,
        _first(_staging.c.name),
        _first(_staging.c.kind),
        func.ST_Multi(func.ST_CollectionExtract(func.ST_Union(_part_geometry(srid)), 3)),
    ).group_by(_staging.c.ags)
    stmt = insert(Municipality).from_select(["ags", "name", "kind", "boundary"], merged)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Municipality.ags],
        set_={
            "name": stmt.excluded.name,
            "kind": stmt.excluded.kind,
            "boundary": stmt.excluded.boundary,
            "updated_at": func.now(),
        },
    )
    result = await session.execute(stmt)
    total = int(getattr(result, "rowcount", 0) or 0)
    return total - int(existing or 0), int(existing or 0)


async def _upsert_region(session: AsyncSession, slug: str, name: str | None) -> int:
    """Create or rename the region and add the imported AGS as members.

    Members are only added, never removed: a region may be assembled from several files.
    """
    stmt = insert(Region).values(slug=slug, name=name or slug)
    if name:
        stmt = stmt.on_conflict_do_update(index_elements=[Region.slug], set_={"name": name})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=[Region.slug])
    await session.execute(stmt)
    members = region_municipalities
    new_members = (
        select(literal(slug), _staging.c.ags)
        .where(~exists().where(members.c.region_slug == slug, members.c.ags == _staging.c.ags))
        .distinct()
    )
    result = await session.execute(
        insert(members).from_select(["region_slug", "ags"], new_members).on_conflict_do_nothing()
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_slug(slug: str) -> None:
    if not SLUG_PATTERN.fullmatch(slug):
        raise MunicipalityImportError(
            f"region slug {slug!r} must be lowercase letters, digits and '-' "
            "(starting with a letter or digit, at most 63 characters)"
        )


async def import_features(
    session: AsyncSession,
    features: Iterable[SourceFeature],
    *,
    srid: int,
    region: str,
    region_name: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate, merge by AGS and upsert; add the AGS to ``region``.

    Runs in a savepoint of the caller's transaction: on any error (including invalid rows
    without ``skip_invalid``) nothing is written and the caller's transaction stays usable.
    """
    started = time.perf_counter()
    progress = progress or _NoProgress()
    check_slug(region)
    known = select(func.count()).select_from(_srs).where(_srs.c.srid == srid)
    if not await session.scalar(known):
        raise MunicipalityImportError(f"EPSG:{srid} is not a CRS PostGIS knows")
    report = ImportReport(region=region, srid=srid)
    feature_list = list(features)
    progress.start("validating", len(feature_list))
    kept: list[_Row] = []
    water_ags: set[str] = set()
    for number, feature in enumerate(feature_list, start=1):
        checked = validate_row(number, feature)
        if isinstance(checked, InvalidRow):
            report.invalid_rows.append(checked)
        elif checked.water:
            report.parts_dropped_water += 1
            water_ags.add(checked.ags)
        else:
            kept.append(checked)
        if number % 1000 == 0:
            progress.advance(1000)
    progress.advance(len(feature_list) % 1000)
    report.rows_read = len(feature_list)

    try:
        async with session.begin_nested():
            await _write(session, report, kept, skip_invalid, region_name, progress)
    except DBAPIError as exc:
        raise MunicipalityImportError(f"PostGIS refused the geometries: {exc.orig}") from exc
    report.water_only_ags = sorted(water_ags - {r.ags for r in kept})
    report.seconds = time.perf_counter() - started
    return report


async def _write(
    session: AsyncSession,
    report: ImportReport,
    kept: list[_Row],
    skip_invalid: bool,
    region_name: str | None,
    progress: Progress,
) -> None:
    if report.invalid_rows and not skip_invalid:
        raise InvalidRowsError(report)
    await _stage(session, kept, progress)
    progress.start("checking geometries")
    degenerate = await _degenerate_rows(session, report.srid)
    if degenerate:
        report.invalid_rows = sorted(report.invalid_rows + degenerate, key=lambda r: r.row)
        if not skip_invalid:
            raise InvalidRowsError(report)
        await session.execute(
            delete(_staging).where(_staging.c.row_no.in_([r.row for r in degenerate]))
        )
    if not await session.scalar(select(func.count()).select_from(_staging)):
        raise MunicipalityImportError("no valid land parts to import")
    progress.start("merging parts by AGS")
    report.created, report.updated = await _upsert_municipalities(session, report.srid)
    report.region_members_added = await _upsert_region(session, report.region, region_name)


async def import_file(
    session: AsyncSession,
    path: Path,
    *,
    region: str,
    region_name: str | None = None,
    names: FieldNames = FieldNames(),
    srid: int | None = None,
    layer: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read ``path`` (Shapefile, GeoPackage, GeoJSON or a shapefile directory), import it."""
    started = time.perf_counter()
    progress = progress or _NoProgress()
    check_slug(region)
    progress.start("reading")
    features, file_srid_ = read_file(path, names, srid=srid, layer=layer)
    report = await import_features(
        session,
        features,
        srid=file_srid_,
        region=region,
        region_name=region_name,
        skip_invalid=skip_invalid,
        progress=progress,
    )
    report.source = str(path)
    report.seconds = time.perf_counter() - started
    return report
