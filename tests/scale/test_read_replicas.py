"""Read replicas (issue 19, item 2) against a hot standby started here: a report is read from
the replica, a caller's reads right after its own write go to the primary, and a stopped
replica sends reads to the primary without errors until it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from landmarket.core.config import Settings
from landmarket.db import migrate
from landmarket.db.replicas import Replicas
from landmarket.main import create_app
from tests.factories import make_municipality, make_org_with_key, make_plot, make_region
from tests.helpers import bearer
from tests.limits.conftest import FRANKFURT, UTM, plot_feature
from tests.scale.standby import primary_and_standby


async def _until(check: Callable[[], Awaitable[bool] | bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.1)


async def test_reads_go_to_the_replica_writes_and_fallback_to_the_primary() -> None:
    with primary_and_standby() as pair:
        primary_url, standby_url = pair.primary.url(), pair.standby.url()
        engine = create_async_engine(primary_url)
        try:
            await migrate.upgrade(engine)
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                await make_municipality(session, FRANKFURT, "Frankfurt am Main")
                await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT])
                _, agency = await make_org_with_key(session, "agency", "V", regions=["frm"])
                _, town = await make_org_with_key(session, "municipality", "Stadt", ags=[FRANKFURT])
                await make_plot(session, FRANKFURT)
            await _run(engine, pair, primary_url, standby_url, agency, town)
        finally:
            await engine.dispose()


async def _run(
    engine: Any, pair: Any, primary_url: str, standby_url: str, agency: str, town: str
) -> None:
    settings = Settings(
        rate_limit_per_second=0,
        read_database_urls=[standby_url],
        replica_check_seconds=0.2,
        replica_max_lag_seconds=60,
    )
    app = create_app(settings, database_url=primary_url)
    async with LifespanManager(app):
        replicas: Replicas = app.state.replicas
        replica = replicas.replicas[0]
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def supply() -> Any:
                report = await client.get(
                    "/v1/reports/supply", params={"region": "frm"}, headers=bearer(agency)
                )
                assert report.status_code == 200, report.text
                return report.json()["tables"][0]["total"]

            await _until(lambda: replica.fit, 20, "the standby caught up")
            before = await supply()
            # Replay paused: what the primary gets now is not on the replica.
            await asyncio.to_thread(pair.standby.psql, "SELECT pg_wal_replay_pause()")
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                await make_plot(session, FRANKFURT, dx=300)
            assert await supply() == before  # read on the replica

            # A plot written and read back at once by its writer: the primary's.
            created = await client.post(
                "/v1/plots", json=plot_feature("fresh"), headers=bearer(town) | UTM
            )
            assert created.status_code == 201, created.text
            plot_id = created.json()["id"]
            seen = await client.get(f"/v1/plots/{plot_id}", headers=bearer(town))
            assert seen.status_code == 200, seen.text

            # The replica stops: reads go to the primary, without errors.
            await asyncio.to_thread(pair.standby.stop)
            after = await supply()
            assert after != before, (before, after)
            assert not replica.fit
            for _ in range(3):
                assert await supply() == after
            ogc = await client.get("/ogc/collections", headers={"Accept": "application/json"})
            assert ogc.status_code == 200, ogc.text
            # ... and it is used again once it is back and fit.
            await asyncio.to_thread(pair.standby.start)
            await asyncio.to_thread(pair.standby.psql, "SELECT pg_wal_replay_resume()")
            await _until(lambda: replica.fit, 20, "the standby is fit again")
