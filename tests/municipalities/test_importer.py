"""The boundary importer against a real PostGIS: layouts, GF handling, validation, upserts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.municipalities.importer import InvalidRowsError, import_file
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.municipalities.reader import FieldNames, MunicipalityImportError, normalize_ags
from tests.municipalities.conftest import feature, square, write_geojson

KM = 1000.0


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Municipality)) or 0)


async def get(session: AsyncSession, ags: str) -> Municipality:
    municipality = await session.get(Municipality, ags, populate_existing=True)
    assert municipality is not None
    return municipality


def bkg_file(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "vg250.geojson",
        [
            # 06411000 has a main part and an exclave: one MultiPolygon, areas added.
            feature(
                {"AGS": "06411000", "GEN": "Darmstadt", "BEZ": "Stadt", "GF": 4},
                square(470 * KM, 5520 * KM, 2 * KM),
            ),
            feature(
                {"AGS": "06411000", "GEN": "Darmstadt", "BEZ": "Stadt", "GF": 4},
                square(480 * KM, 5520 * KM, 1 * KM),
            ),
            # A water-only part (lake) of 06412000: dropped.
            feature(
                {"AGS": "06412000", "GEN": "Frankfurt am Main", "BEZ": "Stadt", "GF": 2},
                square(470 * KM, 5540 * KM, 1 * KM),
            ),
            feature(
                {"AGS": "06412000", "GEN": "Frankfurt am Main", "BEZ": "Stadt", "GF": 3},
                square(472 * KM, 5540 * KM, 3 * KM),
            ),
            # Only water: the AGS is not imported at all.
            feature(
                {"AGS": "08335099", "GEN": "Bodensee", "BEZ": "gemeindefreies Gebiet", "GF": 1},
                square(500 * KM, 5300 * KM, 5 * KM),
            ),
        ],
    )


async def test_bkg_layout_merges_parts_and_drops_water(
    session: AsyncSession, tmp_path: Path
) -> None:
    report = await import_file(session, bkg_file(tmp_path), region="test", region_name="Test")

    assert (report.rows_read, report.parts_dropped_water) == (5, 2)
    assert (report.created, report.updated) == (2, 0)
    assert report.water_only_ags == ["08335099"]
    assert report.srid == 25832
    darmstadt = await get(session, "06411000")
    assert darmstadt.area_m2 == pytest.approx(5 * KM * KM)
    assert (darmstadt.kind, darmstadt.district_ags) == ("Stadt", "06411")
    parts = await session.scalar(
        select(func.ST_NumGeometries(Municipality.boundary)).where(Municipality.ags == "06411000")
    )
    assert parts == 2
    assert (await get(session, "06412000")).area_m2 == pytest.approx(9 * KM * KM)
    assert await count(session) == 2
    region = await session.get(Region, "test")
    assert region is not None and region.name == "Test"
    members = await session.scalars(select(region_municipalities.c.ags).order_by("ags"))
    assert list(members) == ["06411000", "06412000"]


async def test_reimport_upserts_and_keeps_other_members(
    session: AsyncSession, tmp_path: Path
) -> None:
    await import_file(session, bkg_file(tmp_path), region="test")
    changed = write_geojson(
        tmp_path / "changed.geojson",
        [
            feature(
                {"AGS": "06411000", "GEN": "Wissenschaftsstadt Darmstadt", "BEZ": "Stadt"},
                square(470 * KM, 5520 * KM, 4 * KM),
            ),
            feature(
                {"AGS": "06413000", "GEN": "Offenbach am Main", "BEZ": "Stadt"},
                square(490 * KM, 5540 * KM, 1 * KM),
            ),
        ],
    )
    report = await import_file(session, changed, region="test")

    assert (report.created, report.updated, report.region_members_added) == (1, 1, 1)
    assert await count(session) == 3
    darmstadt = await get(session, "06411000")
    assert darmstadt.name == "Wissenschaftsstadt Darmstadt"
    assert darmstadt.area_m2 == pytest.approx(16 * KM * KM)
    assert darmstadt.updated_at >= darmstadt.created_at
    members = await session.scalar(select(func.count()).select_from(region_municipalities))
    assert members == 3  # 06412000 stays a member although the second file lacks it
    region = await session.get(Region, "test")
    assert region is not None and region.name == "test"  # defaults to the slug


async def test_other_layout_with_named_fields(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "gemeinden.gpkg"
    geometries = np.array(
        [
            shapely.to_wkb(shapely.box(400_000, 5_500_000, 401_000, 5_501_000)),
            shapely.to_wkb(shapely.box(401_000, 5_500_000, 402_000, 5_501_000)),
        ],
        dtype=object,
    )
    pyogrio.raw.write(
        path,
        geometries,
        [np.array([6411000, 6412000], dtype=np.int64), np.array(["Eins", "Zwei"], dtype=object)],
        fields=["schluessel", "bezeichnung"],
        geometry_type="Polygon",
        crs="EPSG:25832",
        driver="GPKG",
    )
    names = FieldNames(ags="SCHLUESSEL", name="Bezeichnung")
    report = await import_file(session, path, region="gpkg", names=names)

    assert report.created == 2
    one = await get(session, "06411000")  # integer field: leading zero restored
    assert (one.name, one.kind) == ("Eins", "Gemeinde")


async def test_missing_field_is_named(session: AsyncSession, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "x.geojson", [feature({"KEY": "06411000", "GEN": "A"}, square(0, 0, 1))]
    )
    with pytest.raises(MunicipalityImportError, match=r"no field 'AGS'.*--ags-field"):
        await import_file(session, path, region="x")


def shapefile_without_crs(tmp_path: Path) -> Path:
    path = tmp_path / "nocrs.shp"
    geometries = np.array(
        [shapely.to_wkb(shapely.box(3_470_000, 5_540_000, 3_471_000, 5_541_000))], dtype=object
    )
    pyogrio.raw.write(
        path,
        geometries,
        [np.array(["06412000"], dtype=object), np.array(["Frankfurt"], dtype=object)],
        fields=["AGS", "GEN"],
        geometry_type="Polygon",
        crs=None,
        driver="ESRI Shapefile",
    )
    return path


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
async def test_file_without_crs_needs_srid(session: AsyncSession, tmp_path: Path) -> None:
    path = shapefile_without_crs(tmp_path)
    with pytest.raises(MunicipalityImportError, match="--srid"):
        await import_file(session, path, region="x")
    report = await import_file(session, path, region="x", srid=31467)
    assert report.srid == 31467
    assert (await get(session, "06412000")).area_m2 == pytest.approx(1e6, rel=0.01)


def file_with_bad_rows(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "bad.geojson",
        [
            feature({"AGS": "06411000", "GEN": "Darmstadt"}, square(0, 0, 1000)),
            feature({"AGS": "6412", "GEN": "Frankfurt"}, square(2000, 0, 1000)),
            feature({"AGS": "06413000", "GEN": "  "}, square(4000, 0, 1000)),
            feature({"AGS": "06414000", "GEN": "Wiesbaden"}, None),
            feature({"AGS": "06415000", "GEN": "Flat"}, [[[0, 0], [1, 0], [2, 0], [0, 0]]]),
        ],
    )


async def test_bad_rows_are_reported_and_nothing_is_written(
    session: AsyncSession, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRowsError) as caught:
        await import_file(session, file_with_bad_rows(tmp_path), region="x")

    rows = {r.row: r.reason for r in caught.value.report.invalid_rows}
    assert set(rows) == {2, 3, 4}
    assert "not 8 digits" in rows[2] and "name is empty" in rows[3] and "no geometry" in rows[4]
    assert await count(session) == 0
    assert await session.get(Region, "x") is None


async def test_skip_invalid_writes_the_valid_rows(session: AsyncSession, tmp_path: Path) -> None:
    report = await import_file(session, file_with_bad_rows(tmp_path), region="x", skip_invalid=True)

    assert [r.row for r in report.invalid_rows] == [2, 3, 4, 5]  # 5: no area once repaired
    assert report.created == 1
    assert await count(session) == 1


async def test_degenerate_geometry_alone_blocks_the_import(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = write_geojson(
        tmp_path / "flat.geojson",
        [
            feature({"AGS": "06411000", "GEN": "Darmstadt"}, square(0, 0, 1000)),
            feature({"AGS": "06415000", "GEN": "Flat"}, [[[0, 0], [1, 0], [2, 0], [0, 0]]]),
        ],
    )
    with pytest.raises(InvalidRowsError, match="row 2"):
        await import_file(session, path, region="x")
    assert await count(session) == 0


async def test_bad_region_slug(session: AsyncSession, tmp_path: Path) -> None:
    with pytest.raises(MunicipalityImportError, match="slug"):
        await import_file(session, bkg_file(tmp_path), region="Rhein Main")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("06412000", "06412000"),
        (" 06412000 ", "06412000"),
        (6412000, "06412000"),
        (6412000.0, "06412000"),
        ("6412000", None),
        ("0641200a", None),
        (None, None),
        (123456789, None),
        (True, None),
        ("064120001", None),
    ],
)
def test_normalize_ags(value: object, expected: str | None) -> None:
    assert normalize_ags(value) == expected


async def test_frankfurt_rhein_main_file(session: AsyncSession, frm_file: Path) -> None:
    report = await import_file(session, frm_file, region="frm", region_name="FrankfurtRheinMain")

    assert report.created == 75 and not report.invalid_rows
    assert await count(session) == 75
    frankfurt = await get(session, "06412000")
    assert frankfurt.name == "Frankfurt am Main"
    assert frankfurt.area_m2 / 1e6 == pytest.approx(247.3, rel=0.01)
    members = await session.scalar(select(func.count()).select_from(region_municipalities))
    assert members == 75


@pytest.mark.slow
async def test_whole_vg5000_under_a_minute(session: AsyncSession, vg5000_dir: Path) -> None:
    _, _, _, (ags_values,) = pyogrio.raw.read(vg5000_dir, columns=["AGS"], read_geometry=False)
    distinct = len(set(ags_values.tolist()))

    started = time.perf_counter()
    report = await import_file(session, vg5000_dir, region="de", region_name="Deutschland")
    await session.commit()
    elapsed = time.perf_counter() - started

    assert elapsed < 60, f"VG5000 import took {elapsed:.1f} s"
    assert report.rows_read == 10_997 and not report.invalid_rows
    assert report.created == distinct
    assert await count(session) == distinct
    dupes = await session.scalar(select(func.count() - func.count(func.distinct(Municipality.ags))))
    assert dupes == 0
    print(f"VG5000: {report.rows_read} rows, {distinct} AGS in {elapsed:.2f} s")
