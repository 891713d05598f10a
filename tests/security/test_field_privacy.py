"""Field-level privacy: what a caller may read of a thing, not only whether it may read it.

- public plot views (REST as anyone but the plot's municipality, OGC items and tiles,
  exports) never carry the people behind a plot (`contact`) nor the office's bookkeeping;
- demand views (a municipality's demand and event feed, agencies' reports) never name a
  company that did not consent (share_identity or interest), never show requirement ids,
  titles or company ids;
- a report cell built from fewer than 3 companies never shows, in any format, even when the
  region as a whole has plenty of companies.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_org_with_key
from tests.helpers import bearer
from tests.matching.world import (
    FRANKFURT,
    ORIGIN,
    insert_plot,
    lonlat,
    make_world,
    post_requirement,
)
from tests.reports.test_formats import pdf_text
from tests.reports.world import make_report_world

# The OGC collection's internal members (docs/ogc.md): people and office bookkeeping.
OGC_INTERNAL = {"contact", "status", "version", "created_at", "last_confirmed_at"}
PLOT_CONTACT = {"name": "Erika qz8-name", "email": "qz8-mail@example.org", "phone": "+49 qz8"}


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return " ".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )


async def test_public_plot_views_never_carry_the_people_behind_a_plot(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = str(await insert_plot(session, FRANKFURT, x=x, y=y, contact=PLOT_CONTACT))
    lon, lat = await lonlat(session, x + 50, y + 50)
    await session.commit()
    outsiders = {
        "anonymous": {},
        "company": bearer(world.company),
        "other municipality": bearer(world.offenbach),
        "agency": bearer(world.agency),
    }
    rest = ["/v1/plots", f"/v1/plots/{plot_id}", f"/v1/plots?municipality={FRANKFURT}"]
    for who, headers in outsiders.items():
        for path in rest:
            r = await client.get(path, headers=headers)
            assert r.status_code == 200, (who, path, r.text)
            assert "qz8" not in r.text, (who, path)
            body = r.json()
            for feature in body.get("features", [body]):
                assert "contact" not in feature["properties"], (who, path)
                assert feature["properties"]["title"]  # the public members are there

    tx, ty = _tile(lon, lat, 14)
    ogc = [
        "/ogc/collections/plots/items",
        f"/ogc/collections/plots/items/{plot_id}",
        "/ogc/collections/plots/items?f=html",
        f"/ogc/collections/plots/tiles/WebMercatorQuad/14/{tx}/{ty}",
    ]
    for path in ogc:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert b"qz8" not in r.content, path
    items = (await client.get(ogc[0])).json()["features"]
    assert [f["id"] for f in items] == [plot_id]
    assert not OGC_INTERNAL & set(items[0]["properties"])
    assert b"Plot" in (await client.get(ogc[3])).content  # the tile does hold the plot

    export = "/v1/exports/plots"
    for fmt in ("geojson", "csv", "gpkg"):
        r = await client.get(
            export, params={"region": "frm", "format": fmt}, headers=outsiders["agency"]
        )
        assert r.status_code == 200 and b"qz8" not in r.content, fmt
        assert plot_id.encode() in r.content, fmt
    r = await client.get(
        export, params={"region": "frm", "format": "xlsx"}, headers=outsiders["agency"]
    )
    text = _xlsx_text(r.content)
    assert plot_id in text and "qz8" not in text

    # The plot's own municipality and admins read the contact.
    for key in (world.frankfurt, world.admin):
        one = (await client.get(f"/v1/plots/{plot_id}", headers=bearer(key))).json()
        assert one["properties"]["contact"] == PLOT_CONTACT
        listed = (await client.get("/v1/plots", headers=bearer(key))).json()
        assert listed["features"][0]["properties"]["contact"] == PLOT_CONTACT


async def test_demand_views_name_a_company_only_with_its_consent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    x, y = ORIGIN[FRANKFURT]
    plot_id = str(await insert_plot(session, FRANKFURT, x=x, y=y))
    secret = await post_requirement(
        client, world.company, title="qz9-title", description="qz9-description"
    )
    shared = await post_requirement(
        client, world.other_company, title="qz11-title", share_identity=True
    )
    other_company_id = (await client.get("/v1/me", headers=bearer(world.other_company))).json()[
        "id"
    ]
    never = [
        "qz9", "qz11", secret["id"], shared["id"], str(world.company_id), other_company_id,
    ]  # fmt: skip

    municipality = bearer(world.frankfurt)
    demand = await client.get(f"/v1/plots/{plot_id}/demand", headers=municipality)
    items = demand.json()["items"]
    assert sorted(str(i["company"] and i["company"]["name"]) for i in items) == [
        "None",
        "Other AG",
    ]
    feed = await client.get("/v1/events", headers=municipality)
    matched = [e["data"] for e in feed.json()["items"] if e["type"] == "demand.matched"]
    assert sorted(str(d["company"]) for d in matched) == ["None", "{'name': 'Other AG'}"]
    for r in (demand, feed):
        assert "Acme GmbH" not in r.text
        assert not [v for v in never if v in r.text]
    # Agencies read figures, never who.
    agency = bearer(world.agency)
    for report in ("demand", "matching", "unmet-demand", "flows", "timeseries"):
        r = await client.get(f"/v1/reports/{report}", params={"region": "frm"}, headers=agency)
        assert r.status_code == 200, r.text
        assert not [v for v in [*never, "Acme GmbH", "Other AG"] if v in r.text], report

    # Interest is consent: the municipality now learns the name (still no ids or titles).
    r = await client.patch(
        f"/v1/requirements/{secret['id']}/matches/{plot_id}",
        json={"state": "interest_expressed"},
        headers=bearer(world.company),
    )
    assert r.status_code == 200, r.text
    inquiries = await client.get("/v1/inquiries", headers=municipality)
    assert "Acme GmbH" in inquiries.text
    assert not [v for v in never if v in inquiries.text]


async def test_a_company_alone_in_its_group_never_shows_in_any_report_or_format(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    """Nine companies (three per municipality) make every default group visible; a tenth is
    alone in its sector, size class and unmet rule: its figures must never come out."""
    world = await make_report_world(session, client, companies=9)
    _, lonely = await make_org_with_key(session, "company", "Lonely qz10 GmbH", home_ags=FRANKFURT)
    await post_requirement(
        client, lonely, title="qz10-title", area_min_m2=41_237, area_max_m2=45_000, jobs=7919,
        sector_nace="99",
    )  # fmt: skip
    # Its own figures, in every notation a renderer might use; and no company by name.
    secrets = ["7919", "4.1237", "4,1237", "qz10", "Lonely", "Acme GmbH", "Other AG", "Firma "]
    agency = bearer(world.agency)

    def leaked(text: str) -> list[str]:
        return [s for s in secrets if s in text]

    reports: list[tuple[str, dict[str, Any]]] = [
        *(("demand", {"group_by": g}) for g in ("size_class", "sector", "home_municipality")),
        ("matching", {}),
        ("unmet-demand", {}),
        ("flows", {}),
        ("timeseries", {}),
    ]
    visible_jobs = 0
    for name, params in reports:
        path, query = f"/v1/reports/{name}", {**params, "region": "frm"}
        body = (await client.get(path, params=query, headers=agency)).json()
        assert not leaked(str(body)), (name, params, leaked(str(body)))
        for table in body["tables"]:
            r = await client.get(
                path, params={**query, "format": "csv", "table": table["name"]}, headers=agency
            )
            assert not leaked(r.content.decode("utf-8")), (name, table["name"])
            if name == "demand" and params["group_by"] == "sector":
                lone = [row for row in table["rows"] if row["sector"] == "99"]
                assert lone and lone[0]["suppressed"] is True and lone[0]["jobs"] is None
                visible_jobs += sum(1 for row in table["rows"] if row["jobs"])
        xlsx = await client.get(path, params={**query, "format": "xlsx"}, headers=agency)
        assert not leaked(_xlsx_text(xlsx.content)), (name, "xlsx")
    assert visible_jobs  # groups of three or more companies do show their figures

    areas = await client.get("/v1/exports/municipalities", params={"region": "frm"}, headers=agency)
    assert not leaked(areas.text)
    pdf = await client.get("/v1/reports/regional.pdf", params={"region": "frm"}, headers=agency)
    assert not leaked(pdf_text(pdf.content, tmp_path))
