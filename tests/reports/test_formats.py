"""Formats as a new user would open them: csv module (and LibreOffice when installed),
openpyxl, ogrinfo, GeoJSON parsers, pdftoppm."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from matplotlib import image
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.i18n import fmt_number
from tests.helpers import bearer
from tests.matching.world import insert_plot
from tests.reports.world import FRANKFURT, ORIGIN, ReportWorld

BOM = "\ufeff"
NASTY = ['=HYPERLINK("http://evil.example","click")', "+1", "@x", "-2+3", "\tcmd"]


async def _get(client: httpx.AsyncClient, key: str, path: str, **params: Any) -> httpx.Response:
    response = await client.get(path, params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response


def _csv(body: bytes, delimiter: str = ",") -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


async def test_csv_comma_and_semicolon(client: httpx.AsyncClient, rworld: ReportWorld) -> None:
    r = await _get(client, rworld.agency, "/v1/reports/supply", region="frm", format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _csv(r.content)
    data = (await _get(client, rworld.agency, "/v1/reports/supply", region="frm")).json()
    table = data["tables"][0]
    # Labels with units in German (the default), from the same catalogue as the JSON labels.
    assert rows[0] == [
        c["label"] + (f" ({c['unit']})" if c["unit"] else "") for c in table["columns"]
    ]
    assert rows[0][:4] == ["AGS", "Gemeinde", "Flächen", "Fläche (ha)"]
    assert len(rows) == 1 + len(table["rows"]) + 1  # header, groups, total
    assert rows[-1][0] == "Summe"
    # Rounded to what a reader needs (0.1 ha), not 2761.501982469917.
    assert rows[-1][3] == f"{table['total']['area_ha']:.1f}"

    r = await _get(
        client,
        rworld.agency,
        "/v1/reports/supply",
        region="frm",
        format="csv",
        delimiter="semicolon",
    )
    german = _csv(r.content, ";")
    assert german[0] == rows[0]
    # Decimal commas with semicolons: what German spreadsheets expect.
    assert float(german[-1][3].replace(",", ".")) == pytest.approx(
        table["total"]["area_ha"], abs=0.05
    )

    r = await _get(
        client, rworld.agency, "/v1/reports/flows", region="frm", format="csv", table="balance"
    )
    assert _csv(r.content)[0][:2] == ["AGS", "Gemeinde"]
    r = await _get(
        client, rworld.agency, "/v1/reports/flows", region="frm", format="csv", lang="en"
    )
    flows = _csv(r.content)
    assert flows[0][:3] == ["Kind", "Origin (AGS)", "Home municipality"]
    assert flows[0][-1] == "Suppressed"
    assert {row[0] for row in flows[1:]} <= {"Best match", "Interest"}  # names, not codes


def _convert_with_libreoffice(src: Path, outdir: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    assert office is not None
    subprocess.run(
        [office, "--headless", "--convert-to", "xlsx", "--outdir", str(outdir), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.skipif(
    shutil.which("soffice") is None and shutil.which("libreoffice") is None,
    reason="LibreOffice is not installed (optional); the csv module check runs regardless",
)
async def test_csv_opens_in_libreoffice(
    client: httpx.AsyncClient, rworld: ReportWorld, tmp_path: Path
) -> None:
    r = await _get(client, rworld.admin, "/v1/exports/plots", format="csv")
    src = tmp_path / "plots.csv"
    src.write_bytes(r.content)
    _convert_with_libreoffice(src, tmp_path)
    book = openpyxl.load_workbook(tmp_path / "plots.xlsx")
    assert book.active is not None and book.active.max_row == len(_csv(r.content))


async def test_xlsx_typed_cells_metadata_and_no_formulas(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld
) -> None:
    x, y = ORIGIN[FRANKFURT]
    for i, title in enumerate(NASTY):
        await insert_plot(session, FRANKFURT, x=x + 200 * i, y=y + 700, side=20, title=title)
    r = await _get(client, rworld.agency, "/v1/reports/flows", region="frm", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Verflechtungen", "Saldo", "Angaben"]
    meta = {row[0]: row[1] for row in book["Angaben"].iter_rows(min_row=2, values_only=True)}
    assert meta["Bericht"] == "Verflechtungen zwischen Gemeinden"
    assert meta["Gebiet"].startswith("FrankfurtRheinMain: alle ")
    assert meta["Stand"].startswith(date.today().strftime("%d.%m.%Y"))
    assert meta["Zeitraum (angelegt)"] == "gesamter Bestand"
    assert "GeoBasis-DE / BKG 2021" in meta["Lizenz"]
    assert "weniger als 3 Unternehmen" in meta["Geheimhaltung"]
    # Sentences, not a dump of filter JSON or AGS codes.
    assert not any(re.search(r"\d{8}|[{}\[\]]", str(v)) for v in meta.values())
    balance = book["Saldo"]
    header = [c.value for c in balance[1]]
    local = header.index("Am Ort")
    values = [row[local] for row in balance.iter_rows(min_row=2, values_only=True)]
    assert values and all(v is None or isinstance(v, int | float) for v in values)
    assert any(isinstance(v, int | float) for v in values)

    r = await _get(client, rworld.agency, "/v1/exports/plots", region="frm", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book["Flächen"]
    header = [c.value for c in sheet[1]]
    titles = [
        row[header.index("Bezeichnung")] for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    for title in NASTY:
        assert "'" + title in titles
    area = header.index("Fläche (m²)")
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)
        assert row[area].data_type == "n"
    assert "Angaben" in book.sheetnames

    # CSV: the same neutralising.
    r = await _get(client, rworld.agency, "/v1/exports/plots", region="frm", format="csv")
    rows = _csv(r.content)
    col = rows[0].index("Bezeichnung")
    for title in NASTY:
        assert "'" + title in [row[col] for row in rows[1:]]


def _ogrinfo(path: Path) -> str:
    out = subprocess.run(
        ["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


async def test_geopackage_and_geojson(
    client: httpx.AsyncClient, rworld: ReportWorld, tmp_path: Path
) -> None:
    plots = await _get(client, rworld.agency, "/v1/exports/plots", region="frm")
    assert plots.headers["content-type"].startswith("application/geo+json")
    collection = plots.json()
    n = len(collection["features"])
    assert n == 4  # Frankfurt and Offenbach plots on offer (draft not)
    assert collection["features"][0]["geometry"]["type"] == "MultiPolygon"

    path = tmp_path / "plots.gpkg"
    r = await _get(client, rworld.agency, "/v1/exports/plots", region="frm", format="gpkg")
    path.write_bytes(r.content)
    info = _ogrinfo(path)
    assert "Layer name: plots" in info and f"Feature Count: {n}" in info
    assert 'ID["EPSG",25832]' in info
    assert "area_m2: Real" in info and "available_from: Date" in info

    path = tmp_path / "municipalities.gpkg"
    r = await _get(client, rworld.admin, "/v1/exports/municipalities", format="gpkg")
    path.write_bytes(r.content)
    info = _ogrinfo(path)
    assert "Feature Count: 3" in info and "suppressed: Integer(Boolean)" in info

    areas = (await _get(client, rworld.admin, "/v1/exports/municipalities")).json()
    by_ags = {f["properties"]["ags"]: f["properties"] for f in areas["features"]}
    assert by_ags[FRANKFURT]["requirements"] == 6 and by_ags[FRANKFURT]["companies"] == 3


def _pages(pdf: bytes, tmp_path: Path) -> list[Path]:
    src = tmp_path / "report.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", str(src), str(tmp_path / "page")], check=True, timeout=120
    )
    return sorted(tmp_path.glob("page-*.png"))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    src = tmp_path / "text.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(src), "-"], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout


async def test_pdf_renders_to_readable_pages(
    client: httpx.AsyncClient, rworld: ReportWorld, tmp_path: Path
) -> None:
    r = await _get(client, rworld.agency, "/v1/reports/regional.pdf", region="frm")
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert r.headers["content-language"] == "de"
    pages = _pages(r.content, tmp_path)
    assert len(pages) == 5
    for page in pages:
        pixels = image.imread(page)
        ink = (pixels[..., :3].mean(axis=2) < 0.9).mean()
        assert ink > 0.01, f"{page.name} is (nearly) blank"
    text = pdf_text(r.content, tmp_path)
    supply = (await _get(client, rworld.agency, "/v1/reports/supply", region="frm")).json()
    total = supply["tables"][0]["total"]
    for expected in (
        "Gewerbeflächen in der Region",
        "FrankfurtRheinMain",
        f"Stand: {date.today():%d.%m.%Y}",
        "Inhalt",
        "Kennzahlen",
        "Methode und Geheimhaltung",
        "weniger als 3 Unternehmen",
        "Angebot und Nachfrage",
        "Nachfrage nach Größenklasse",
        "Sofort verfügbare Fläche je Gemeinde",
        "Verflechtungen und nicht bediente Nachfrage",
        "Frankfurt am Main",
        "Seite 1 von 5",
        "Seite 5 von 5",
        # the key figures, formatted the German way
        f"{fmt_number(total['area_ha'], 1, 'de')} ha",
        f"{fmt_number(total['available_now_area_ha'], 1, 'de')} ha",
        "© GeoBasis-DE / BKG 2021 (Daten verändert)",
    ):
        assert expected in text, expected
    assert "suppressed" not in text and "Key figure" not in text

    r = await _get(client, rworld.agency, "/v1/reports/regional.pdf", region="frm", lang="en")
    text = pdf_text(r.content, tmp_path)
    for expected in ("Key figures", f"As of {date.today().isoformat()}", "Page 2 of 5"):
        assert expected in text, expected
