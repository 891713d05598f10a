"""Who may read reports and exports: agencies their regions, admins all, nobody else."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_org_with_key, make_region
from tests.helpers import assert_problem, bearer, pointers
from tests.matching.world import World, make_world
from tests.reports.world import DARMSTADT, FRANKFURT, REPORT_PATHS


@pytest.fixture
async def world(session: AsyncSession) -> World:
    base = await make_world(session)
    await make_region(session, "south", "Südhessen", [DARMSTADT])
    return base


@pytest.mark.parametrize("path", REPORT_PATHS)
async def test_access_rules(
    client: httpx.AsyncClient, session: AsyncSession, world: World, path: str
) -> None:
    other_agency = (await make_org_with_key(session, "agency", "Süd", regions=["south"]))[1]
    frm = {"region": "frm"}
    assert_problem(await client.get(path, params=frm), 401)
    for key in (world.company, world.frankfurt):
        assert_problem(await client.get(path, params=frm, headers=bearer(key)), 403)
    assert_problem(await client.get(path, params=frm, headers=bearer(other_agency)), 403)
    body = assert_problem(await client.get(path, headers=bearer(world.agency)), 422)
    assert pointers(body) == ["/query/region"]
    assert (await client.get(path, params=frm, headers=bearer(world.agency))).status_code == 200
    assert (await client.get(path, headers=bearer(world.admin))).status_code == 200
    assert_problem(
        await client.get(path, params={"region": "nope"}, headers=bearer(world.admin)), 404
    )
    # A municipality outside the region is not a way around it.
    outside = {"region": "frm", "municipalities": [DARMSTADT]}
    body = assert_problem(await client.get(path, params=outside, headers=bearer(world.agency)), 422)
    assert pointers(body) == ["/query/municipalities/0"]
    inside = {"region": "frm", "municipalities": [FRANKFURT]}
    assert (await client.get(path, params=inside, headers=bearer(world.agency))).status_code == 200


async def test_bad_parameters_are_422(client: httpx.AsyncClient, world: World) -> None:
    key = bearer(world.admin)
    for path, params, pointer in [
        ("/v1/reports/supply", {"group_by": "colour"}, "/query/group_by"),
        ("/v1/reports/demand", {"format": "pdf"}, "/query/format"),
        ("/v1/reports/flows", {"format": "csv", "table": "nope"}, "/query/table"),
        ("/v1/reports/timeseries", {"interval": "day"}, "/query/interval"),
        ("/v1/reports/timeseries", {"from": "1900-01-01"}, "/query/from"),
        ("/v1/reports/supply", {"from": "2026-02-01", "to": "2026-01-01"}, "/query/from"),
        ("/v1/exports/plots", {"format": "shp"}, "/query/format"),
    ]:
        body = assert_problem(await client.get(path, params=params, headers=key), 422)
        assert pointer in pointers(body)


@pytest.mark.parametrize("path", REPORT_PATHS)
async def test_malformed_ags_is_refused_as_documented(
    app: FastAPI, client: httpx.AsyncClient, world: World, path: str
) -> None:
    parameters = app.openapi()["paths"][path]["get"]["parameters"]
    (documented,) = [p["schema"] for p in parameters if p["name"] == "municipalities"]
    assert documented["anyOf"][0]["items"]["pattern"] == "^[0-9]{8}$"
    for bad in ("", "0641200", "06412000x"):
        params = {"region": "frm", "municipalities": [FRANKFURT, bad]}
        body = assert_problem(
            await client.get(path, params=params, headers=bearer(world.agency)), 422
        )
        assert pointers(body) == ["/query/municipalities/1"]


async def test_dates_only_as_yyyy_mm_dd(client: httpx.AsyncClient, world: World) -> None:
    # Pydantic alone read `to=0` as 1970-01-01 (found by fuzzing).
    for bad in ("0", "1700000000", "2026-1-1", "01.01.2026"):
        for name in ("from", "to"):
            response = await client.get(
                "/v1/reports/supply", params={name: bad}, headers=bearer(world.admin)
            )
            assert pointers(assert_problem(response, 422)) == [f"/query/{name}"], bad
