"""Every report's groups and totals equal figures computed directly from the rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.matching.models import Match
from tests.helpers import bearer
from tests.reports import direct
from tests.reports.world import FRANKFURT, OFFENBACH, ReportWorld

SCOPES: list[tuple[str | None, set[str] | None]] = [
    (None, None),
    ("frm", {FRANKFURT, OFFENBACH}),
]
ADDITIVE_SUPPLY = ("plots", "area_ha", "brownfield_vacant_area_ha", "available_now_area_ha")
ADDITIVE_DEMAND = ("requirements", "area_min_ha", "area_max_ha", "jobs")


async def _report(
    client: httpx.AsyncClient, key: str, name: str, region: str | None, **params: Any
) -> dict[str, Any]:
    if region:
        params["region"] = region
    response = await client.get(f"/v1/reports/{name}", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _close(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if value is None:
            assert actual[name] is None, name
        else:
            assert actual[name] == pytest.approx(value, abs=1e-4), name


@pytest.mark.parametrize(
    "group_by", ["municipality", "district", "zoning", "category", "status", "ownership"]
)
async def test_supply_groups_and_total_equal_the_rows(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld, group_by: str
) -> None:
    today = date.today()
    for region, ags in SCOPES:
        table = (await _report(client, rworld.admin, "supply", region, group_by=group_by))[
            "tables"
        ][0]
        plots = await direct.supply_plots(session, ags)
        groups = direct.group(plots, group_by)
        keys = [c["name"] for c in table["columns"]][: len(next(iter(groups)))]
        assert {tuple(r[k] for k in keys) for r in table["rows"]} == set(groups)
        for row in table["rows"]:
            _close(row, direct.supply_figures(groups[tuple(row[k] for k in keys)], today))
        _close(table["total"], direct.supply_figures(plots, today))
        for name in ADDITIVE_SUPPLY:
            assert sum(r[name] for r in table["rows"]) == pytest.approx(table["total"][name])
        assert "suppressed" not in table["total"]  # supply is not company data


@pytest.mark.parametrize(
    "group_by", ["size_class", "emission_class", "sector", "home_municipality"]
)
async def test_demand_groups_and_total_equal_the_rows(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld, group_by: str
) -> None:
    for region, ags in SCOPES:
        table = (await _report(client, rworld.admin, "demand", region, group_by=group_by))[
            "tables"
        ][0]
        reqs = await direct.open_requirements(session, ags)
        groups = direct.group(reqs, group_by)
        keys = [c["name"] for c in table["columns"]][: len(next(iter(groups)))]
        assert {tuple(r[k] for k in keys) for r in table["rows"]} == set(groups)
        for row in table["rows"]:
            assert row["suppressed"] is False
            _close(row, direct.demand_figures(groups[tuple(row[k] for k in keys)]))
        _close(table["total"], direct.demand_figures(reqs))
        for name in ADDITIVE_DEMAND:
            assert sum(r[name] for r in table["rows"]) == pytest.approx(table["total"][name])


async def test_matching_flows_and_unmet_equal_the_rows(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld
) -> None:
    best: dict[Any, tuple[float, str, bool]] = {}
    matches = (await session.execute(select(Match).where(~Match.stale))).scalars().all()
    for m in matches:
        key = (m.score, str(m.plot_id))
        current = best.get(m.requirement_id)
        if current is None or (-key[0], key[1]) < (-current[0], current[1]):
            best[m.requirement_id] = (m.score, str(m.plot_id), m.cross_border)
    for region, ags in SCOPES:
        reqs = await direct.open_requirements(session, ags)
        ids = {r["req"].id for r in reqs}
        mine = {rid: b for rid, b in best.items() if rid in ids}
        row = (await _report(client, rworld.admin, "matching", region))["tables"][0]["rows"][0]
        assert row["open_requirements"] == len(reqs)
        assert row["with_match"] == len(mine)
        assert row["with_good_match"] == sum(b[0] >= 70 for b in mine.values())
        assert row["cross_border_share"] == pytest.approx(
            sum(b[2] for b in mine.values()) / len(mine), abs=1e-4
        )

        flows = await _report(client, rworld.admin, "flows", region)
        best_rows = [r for r in flows["tables"][0]["rows"] if r["kind"] == "best_match"]
        assert sum(r["requirements"] for r in best_rows) == len(mine)

        unmet = await _report(client, rworld.admin, "unmet-demand", region)
        by_rule, by_size = unmet["tables"]
        n_unmet = len(ids) - len(mine)
        assert by_rule["total"]["requirements"] == n_unmet
        assert by_size["total"]["requirements"] == n_unmet
        assert sum(r["requirements"] for r in by_rule["rows"]) == n_unmet
        assert sum(r["requirements"] for r in by_size["rows"]) == n_unmet
        # The unmatched ones want GI, which no plot offers: zoning kept every plot away.
        assert [r["rule"] for r in by_rule["rows"]] == ["zoning"]


async def test_interest_and_agreed_inquiries_are_counted(
    client: httpx.AsyncClient, session: AsyncSession, rworld: ReportWorld
) -> None:
    # Three companies express interest in their best match; Frankfurt closes one as agreed.
    done = 0
    for req in rworld.requirements:
        if done == 3:
            break
        key = rworld.companies[rworld.requirements.index(req) // 2]
        r = await client.get(f"/v1/requirements/{req['id']}/matches", headers=bearer(key))
        items = r.json()["items"]
        if not items or items[0]["plot"]["municipality_ags"] not in (FRANKFURT, OFFENBACH):
            continue
        plot = items[0]["plot"]["id"]
        r = await client.patch(
            f"/v1/requirements/{req['id']}/matches/{plot}",
            json={"state": "interest_expressed", "message": "Hallo"},
            headers=bearer(key),
        )
        assert r.status_code == 200, r.text
        done += 1
    assert done == 3
    municipal = {FRANKFURT: rworld.base.frankfurt, OFFENBACH: rworld.base.offenbach}
    inquiries = []
    for key in municipal.values():
        r = await client.get("/v1/inquiries", headers=bearer(key))
        inquiries += [(key, i["id"]) for i in r.json()["items"]]
    assert len(inquiries) == 3
    key, first = inquiries[0]
    for state in ("in_contact", "closed"):
        body: dict[str, Any] = {"state": state}
        if state == "closed":
            body["outcome"] = "agreed"
        r = await client.patch(f"/v1/inquiries/{first}", json=body, headers=bearer(key))
        assert r.status_code == 200, r.text

    row = (await _report(client, rworld.agency, "matching", "frm"))["tables"][0]["rows"][0]
    assert row["interest_expressed"] == 3
    assert row["inquiries_agreed"] == 1
    flows = (await _report(client, rworld.agency, "flows", "frm"))["tables"][0]["rows"]
    interest = [r for r in flows if r["kind"] == "interest"]
    # One company per origin-destination cell here: present, but every figure suppressed.
    assert interest and all(r["suppressed"] and r["requirements"] is None for r in interest)
