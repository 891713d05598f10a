"""`landmarket plots push` with the files municipal offices really have, generated here:
a GeoPackage with NULL booleans, a Shapefile with 0/1 and German decimal text, an XLSX (named
.csv) with X/Y in EPSG:25832 and German headers, a ;-separated CSV with decimal commas, a point
register in EPSG:31467 with hectares. Run against a real `landmarket serve`."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
import xlsxwriter
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import GeometryPrecision, Plot
from tests.plots.conftest import FRANKFURT, ORIGIN, World, count, table_hash
from tests.plots.test_push_cli import BIN, running_server

EXAMPLES = Path(__file__).resolve().parents[2] / "docs/examples"
X0, Y0 = ORIGIN[FRANKFURT]


def run(path: Path, base: str, key: str, *args: str) -> tuple[int, dict[str, Any], str]:
    command = [str(BIN / "landmarket"), "plots", "push", str(path), "--api", base, "--key", key]
    done = subprocess.run(
        [*command, "--json", *args], capture_output=True, text=True, timeout=120, check=False
    )
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, report, done.stdout + done.stderr


def boxes(n: int) -> list[shapely.Polygon]:
    return [shapely.box(X0 + 50 + i * 60, Y0 + 100, X0 + 100 + i * 60, Y0 + 150) for i in range(n)]


def write_kataster(path: Path, rows: list[dict[str, Any]], masks: dict[str, list[bool]]) -> None:
    """The Gewerbeflächenkataster layer "flaechen" and a second layer (multi-layer file)."""
    names = list(rows[0])
    fields = []
    for name in names:
        values = [r[name] for r in rows]
        kind = bool if isinstance(values[0], bool) else None
        fields.append(np.array(values, dtype=kind or object))
    geometry = np.array([shapely.to_wkb(b) for b in boxes(len(rows))], dtype=object)
    pyogrio.raw.write(
        path,
        geometry,
        fields,
        names,
        field_mask=[np.array(masks[n]) if n in masks else None for n in names],
        crs="EPSG:25832",
        geometry_type="Polygon",
        driver="GPKG",
        layer="flaechen",
    )
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(shapely.Point(X0 + 10, Y0 + 10))], dtype=object),
        [np.array(["Notiz"], dtype=object)],
        ["text"],
        crs="EPSG:25832",
        geometry_type="Point",
        driver="GPKG",
        layer="notizen",
        append=True,
    )


def kataster_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "FLAECHEN_ID": f"GF-{i:03d}",
            "AGS": FRANKFURT,
            "BEZEICHNUNG": f"Gewerbefläche {i}",
            "BESCHREIBUNG": "" if i % 2 else "Altes Werksgelände",
            "KATEGORIE": ["Brachfläche", "Baulücke", "Leerstand"][i % 3],
            "BAUNVO": ["GE", "GI", "§34"][i % 3],
            "GLASFASER": i % 2 == 0,
            "GLEISANSCHLUSS": i % 3 == 0,
            "PREIS_EUR_QM": ["136", "136,0", "1.234,5", ""][i % 4],
            "VERFUEGBAR_AB": "01.03.2027" if i % 2 else "",
            "TEILBAR": ["ja", "nein", "x", ""][i % 4],
            "MIN_TEILFL_HA": 0.5 + i,
            "INTERN": "nicht für die API",
        }
        for i in range(n)
    ]


async def test_geopackage_kataster_with_null_booleans_and_the_example_mapping(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    rows = kataster_rows(8)
    source = tmp_path / "kataster.gpkg"
    # GLASFASER is Integer(Boolean) with NULLs in rows 1 and 5: read as NaN.
    write_kataster(source, rows, {"GLASFASER": [i in (1, 5) for i in range(8)]})
    meta, _, _, columns = pyogrio.raw.read(source, layer="flaechen")
    assert np.isnan(columns[list(meta["fields"]).index("GLASFASER")][1])
    mapping = str(EXAMPLES / "gewerbeflaechenkataster.toml")

    with running_server(database_url, tmp_path) as base:
        code, report, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--mapping", mapping
        )
        assert code == 0, output
        assert (report["created"], report["failed"], report["written"]) == (8, 0, True), output
        assert "INTERN" in output  # listed as ignored

        stored = {p.external_id: p for p in (await session.scalars(select(Plot))).all()}
        assert stored["GF-000"].category.value == "brownfield"
        assert stored["GF-002"].zoning.value == "inner_area_34"
        assert [stored[f"GF-00{i}"].price_eur_per_m2 for i in range(4)] == [
            136.0,
            136.0,
            1234.5,
            None,
        ]
        assert stored["GF-001"].fibre_available is False  # NULL → the mapping's default
        assert stored["GF-004"].fibre_available is True
        assert str(stored["GF-001"].available_from) == "2027-03-01"
        assert [stored[f"GF-00{i}"].divisible for i in range(4)] == [True, False, True, False]
        assert stored["GF-003"].min_divisible_area_m2 == 35_000.0
        assert stored["GF-003"].geometry_precision is GeometryPrecision.exact

        # Values the mapping cannot read: nothing is written, each named by row, column, value.
        rows[2]["KATEGORIE"] = "Acker"
        rows[6]["VERFUEGBAR_AB"] = "31.02.2027"
        rows[4]["PREIS_EUR_QM"] = "teuer"
        write_kataster(tmp_path / "bad.gpkg", rows, {})
        before = await table_hash(session)
        errors = tmp_path / "errors.csv"
        code, report, output = await asyncio.to_thread(
            run, tmp_path / "bad.gpkg", base, world.frankfurt, "--mapping", mapping,
            "--errors", str(errors),
        )  # fmt: skip
        assert code == 1, output
        assert (report["written"], report["created"], report["failed"]) == (False, 0, 3)
        named = {(e["row"], e["field"], e["value"]) for e in report["errors"]}
        assert named == {
            (3, "KATEGORIE", "Acker"),
            (7, "VERFUEGBAR_AB", "31.02.2027"),
            (5, "PREIS_EUR_QM", "teuer"),
        }
        assert "Brachfläche" in next(
            e["detail"] for e in report["errors"] if e["field"] == "KATEGORIE"
        )
        assert {s["reason"].split(":")[0] for s in report["summary"]} == {
            "KATEGORIE",
            "VERFUEGBAR_AB",
            "PREIS_EUR_QM",
        }
        assert await table_hash(session) == before
        with errors.open(encoding="utf-8-sig") as f:
            refused = list(csv.DictReader(f, delimiter=";"))
        assert [r["FLAECHEN_ID"] for r in refused] == ["GF-002", "GF-004", "GF-006"]
        assert "KATEGORIE='Acker'" in refused[0]["error"]
        assert refused[0]["geometry_wkt"].startswith("POLYGON ((")

        # The other layer holds points: chosen with --layer, they are refused by name.
        code, report, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--layer", "notizen", "--id-field", "text",
            "--municipality", FRANKFURT, "--map", "text=title",
        )  # fmt: skip
        assert code == 1, output
        assert "--point-area-field" in report["errors"][0]["detail"]
        code, _, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--layer", "nope"
        )
        assert code == 2 and "flaechen, notizen" in output


async def test_shapefile_with_0_1_and_german_decimal_text(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    source = tmp_path / "flaechen.shp"
    n = 4
    pyogrio.raw.write(
        source,
        np.array([shapely.to_wkb(b) for b in boxes(n)], dtype=object),
        [
            np.array([f"S{i}" for i in range(n)], dtype=object),
            np.array([f"Fläche {i}" for i in range(n)], dtype=object),
            np.array([i % 2 for i in range(n)], dtype=np.int32),
            np.array(["1.234,5", "136,0", "12", ""], dtype=object),
            np.array(["0,5", "2", "", "1,25"], dtype=object),
        ],
        ["OBJ_ID", "NAME", "GLASFASER", "PREIS", "AUTOBAHNKM"],
        crs="EPSG:25832",
        geometry_type="Polygon",
        driver="ESRI Shapefile",
        encoding="UTF-8",
    )
    maps = ["--map", "NAME=title", "--map", "GLASFASER=fibre_available"]
    maps += ["--map", "PREIS=price_eur_per_m2", "--map", "AUTOBAHNKM=motorway_distance_km"]
    with running_server(database_url, tmp_path) as base:
        code, report, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--id-field", "OBJ_ID", *maps
        )
        assert code == 0, output
        assert report["created"] == n
        rows = (await session.execute(select(Plot).order_by(Plot.external_id))).scalars().all()
        assert [p.fibre_available for p in rows] == [False, True, False, True]
        assert [p.price_eur_per_m2 for p in rows] == [1234.5, 136.0, 12.0, None]
        assert [p.motorway_distance_km for p in rows] == [0.5, 2.0, None, 1.25]
        assert rows[0].title == "Fläche 0"

        # Duplicate ids in different batches (rows 1 and 3, --batch-size 2): refused, and
        # nothing written; the stored plot is not replaced by the later row.
        before = await table_hash(session)
        dup = tmp_path / "dup.shp"
        write_shapefile(dup, ids=["S0", "S1", "S0", "S3"], prices=["1", "2", "3", "4"])
        code, report, output = await asyncio.to_thread(
            run, dup, base, world.frankfurt, "--id-field", "OBJ_ID", "--batch-size", "2",
            "--map", "NAME=title", "--map", "PREIS=price_eur_per_m2",
        )  # fmt: skip
        assert code == 1, output
        assert (report["created"], report["updated"], report["written"]) == (0, 0, False)
        assert [(e["row"], e["external_id"]) for e in report["errors"]] == [(3, "S0")]
        assert "duplicate" in report["errors"][0]["detail"]
        assert await table_hash(session) == before

        # --merge: a file with only the price changes only the price.
        prices = tmp_path / "prices.shp"
        write_shapefile(prices, ids=["S0", "S1", "S2", "S3"], prices=["9", "9", "9", "9"])
        merge = ["--map", "PREIS=price_eur_per_m2", "--map", "NAME=title", "--merge"]
        code, report, output = await asyncio.to_thread(
            run, prices, base, world.frankfurt, "--id-field", "OBJ_ID", *merge
        )
        assert code == 0 and report["updated"] == 4, output
        await session.rollback()
        rows = (await session.execute(select(Plot).order_by(Plot.external_id))).scalars().all()
        assert [p.price_eur_per_m2 for p in rows] == [9.0] * 4
        assert [p.fibre_available for p in rows] == [False, True, False, True]  # kept
        assert [p.motorway_distance_km for p in rows] == [0.5, 2.0, None, 1.25]  # kept

        # A CRS the API does not take (EPSG:3035, LAEA Europe): reprojected before sending.
        laea = tmp_path / "laea.gpkg"
        shapes = [await _reproject(session, shapely.to_wkb(b), 3035) for b in boxes(6)[4:]]
        pyogrio.raw.write(
            laea,
            np.array(shapes, dtype=object),
            [np.array(["E1", "E2"], dtype=object), np.array(["L1", "L2"], dtype=object)],
            ["external_id", "title"],
            crs="EPSG:3035",
            geometry_type="Polygon",
            driver="GPKG",
        )
        code, report, output = await asyncio.to_thread(run, laea, base, world.frankfurt)
        assert code == 0 and report["created"] == 2, output
        area = await session.scalar(select(Plot.area_m2).where(Plot.external_id == "E1"))
        assert area is not None and abs(area - 2500) < 2500 * 0.002


def write_shapefile(path: Path, ids: list[str], prices: list[str]) -> None:
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(b) for b in boxes(len(ids))], dtype=object),
        [np.array(ids, dtype=object), np.array([f"Fläche {i}" for i in ids], dtype=object),
         np.array(prices, dtype=object)],
        ["OBJ_ID", "NAME", "PREIS"],
        crs="EPSG:25832",
        geometry_type="Polygon",
        driver="ESRI Shapefile",
        encoding="UTF-8",
    )  # fmt: skip


async def test_xlsx_named_csv_with_x_y_in_25832_and_german_headers(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    source = tmp_path / "register.csv"  # an XLSX under a .csv name
    book = xlsxwriter.Workbook(str(source))
    sheet = book.add_worksheet("Flächen")
    header = ["Nr", "Bezeichnung", "Rechtswert", "Hochwert", "Fläche (m²)", "Glasfaser"]
    sheet.write_row(0, 0, header)
    data = [
        ["X-1", "Am Hafen", X0 + 200.5, Y0 + 300, 2500, "ja"],
        ["X-2", "Ostpark", X0 + 500, Y0 + 500, 10000, "nein"],
        ["X-3", "Ohne Fläche", X0 + 700, Y0 + 700, None, "x"],
    ]
    for r, row in enumerate(data, start=1):
        sheet.write_row(r, 0, row)
    book.close()
    args = ["--id-field", "Nr", "--map", "Bezeichnung=title", "--map", "Glasfaser=fibre_available"]
    args += ["--x-field", "Rechtswert", "--y-field", "Hochwert", "--crs", "EPSG:25832"]
    args += ["--municipality", FRANKFURT]
    with running_server(database_url, tmp_path) as base:
        # Points without --point-area-field: refused, naming the coordinate columns.
        code, report, output = await asyncio.to_thread(run, source, base, world.frankfurt, *args)
        assert code == 1, output
        assert {e["field"] for e in report["errors"]} == {"Rechtswert/Hochwert"}
        assert await count(session, Plot) == 0

        args += ["--point-area-field", "Fläche (m²)", "--mode", "partial"]
        code, report, output = await asyncio.to_thread(run, source, base, world.frankfurt, *args)
        assert code == 1, output
        assert (report["created"], report["approximate"]) == (2, 2)
        assert [(e["row"], e["field"], e["value"]) for e in report["errors"]] == [
            (4, "Fläche (m²)", None)
        ]
    areas = {
        r.external_id: r.area_m2
        for r in await session.execute(select(Plot.external_id, Plot.area_m2))
    }
    assert abs(areas["X-1"] - 2500) < 1 and abs(areas["X-2"] - 10000) < 1
    precision = await session.scalar(
        select(Plot.geometry_precision).where(Plot.external_id == "X-1")
    )
    assert precision is GeometryPrecision.approximate
    public = await session.scalar(
        text("SELECT public_properties->>'geometry_precision' FROM plots LIMIT 1")
    )
    assert public == "approximate"


async def _reproject(session: AsyncSession, wkb: bytes, srid: int) -> bytes:
    stmt = text(
        "SELECT ST_AsBinary(ST_Transform(ST_GeomFromWKB(:wkb, 25832), CAST(:srid AS integer)))"
    )
    return bytes(await session.scalar(stmt, {"wkb": wkb, "srid": srid}))


async def _to_31467(session: AsyncSession, x: float, y: float) -> tuple[float, float]:
    row = (
        await session.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_SetSRID("
                "ST_MakePoint(:x, :y), 25832), 31467) AS g) s"
            ),
            {"x": x, "y": y},
        )
    ).one()
    return float(row[0]), float(row[1])


async def test_point_register_in_31467_with_hectares_semicolon_csv_decimal_commas(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    source = tmp_path / "standorte.csv"
    points = [await _to_31467(session, X0 + 300 + i * 200, Y0 + 400) for i in range(3)]
    lines = ["NR;GKZ;STANDORT;NUTZUNG;RECHTSWERT;HOCHWERT;GROESSE_HA;KAUFPREIS;OEPNV_KM;FREI_AB"]
    values = [
        ("Brache", "0,8", "85,50", "0,35"),
        ("Baulücke", "1,2", "", "1"),
        ("Gewerbe", "0,5", "120", ""),
    ]
    for i, ((x, y), (use, ha, price, km)) in enumerate(zip(points, values, strict=True)):
        lines.append(
            f"P{i};{int(FRANKFURT)};Standort Größe {i};{use};{x:.2f}".replace(".", ",")
            + f";{y:.2f}".replace(".", ",")
            + f";{ha};{price};{km};01.0{i + 1}.2027"
        )
    # Windows-1252, as German office software writes it.
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    mapping = str(EXAMPLES / "punktregister.toml")
    with running_server(database_url, tmp_path) as base:
        code, report, output = await asyncio.to_thread(
            run, source, base, world.frankfurt, "--mapping", mapping
        )
        assert code == 0, output
        assert (report["created"], report["approximate"]) == (3, 3), output
    plots = {p.external_id: p for p in (await session.scalars(select(Plot))).all()}
    assert abs(plots["P0"].area_m2 - 8000) < 8000 * 0.002  # 0.8 ha, through another CRS
    assert abs(plots["P1"].area_m2 - 12000) < 12000 * 0.002
    assert plots["P0"].category.value == "brownfield"
    assert plots["P1"].category.value == "infill_gap"
    assert plots["P0"].price_eur_per_m2 == 85.5
    assert plots["P0"].transit_stop_distance_m == 350
    assert plots["P0"].title == "Standort Größe 0"
    assert plots["P1"].municipality_ags == FRANKFURT  # 6412000 read as a number: padded
    assert str(plots["P2"].available_from) == "2027-03-01"
    assert {p.geometry_precision for p in plots.values()} == {GeometryPrecision.approximate}
    # The square lies around the register's point (the centre, in EPSG:25832).
    centre = await session.scalar(
        select(func.ST_AsText(func.ST_Centroid(Plot.geom))).where(Plot.external_id == "P0")
    )
    assert centre is not None
    cx, cy = (float(v) for v in centre.removeprefix("POINT(").removesuffix(")").split())
    assert abs(cx - (X0 + 300)) < 1 and abs(cy - (Y0 + 400)) < 1


async def test_files_that_cannot_be_pushed_say_why(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    no_geometry = tmp_path / "liste.csv"
    no_geometry.write_text("external_id,title\na,Fläche A\n", encoding="utf-8")
    garbage = tmp_path / "plots.gpkg"
    garbage.write_bytes(b"\x00\x01\x02not a geopackage" * 10)
    with running_server(database_url, tmp_path) as base:
        code, _, output = await asyncio.to_thread(run, no_geometry, base, world.frankfurt)
        assert code == 2 and "no geometry" in output and "--x-field" in output, output
        code, _, output = await asyncio.to_thread(run, garbage, base, world.frankfurt)
        assert code == 2, output
        bad_mapping = tmp_path / "m.toml"
        bad_mapping.write_text('[fields.kategorie]\nsource = "KAT"\n', encoding="utf-8")
        code, _, output = await asyncio.to_thread(
            run, no_geometry, base, world.frankfurt, "--mapping", str(bad_mapping)
        )
        assert code == 2 and "'kategorie' is not a plot property" in output, output
        code, _, output = await asyncio.to_thread(
            run, no_geometry, base, "lm_wrong_key", "--x-field", "title", "--y-field", "title",
            "--crs", "EPSG:25832",
        )  # fmt: skip
        assert code == 1, output  # every row refused locally: the coordinates are not numbers
        wkt = tmp_path / "wkt.csv"
        wkt.write_text(
            "id;title;WKT\n"
            f"1;A;POLYGON(({X0 + 100} {Y0 + 100},{X0 + 200} {Y0 + 100},{X0 + 200} {Y0 + 200},"
            f"{X0 + 100} {Y0 + 100}))\n2;B;POLYGON((kaputt\n3;C;LINESTRING(0 0,1 1)\n",
            encoding="utf-8",
        )
        code, report, output = await asyncio.to_thread(
            run, wkt, base, world.frankfurt, "--id-field", "id", "--crs", "EPSG:25832",
            "--mode", "partial",
        )  # fmt: skip
        assert code == 1 and report["created"] == 1, output
        assert [(e["row"], e["field"], e["value"]) for e in report["errors"]] == [
            (3, "WKT", "POLYGON((kaputt"),
            (4, "WKT", "LineString"),
        ]
    # Nothing listens here: network trouble has its own exit status.
    code, _, output = await asyncio.to_thread(
        run, tmp_path / "kataster.gpkg", "http://127.0.0.1:9", world.frankfurt
    )
    assert code == 2  # the file does not exist
    write_kataster(tmp_path / "k.gpkg", kataster_rows(1), {})
    code, _, output = await asyncio.to_thread(
        run, tmp_path / "k.gpkg", "http://127.0.0.1:9", world.frankfurt,
        "--mapping", str(EXAMPLES / "gewerbeflaechenkataster.toml"),
    )  # fmt: skip
    assert code == 3 and "could not be reached" in output, output
