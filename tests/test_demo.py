"""`landmarket demo`: idempotent seeding with keys that work."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from landmarket.auth.models import Organization
from landmarket.cli import app
from landmarket.demo.plots import DEMO_PLOTS
from landmarket.demo.seed import seed_demo
from landmarket.plots.models import Plot, PlotStatus


async def test_demo_seeds_region_orgs_and_working_keys(
    session: AsyncSession, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await seed_demo(session, tmp_path)
    await session.commit()
    second = await seed_demo(session, tmp_path)
    await session.commit()

    assert first.municipalities == 12
    assert [k.key for k in first.keys] == [k.key for k in second.keys], "keys are reused"
    assert await session.scalar(select(func.count()).select_from(Organization)) == 4
    assert (tmp_path / "demo-keys.json").stat().st_mode & 0o777 == 0o600

    kinds = {}
    for demo_key in second.keys:
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {demo_key.key}"})
        assert me.status_code == 200, me.text
        kinds[demo_key.kind.value] = me.json()
    assert set(kinds) == {"municipality", "company", "agency", "admin"}
    # The company is based in another town than the one the municipality key edits.
    assert kinds["company"]["home_ags"] not in kinds["municipality"]["ags"]
    assert kinds["agency"]["regions"] == ["demo"]

    listed = await client.get("/v1/municipalities", params={"region": "demo"})
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 12


async def test_demo_seeds_plots_idempotently(
    session: AsyncSession, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await seed_demo(session, tmp_path)
    await session.commit()
    second = await seed_demo(session, tmp_path)
    await session.commit()
    assert first.plots is not None and second.plots is not None
    assert (first.plots.created, first.plots.failed) == (DEMO_PLOTS, 0)
    assert (second.plots.created, second.plots.updated, second.plots.unchanged) == (
        0,
        0,
        DEMO_PLOTS,
    )
    rows = (await session.execute(select(Plot.municipality_ags, Plot.status, Plot.zoning))).all()
    assert len(rows) == DEMO_PLOTS
    statuses = Counter(r.status for r in rows)
    assert statuses[PlotStatus.published] > DEMO_PLOTS / 2 and statuses[PlotStatus.draft] > 0
    assert len({r.zoning for r in rows}) >= 4
    assert len({r.municipality_ags for r in rows}) >= 8
    # Owned by the demo plots office, never in the company's home town.
    office = next(k for k in second.keys if k.kind.value == "municipality")
    company = next(k for k in second.keys if k.kind.value == "company")
    me = (await client.get("/v1/me", headers={"Authorization": f"Bearer {office.key}"})).json()
    home = (await client.get("/v1/me", headers={"Authorization": f"Bearer {company.key}"})).json()
    assert {r.municipality_ags for r in rows} <= set(me["ags"])
    assert home["home_ags"] not in {r.municipality_ags for r in rows}
    published = await client.get("/v1/plots", params={"limit": 1000})
    assert published.json()["numberReturned"] == statuses[PlotStatus.published]


async def test_demo_replaces_keys_that_no_longer_work(
    session: AsyncSession, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await seed_demo(session, tmp_path)
    await session.commit()
    admin = next(k for k in first.keys if k.kind.value == "admin")
    company = next(k for k in first.keys if k.kind.value == "company")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {company.key}"})
    assert me.status_code == 200
    listing = await client.get(
        f"/v1/admin/organizations/{me.json()['id']}/api-keys",
        headers={"Authorization": f"Bearer {admin.key}"},
    )
    (only,) = listing.json()
    revoked = await client.delete(
        f"/v1/admin/api-keys/{only['id']}", headers={"Authorization": f"Bearer {admin.key}"}
    )
    assert revoked.status_code == 204

    second = await seed_demo(session, tmp_path)
    await session.commit()
    new_company = next(k for k in second.keys if k.kind.value == "company")
    assert new_company.key != company.key
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {new_company.key}"})
    assert me.status_code == 200


FRM = Path(__file__).resolve().parents[2] / "shared/data/municipalities/frm-75-vg5000-2021.geojson"


@pytest.mark.skipif(not FRM.exists(), reason="../shared/data is not beside the repository")
async def test_demo_cli_with_real_boundaries(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    env = {"LANDMARKET_DATABASE_URL": database_url, "LANDMARKET_DATA_DIR": str(tmp_path)}
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["demo", "--municipalities", str(FRM)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "75 municipalities" in result.output
    assert f"demo plots: {DEMO_PLOTS} created" in result.output
    admin_key = next(
        line.split()[1] for line in result.output.splitlines() if line.strip().startswith("admin")
    )
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {admin_key}"})
    assert me.json()["kind"] == "admin"
    frankfurt = await client.get("/v1/municipalities/06412000")
    assert frankfurt.json()["properties"]["regions"] == ["demo"]
