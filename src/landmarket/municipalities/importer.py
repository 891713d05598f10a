"""Import municipality boundaries (Shapefile, GeoPackage, GeoJSON) into PostGIS.

Reading and row validation happen in Python; geometry work (reprojection, repair, merging
parts of one AGS) happens in PostGIS in one set-based statement over a COPY-filled staging
table, which keeps the 11,000-row VG5000 import at a few seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    LargeBinary,
    MetaData,
    String,
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
from landmarket.municipalities.reader import (
    FieldNames,
    InvalidRow,
    MunicipalityImportError,
    SourceFeature,
    ValidRow,
    read_file,
    validate_row,
)

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_COPY_CHUNK = 2000


class InvalidRowsError(MunicipalityImportError):
    def __init__(self, report: ImportReport) -> None:
        rows = report.invalid_rows
        super().__init__(
            f"{len(rows)} invalid row(s), nothing was written "
            "(fix them or pass --skip-invalid): " + "; ".join(str(r) for r in rows[:5])
        )
        self.report = report


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
    # The licence line stored with the boundaries (None: not given, not recognised).
    attribution: str | None = None

    @property
    def municipalities(self) -> int:
        return self.created + self.updated


class Progress(Protocol):
    def start(self, stage: str, total: int | None = None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class _NoProgress:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


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


async def _stage(session: AsyncSession, rows: Sequence[ValidRow], progress: Progress) -> None:
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


_BKG = re.compile(r"vg(?:250|1000|2500|5000)(?:\D.*?)?((?:19|20)\d{2})?(?:\D|$)", re.IGNORECASE)


def recognised_attribution(path: Path) -> str | None:
    """The licence line of a boundary set recognised by its file name: BKG's VG250, VG1000,
    VG2500 and VG5000 (with the year when the name carries one). None: not recognised."""
    match = _BKG.search(str(path))
    if match is None:
        return None
    year = f" {match.group(1)}" if match.group(1) else ""
    return f"© GeoBasis-DE / BKG{year} (Daten verändert)"


async def _upsert_municipalities(
    session: AsyncSession, srid: int, attribution: str | None
) -> tuple[int, int]:
    staged_ags = select(_staging.c.ags).distinct()
    existing = await session.scalar(
        select(func.count()).select_from(Municipality).where(Municipality.ags.in_(staged_ags))
    )
    merged = select(
        _staging.c.ags,
        _first(_staging.c.name),
        _first(_staging.c.kind),
        func.ST_Multi(func.ST_CollectionExtract(func.ST_Union(_part_geometry(srid)), 3)),
        literal(attribution, String),
    ).group_by(_staging.c.ags)
    stmt = insert(Municipality).from_select(
        ["ags", "name", "kind", "boundary", "attribution"], merged
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Municipality.ags],
        set_={
            "name": stmt.excluded.name,
            "kind": stmt.excluded.kind,
            "boundary": stmt.excluded.boundary,
            "attribution": stmt.excluded.attribution,
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
    attribution: str | None = None,
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
    report = ImportReport(region=region, srid=srid, attribution=attribution)
    feature_list = list(features)
    progress.start("validating", len(feature_list))
    kept: list[ValidRow] = []
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
    kept: list[ValidRow],
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
    report.created, report.updated = await _upsert_municipalities(
        session, report.srid, report.attribution
    )
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
    attribution: str | None = None,
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
        attribution=attribution or recognised_attribution(path),
    )
    report.source = str(path)
    report.seconds = time.perf_counter() - started
    return report
