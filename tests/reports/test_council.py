"""Council-ready outputs (issue 17): languages, spreadsheets people can use, every public
field in the exports, a GeoPackage GDAL 3.6 reads without warnings, zero rows."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pyogrio
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.i18n import fmt_date, fmt_number, negotiate
from landmarket.labels import catalogue as cat
from landmarket.plots.schemas import PlotPropertiesRead
from landmarket.reports.exports.repository import PLOT_COLUMNS
from tests.factories import make_municipality, make_region
from tests.helpers import assert_problem, bearer, pointers
from tests.matching.world import DARMSTADT, FRANKFURT
from tests.reports.world import ReportWorld, make_report_world

# Public plot fields: everything a plot reader sees except ``contact`` (names people; only
# for the plot's municipality and admins).
PUBLIC = set(PlotPropertiesRead.model_fields) - {"contact"}
EXTRA = {"municipality", "lon", "lat"}  # the municipality's name, a point on the plot
GPKG_1_2 = 10200  # PRAGMA user_version of a GeoPackage 1.2 file
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"


async def _get(client: httpx.AsyncClient, key: str, path: str, **params: Any) -> httpx.Response:
    headers = bearer(key) | params.pop("headers", {})
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8").lstrip("\ufeff"))))


def test_accept_language_negotiation_and_formats() -> None:
    assert negotiate(None) == "de"
    assert negotiate("") == "de"
    assert negotiate("en-GB,en;q=0.9") == "en"
    assert negotiate("de-AT") == "de"
    assert negotiate("fr-FR, en;q=0.5, de;q=0.8") == "de"
    assert negotiate("fr-FR, en;q=0.5") == "en"
    assert negotiate("fr, it") == "de"  # nothing supported: the default
    assert negotiate("en;q=0, de;q=0.1") == "de"  # q=0 means "not this"
    assert negotiate("en;q=abc") == "de"  # a broken q counts as 0
    assert negotiate("*") == "de"
    assert fmt_number(1234.5, 1, "de") == "1.234,5"
    assert fmt_number(1234.5, 1, "en") == "1,234.5"
    assert fmt_number(2761.501982469917, 1, "de") == "2.761,5"
    assert fmt_date(date(2026, 12, 3), "de") == "03.12.2026"
    assert fmt_date(date(2026, 12, 3), "en") == "2026-12-03"


def test_catalogue_names_every_public_column_and_enum_value() -> None:
    """A new column or enum value without German and English names fails here."""
    from landmarket.plots import models as pm
    from landmarket.reports import columns as cols
    from landmarket.reports.exports.repository import MUNICIPALITY_COLUMNS
    from landmarket.reports.repository import SIZE_CLASSES
    from landmarket.reports.unmet_repository import RULE_NAMES
    from landmarket.requirements.models import EmissionClass

    every = [
        *PLOT_COLUMNS,
        *MUNICIPALITY_COLUMNS,
        *(c for keys in cols.SUPPLY_KEYS.values() for c in keys),
        *(c for keys in cols.DEMAND_KEYS.values() for c in keys),
        *cols.SUPPLY,
        *cols.DEMAND,
        *cols.MATCHING,
        *cols.UNMET_BY_RULE,
        *cols.FLOWS,
        *cols.BALANCE,
        *cols.TIMESERIES,
    ]
    assert not [c.name for c in every if c.name not in cat.COLUMNS]
    enums = {
        "zoning": pm.Zoning,
        "category": pm.Category,
        "planning_status": pm.PlanningStatus,
        "contamination": pm.Contamination,
        "servicing": pm.Servicing,
        "tenure": pm.Tenure,
        "ownership": pm.Ownership,
        "status": pm.PlotStatus,
        "emission_class": EmissionClass,
    }
    for column, enum in enums.items():
        assert {e.value for e in enum} <= set(cat.ENUMS[column]), column
    assert {label for label, _ in SIZE_CLASSES} <= set(cat.ENUMS["size_class"])
    assert {r for r in RULE_NAMES if r} <= set(cat.ENUMS["rule"])
    assert cat.enum_label("zoning", "GE", "de") == "Gewerbegebiet (GE)"
    assert cat.column_label("area_ha", "de") == "Fläche (ha)"


async def test_language_by_parameter_and_accept_language(
    client: httpx.AsyncClient, rworld: ReportWorld
) -> None:
    path = "/v1/reports/supply"
    de = await _get(client, rworld.agency, path, region="frm", format="csv", group_by="zoning")
    assert de.headers["content-language"] == "de"
    assert "Accept-Language" in de.headers["vary"]
    rows = _csv(de.content)
    assert rows[0][0] == "Baugebiet (BauNVO)"
    assert "Gewerbegebiet (GE)" in [r[0] for r in rows[1:]]

    en = await _get(
        client,
        rworld.agency,
        path,
        region="frm",
        format="csv",
        group_by="zoning",
        headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"},
    )
    assert en.headers["content-language"] == "en"
    rows = _csv(en.content)
    assert rows[0][0] == "Area type (BauNVO)" and rows[-1][0] == "Total"
    assert "Commercial area (GE)" in [r[0] for r in rows[1:]]

    # lang= wins over the header.
    forced = await _get(
        client,
        rworld.agency,
        path,
        region="frm",
        format="csv",
        lang="de",
        headers={"Accept-Language": "en"},
    )
    assert _csv(forced.content)[0][1] == "Gemeinde"

    bad = await client.get(
        path, params={"region": "frm", "lang": "fr"}, headers=bearer(rworld.agency)
    )
    assert pointers(assert_problem(bad, 422)) == ["/query/lang"]


async def test_json_keeps_machine_names_and_adds_labels(
    client: httpx.AsyncClient, rworld: ReportWorld
) -> None:
    for lang, label, zoning, note in (
        ("de", "Fläche", "Gewerbegebiet (GE)", "Angebot:"),
        ("en", "Area", "Commercial area (GE)", "Supply:"),
    ):
        body = (
            await _get(
                client,
                rworld.agency,
                "/v1/reports/supply",
                region="frm",
                group_by="zoning",
                lang=lang,
            )
        ).json()
        assert body["lang"] == lang
        table = body["tables"][0]
        columns = {c["name"]: c for c in table["columns"]}
        assert columns["area_ha"]["label"] == label and columns["area_ha"]["unit"] == "ha"
        assert columns["zoning"]["values"]["GE"] == zoning
        # Values stay machine values; rows keep the machine names.
        assert {r["zoning"] for r in table["rows"]} <= {"GE", "MI"}
        assert "area_ha" in table["total"]
        assert body["notes"][0].startswith(note)


async def test_xlsx_number_formats_frozen_header_filter_and_names(
    client: httpx.AsyncClient, rworld: ReportWorld
) -> None:
    r = await _get(client, rworld.agency, "/v1/reports/supply", region="frm", format="xlsx")
    data = (await _get(client, rworld.agency, "/v1/reports/supply", region="frm")).json()
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book["Angebot"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["AGS", "Gemeinde", "Flächen", "Fläche (ha)"]
    assert "Anteil mit Glasfaser (%)" in header
    assert sheet.freeze_panes == "A2"
    n = len(data["tables"][0]["rows"]) + 2  # header, groups, total
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{n}"
    area = header.index("Fläche (ha)") + 1
    fibre = header.index("Anteil mit Glasfaser (%)") + 1
    plots = header.index("Flächen") + 1
    total = data["tables"][0]["total"]
    assert sheet.cell(n, 1).value == "Summe"
    assert sheet.cell(n, area).number_format == "#,##0.0"
    assert sheet.cell(n, area).value == round(total["area_ha"], 1)
    assert sheet.cell(n, fibre).number_format == "0.0%"
    assert sheet.cell(n, fibre).value == pytest.approx(total["fibre_share"], abs=5e-4)
    assert sheet.cell(n, plots).number_format == "#,##0"
    # Columns wide enough for their header words (not Excel's 8.43 default everywhere).
    width = sheet.column_dimensions[openpyxl.utils.get_column_letter(2)].width
    assert width is not None and width >= len("Gemeinde")

    r = await _get(
        client,
        rworld.agency,
        "/v1/reports/supply",
        region="frm",
        format="xlsx",
        group_by="category",
        lang="en",
    )
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["Supply"]
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Brownfield" in names and "brownfield" not in names and names[-1] == "Total"

    r = await _get(client, rworld.agency, "/v1/exports/plots", region="frm", format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["Flächen"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref is not None
    assert sheet.cell(2, header.index("Fläche (m²)") + 1).number_format == "#,##0"
    assert sheet.cell(2, header.index("Kategorie") + 1).value in {
        v[0] for v in cat.ENUMS["category"].values()
    }


async def test_every_export_carries_every_public_plot_field(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld, tmp_path: Path
) -> None:
    assert {c.name for c in PLOT_COLUMNS} == PUBLIC | EXTRA
    plots = await _get(client, rworld.admin, "/v1/exports/plots")
    features = plots.json()["features"]
    for feature in features:
        assert set(feature["properties"]) == PUBLIC | EXTRA
    # Values as the plot API has them (the export is no lossy copy).
    one = features[0]["properties"]
    api = await client.get(f"/v1/plots/{one['id']}", headers=bearer(rworld.admin))
    assert api.status_code == 200, api.text
    for name in ("description", "parcel_ids", "emission_quota_db", "min_divisible_area_m2"):
        assert one[name] == api.json()["properties"][name], name

    labels = {cat.column_label(n, "de") for n in PUBLIC | EXTRA}
    csv_body = (await _get(client, rworld.admin, "/v1/exports/plots", format="csv")).content
    csv_header = _csv(csv_body)[0]
    assert set(csv_header) == labels and len(csv_header) == len(PUBLIC | EXTRA)
    fibre = csv_header.index("Glasfaser")
    assert {r[fibre] for r in _csv(csv_body)[1:]} <= {"ja", "nein"}
    xlsx = await _get(client, rworld.admin, "/v1/exports/plots", format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Flächen"]
    assert {c.value for c in sheet[1]} == labels

    path = tmp_path / "plots.gpkg"
    path.write_bytes((await _get(client, rworld.admin, "/v1/exports/plots", format="gpkg")).content)
    fields = set(pyogrio.read_info(path, layer="plots")["fields"])
    assert fields == PUBLIC | EXTRA


def _ogrinfo(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True, timeout=60
    )


async def test_geopackage_is_version_1_2_and_reads_without_warnings(
    client: httpx.AsyncClient, rworld: ReportWorld, tmp_path: Path
) -> None:
    for path, params in (
        ("/v1/exports/plots", {"format": "gpkg"}),
        ("/v1/exports/municipalities", {"format": "gpkg"}),
    ):
        file = tmp_path / "out.gpkg"
        file.write_bytes((await _get(client, rworld.admin, path, **params)).content)
        with sqlite3.connect(file) as db:
            assert db.execute("PRAGMA application_id").fetchone()[0] == GPKG_APPLICATION_ID
            assert db.execute("PRAGMA user_version").fetchone()[0] == GPKG_1_2
        out = _ogrinfo(file)
        assert out.returncode == 0 and "Warning" not in out.stderr, out.stderr


async def test_include_empty_lists_every_municipality_of_the_scope(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld
) -> None:
    empty = "06438099"
    await make_municipality(session, empty, "Leerstadt")
    await make_region(session, "west", "West", [FRANKFURT, DARMSTADT, empty])
    plain = (await _get(client, rworld.admin, "/v1/reports/supply", region="west")).json()
    assert empty not in [r["ags"] for r in plain["tables"][0]["rows"]]

    full = (
        await _get(client, rworld.admin, "/v1/reports/supply", region="west", include_empty="true")
    ).json()
    table = full["tables"][0]
    assert [r["ags"] for r in table["rows"]] == sorted([FRANKFURT, DARMSTADT, empty])
    zero = next(r for r in table["rows"] if r["ags"] == empty)
    assert zero["municipality"] == "Leerstadt" and zero["plots"] == 0 and zero["area_ha"] == 0
    assert table["total"] == plain["tables"][0]["total"]  # the total is unchanged
    assert full["filters"]["include_empty"] is True

    demand = (
        await _get(
            client,
            rworld.admin,
            "/v1/reports/demand",
            region="west",
            group_by="home_municipality",
            include_empty="true",
        )
    ).json()
    row = next(r for r in demand["tables"][0]["rows"] if r["ags"] == empty)
    assert row["requirements"] == 0 and row["companies"] == 0 and row["suppressed"] is False

    xlsx = await _get(
        client,
        rworld.admin,
        "/v1/reports/supply",
        region="west",
        include_empty="true",
        format="xlsx",
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    meta = {r[0]: r[1] for r in book["Angaben"].iter_rows(min_row=2, values_only=True)}
    assert meta["Gemeinden ohne Flächen"] == "mit Nullzeilen aufgeführt"
    assert meta["Gebiet"] == "West: alle 3 Gemeinden"


async def test_pdf_says_why_a_chart_is_empty(
    session: AsyncSession, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from tests.reports.test_formats import pdf_text

    world = await make_report_world(session, client, companies=2)
    pdf = await _get(client, world.agency, "/v1/reports/regional.pdf", region="frm")
    text = " ".join(pdf_text(pdf.content, tmp_path).split())
    assert "Alle Größenklassen beruhen auf weniger als 3 Unternehmen" in text
    assert fmt_date(date.today(), "de") in text
