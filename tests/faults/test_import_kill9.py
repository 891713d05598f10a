"""`kill -9` of PostgreSQL during an atomic plot import leaves all of its plots or none, with
their audit events and matches, and the API serves the same import again once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.faults.conftest import FaultServer, Throwaway
from tests.faults.load import import_plots, plot_collection
from tests.helpers import assert_problem, bearer
from tests.matching.world import FRANKFURT, World, requirement_body

# Enough plots that the import spends ~2 s in the database here, so every phase can be caught.
PLOTS = 2000


@dataclass(frozen=True)
class Kill:
    """When to strike: once the import's backend runs a statement containing ``during``
    (or, with ``after``, the first statement that follows it); ``backend_too`` also kills the
    import's backend, as a whole-machine crash would, instead of letting it notice the death
    of its postmaster."""

    prefix: str
    during: str
    after: bool = False
    backend_too: bool = False


KILLS = [
    Kill("staged", during="landmarket_plot_import"),
    Kill("inserting", during="INSERT INTO plots", backend_too=True),
    Kill("matching", during="INSERT INTO plots", after=True),
]


class Observer:
    """A superuser connection that watches pg_stat_activity for the import's backend."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None

    async def connect(self) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn)
        return self.conn

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()

    async def active(self, containing: str) -> int | None:
        conn = await self.connect()
        pid = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'landmarket' "
            "AND state = 'active' AND strpos(query, $1) > 0",
            containing,
        )
        return int(pid) if pid is not None else None

    async def next_statement(self, pid: int, leaving: str) -> bool:
        """Whether backend ``pid`` is running a statement other than the one ``leaving``."""
        conn = await self.connect()
        return bool(
            await conn.fetchval(
                "SELECT state = 'active' AND strpos(query, $2) = 0 "
                "FROM pg_stat_activity WHERE pid = $1",
                pid,
                leaving,
            )
        )

    async def wait_for(self, kill: Kill, importing: asyncio.Task[httpx.Response]) -> int:
        pid: int | None = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not importing.done():
            if pid is None:
                pid = await self.active(kill.during)
                if pid is not None and not kill.after:
                    return pid
            elif await self.next_statement(pid, kill.during):
                return pid
            await asyncio.sleep(0.005)
        raise AssertionError(f"the import never reached {kill}: {importing}")


@pytest.fixture
async def observer(throwaway: Throwaway) -> AsyncIterator[Observer]:
    dsn = make_url(throwaway.url).set(drivername="postgresql")
    watching = Observer(dsn.render_as_string(hide_password=False))
    yield watching
    await watching.close()


async def _state(observer: Observer, prefix: str) -> tuple[int, int, int]:
    """Plots, their create events and their matches for the import ``prefix``."""
    conn = await observer.connect()
    pattern = f"{prefix}-%"
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM plots WHERE external_id LIKE $1) AS plots,
          (SELECT count(*) FROM events e JOIN plots p ON p.id::text = e.entity_id
            WHERE e.entity_type = 'plot' AND e.action = 'create'
              AND p.external_id LIKE $1) AS events,
          (SELECT count(*) FROM matches m JOIN plots p ON p.id = m.plot_id
            WHERE p.external_id LIKE $1) AS matches
        """,
        pattern,
    )
    assert row is not None
    return int(row["plots"]), int(row["events"]), int(row["matches"])


async def _orphans(observer: Observer) -> tuple[int, int]:
    """Create events whose plot does not exist; matches whose plot or requirement does not."""
    conn = await observer.connect()
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM events e WHERE e.entity_type = 'plot' AND e.action = 'create'
            AND NOT EXISTS (SELECT 1 FROM plots p WHERE p.id::text = e.entity_id)) AS events,
          (SELECT count(*) FROM matches m
            WHERE NOT EXISTS (SELECT 1 FROM plots p WHERE p.id = m.plot_id)
               OR NOT EXISTS (SELECT 1 FROM requirements r WHERE r.id = m.requirement_id))
            AS matches
        """
    )
    assert row is not None
    return int(row["events"]), int(row["matches"])


async def test_kill9_during_atomic_import_leaves_all_or_none(
    throwaway: Throwaway, server: FaultServer, world: World, observer: Observer
) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
        wanted = await client.post(
            "/v1/requirements", json=requirement_body(), headers=bearer(world.company)
        )
        assert wanted.status_code == 201, wanted.text
        # Every imported plot matches this requirement: a committed import has one match each.
        probe = await import_plots(client, world.frankfurt, plot_collection(FRANKFURT, "probe", 1))
        assert probe.status_code == 200, probe.text
        assert await _state(observer, "probe") == (1, 1, 1)

        outcomes: dict[str, int] = {}
        for kill in KILLS:
            body = plot_collection(FRANKFURT, kill.prefix, PLOTS)
            # Crash recovery then replays little more than the import (fast restarts).
            await (await observer.connect()).execute("CHECKPOINT")
            importing = asyncio.create_task(import_plots(client, world.frankfurt, body))
            backend = await observer.wait_for(kill, importing)
            await observer.close()
            await asyncio.to_thread(throwaway.kill9, *([backend] if kill.backend_too else []))
            response = await importing
            if response.status_code != 200:
                assert_problem(response, 503)
                assert response.headers.get("retry-after"), response.headers
            await asyncio.to_thread(throwaway.start)

            plots, events, matches = await _state(observer, kill.prefix)
            assert plots in (0, PLOTS), f"{kill}: {plots} of {PLOTS} plots survived"
            assert (events, matches) == (plots, plots), f"{kill}: {plots}, {events}, {matches}"
            if response.status_code == 200:
                assert plots == PLOTS, f"{kill}: a 200 for an import that was lost"
            outcomes[kill.prefix] = plots
        assert await _orphans(observer) == (0, 0)

        # The API was not restarted, and sending the first import again completes it.
        again = await import_plots(
            client, world.frankfurt, plot_collection(FRANKFURT, KILLS[0].prefix, PLOTS)
        )
        assert again.status_code == 200, again.text
        report = again.json()
        assert report["created"] == PLOTS - outcomes[KILLS[0].prefix]
        assert report["created"] + report["unchanged"] == PLOTS
        assert await _state(observer, KILLS[0].prefix) == (PLOTS, PLOTS, PLOTS)
    assert server.process.poll() is None, server.output()
