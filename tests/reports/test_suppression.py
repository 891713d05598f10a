"""Confidentiality: nothing built from fewer than 3 companies leaves the service, in any format."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.reports.suppression import suppress
from landmarket.reports.tables import Column, Table
from tests.helpers import bearer
from tests.matching.world import post_requirement
from tests.reports.test_formats import pdf_text
from tests.reports.world import ReportWorld, make_report_world

# Figures only these two companies' requirements could produce (and their sums).
SECRETS = ["4817", "5923", "10740", "3.1337", "2.7183", "5.852", "3,1337", "2,7183"]
REPORTS: list[tuple[str, dict[str, Any]]] = [
    *(("supply", {"group_by": g}) for g in ("municipality", "status")),
    *(
        ("demand", {"group_by": g})
        for g in ("size_class", "emission_class", "sector", "home_municipality")
    ),
    ("matching", {}),
    ("unmet-demand", {}),
    ("flows", {}),
    ("timeseries", {}),
]


async def _two_companies(session: AsyncSession, client: httpx.AsyncClient) -> ReportWorld:
    world = await make_report_world(session, client, companies=2)
    for key, jobs, area in ((world.companies[0], 4817, 31_337), (world.companies[1], 5923, 27_183)):
        await post_requirement(client, key, jobs=jobs, area_min_m2=area, area_max_m2=90_000)
    return world


def _assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} in {where}"


async def test_two_companies_show_no_number_in_any_format(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    world = await _two_companies(session, client)
    key = bearer(world.agency)
    suppressed_rows = 0
    for name, params in REPORTS:
        path = f"/v1/reports/{name}"
        body = (await client.get(path, params={**params, "region": "frm"}, headers=key)).json()
        _assert_no_secret(str(body), name)
        for table in body["tables"]:
            hidden = [c["name"] for c in table["columns"] if c["confidential"]]
            for row in [*table["rows"], *([table["total"]] if table["total"] else [])]:
                # Nothing but "none" (0) may show; a 0 is built from nobody.
                assert all(row[c] in (None, 0) for c in hidden), (name, row)
                if hidden and any(row[c] is None for c in hidden):
                    assert row["suppressed"] is True
                    suppressed_rows += 1
            names = [t["name"] for t in body["tables"]]
        for table_name in names:
            csv_params = {**params, "region": "frm", "format": "csv", "table": table_name}
            r = await client.get(path, params=csv_params, headers=key)
            _assert_no_secret(r.content.decode("utf-8"), f"{name} csv")
            r = await client.get(path, params={**csv_params, "delimiter": "semicolon"}, headers=key)
            _assert_no_secret(r.content.decode("utf-8"), f"{name} csv;")
        r = await client.get(
            path, params={**params, "region": "frm", "format": "xlsx"}, headers=key
        )
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        cells = [
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        ]
        _assert_no_secret(" ".join(cells), f"{name} xlsx")

    assert suppressed_rows >= 12  # demand, matching, unmet, flows and time series rows
    areas = (
        await client.get("/v1/exports/municipalities", params={"region": "frm"}, headers=key)
    ).json()
    for feature in areas["features"]:
        props = feature["properties"]
        assert props["suppressed"] is True and props["requirements"] is None
    _assert_no_secret(str(areas), "municipalities geojson")
    r = await client.get(
        "/v1/exports/municipalities", params={"region": "frm", "format": "gpkg"}, headers=key
    )
    gpkg = tmp_path / "m.gpkg"
    gpkg.write_bytes(r.content)
    info = _ogrinfo_all(gpkg)
    assert "requirements (Integer64) = (null)" in info
    assert "requirements (Integer64) = 1" not in info
    _assert_no_secret(info, "municipalities gpkg")

    r = await client.get("/v1/reports/regional.pdf", params={"region": "frm"}, headers=key)
    text = pdf_text(r.content, tmp_path)
    _assert_no_secret(text, "pdf")
    assert "geheim" in text  # the German default; a suppressed key figure says so


def _ogrinfo_all(path: Path) -> str:
    return subprocess.run(
        ["ogrinfo", "-al", str(path)], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _table(counts: list[int], total: int) -> Table:
    cols = [
        Column("k", "text"),
        Column("n", "int", confidential=True),
        Column("companies", "int", confidential=True),
    ]
    rows = [{"k": str(i), "n": 10 * c, "companies": c} for i, c in enumerate(counts)]
    return Table("t", cols, rows, {"k": None, "n": 10 * total, "companies": total})


def test_secondary_suppression_protects_a_lone_hidden_cell() -> None:
    table = suppress(_table([2, 5, 4, 0], 11))
    hidden = [r["k"] for r in table.rows if r["suppressed"]]
    # "0" (3 companies) would give away "2" as total minus the rest: the smallest visible
    # non-empty row goes too; the empty row reveals nothing and stays.
    assert hidden == ["0", "2"]
    assert table.rows[3]["n"] == 0 and table.total is not None and table.total["n"] == 110


def test_cells_from_three_companies_stay() -> None:
    table = suppress(_table([3, 4], 7))
    assert not any(r["suppressed"] for r in table.all_rows())
