"""The API behind PgBouncer in transaction mode (issue 19, item 3): with
LANDMARKET_DB_TRANSACTION_POOLER, concurrent reads, writes, OGC reads and a report through a
pool of two server connections all succeed. Without it the connection's startup parameters
(statement_timeout, jit) are refused, and asyncpg's numbered and cached prepared statements
would meet other clients' on the shared server connections."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_municipality, make_org_with_key, make_plot, make_region
from tests.helpers import bearer
from tests.limits.apps import app_with, client_of
from tests.limits.conftest import FRANKFURT, UTM, plot_feature
from tests.scale.components import pgbouncer

ROUNDS = 6


async def _round(client: httpx.AsyncClient, i: int, town: str, agency: str) -> list[int]:
    created = await client.post("/v1/plots", json=plot_feature(f"p{i}"), headers=bearer(town) | UTM)
    assert created.status_code == 201, created.text
    reads = await asyncio.gather(
        client.get(f"/v1/plots/{created.json()['id']}", headers=bearer(town)),
        client.get("/v1/regions"),
        client.get("/v1/me", headers=bearer(agency)),
        client.get("/ogc/collections/plots/items", params={"limit": 5}),
        client.get("/v1/reports/supply", params={"region": "frm"}, headers=bearer(agency)),
    )
    for response in reads:
        assert response.status_code == 200, (response.url, response.text)
    return [r.status_code for r in reads]


async def test_the_api_works_through_pgbouncer_in_transaction_mode(
    database_url: str, session: AsyncSession
) -> None:
    await make_municipality(session, FRANKFURT, "Frankfurt am Main")
    await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT])
    _, agency = await make_org_with_key(session, "agency", "V", regions=["frm"])
    _, town = await make_org_with_key(session, "municipality", "Stadt", ags=[FRANKFURT])
    await make_plot(session, FRANKFURT)
    with pgbouncer(database_url, pool_size=2) as bounced:
        async with (
            app_with(bounced, db_transaction_pooler=True, db_pool_size=6) as app,
            client_of(app) as client,
        ):
            rounds = await asyncio.gather(*(_round(client, i, town, agency) for i in range(ROUNDS)))
            assert len(rounds) == ROUNDS
