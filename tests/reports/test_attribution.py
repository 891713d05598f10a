"""Boundary attribution comes from the imported boundary set's own licence line: a region
built on other boundaries does not claim BKG data (reports, exports, OGC API)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import openpyxl
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.municipalities.importer import import_file, recognised_attribution
from landmarket.municipalities.models import Municipality
from landmarket.reports.scope import UNKNOWN_ATTRIBUTION
from tests.matching.world import DARMSTADT, FRANKFURT
from tests.reports.test_formats import _get, pdf_text
from tests.reports.world import BKG_2021, ReportWorld

CITY = "© Stadt Darmstadt, Vermessungsamt, dl-de/by-2-0"


async def _boundaries_line(client: httpx.AsyncClient, key: str, region: str) -> str:
    r = await _get(client, key, "/v1/reports/flows", region=region, format="xlsx", lang="en")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    meta = {row[0]: row[1] for row in book["About"].iter_rows(min_row=2, values_only=True)}
    return str(meta["Licence"]).removeprefix("Municipal boundaries: ")


async def test_reports_cite_the_boundary_sets_of_their_region(
    client: httpx.AsyncClient, rworld: ReportWorld, session: AsyncSession, tmp_path: Path
) -> None:
    assert await _boundaries_line(client, rworld.agency, "frm") == BKG_2021
    # Region "south" (Darmstadt) was built on the city's own boundaries.
    await session.execute(
        update(Municipality).where(Municipality.ags == DARMSTADT).values(attribution=CITY)
    )
    await session.commit()
    line = await _boundaries_line(client, rworld.other_agency, "south")
    assert line == CITY and "BKG" not in line
    r = await _get(client, rworld.other_agency, "/v1/reports/regional.pdf", region="south")
    assert r.status_code == 200, r.text
    text = pdf_text(r.content, tmp_path)
    assert "Vermessungsamt" in text and "GeoBasis" not in text
    # Nothing recorded: said so, never a guessed source.
    await session.execute(update(Municipality).values(attribution=None))
    await session.commit()
    assert await _boundaries_line(client, rworld.agency, "frm") == UNKNOWN_ATTRIBUTION

    items = await client.get("/ogc/collections/municipalities/items", params={"limit": 10})
    assert items.status_code == 200, items.text
    props = {f["id"]: f["properties"] for f in items.json()["features"]}
    assert props[FRANKFURT]["attribution"] is None


def test_bkg_sets_are_recognised_by_their_file_name() -> None:
    assert recognised_attribution(Path("frm-75-vg5000-2021.geojson")) == BKG_2021
    assert recognised_attribution(Path("/data/vg250_01-01.utm32s.shape/VG250_GEM.shp")) == (
        "© GeoBasis-DE / BKG (Daten verändert)"
    )
    assert recognised_attribution(Path("gemeinden_darmstadt.gpkg")) is None


async def test_import_stores_the_given_or_recognised_line(
    session: AsyncSession, tmp_path: Path
) -> None:
    source = tmp_path / "grenzen.geojson"
    square = [[8.6, 49.8], [8.7, 49.8], [8.7, 49.9], [8.6, 49.9], [8.6, 49.8]]
    source.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                        "properties": {"AGS": DARMSTADT, "GEN": "Darmstadt", "BEZ": "Stadt"},
                    }
                ],
            }
        )
    )
    report = await import_file(session, source, region="south", attribution=CITY)
    assert report.attribution == CITY
    await session.commit()
    stored = await session.scalar(
        select(Municipality.attribution).where(Municipality.ags == DARMSTADT)
    )
    assert stored == CITY
    # Imported again without a line: the source is unknown, not the previous one.
    await import_file(session, source, region="south")
    await session.commit()
    await session.rollback()
    stored = await session.scalar(
        select(Municipality.attribution).where(Municipality.ags == DARMSTADT)
    )
    assert stored is None
