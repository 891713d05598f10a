"""A realistic world for the fuzz run (one organisation and key per kind, municipalities in a
region, plots and a requirement with matches) and the app it runs against.

The world is seeded once for the module and truncated after it; the app is a second instance
on the test database whose lifespan schemathesis runs in its own event-loop thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from schemathesis.python import asgi
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from landmarket.core.config import Settings
from landmarket.main import create_app
from landmarket.models import Base
from tests.factories import (
    make_municipality,
    make_org_with_key,
    make_plot,
    make_region,
    make_requirement,
)
from tests.fuzz import harness

FRANKFURT, OFFENBACH, DARMSTADT = "06412000", "06413000", "06411000"


@dataclass(frozen=True)
class FuzzWorld:
    keys: dict[str, str]


@pytest.fixture(scope="module")
async def fuzz_world(engine: AsyncEngine) -> AsyncIterator[FuzzWorld]:
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        for ags, name in (
            (FRANKFURT, "Frankfurt am Main"),
            (OFFENBACH, "Offenbach am Main"),
            (DARMSTADT, "Darmstadt"),
        ):
            await make_municipality(s, ags, name, kind="Stadt")
        await make_region(s, "frm", "FrankfurtRheinMain", [FRANKFURT, OFFENBACH])
        keys = {
            "admin": (await make_org_with_key(s, "admin", "Ops"))[1],
            "municipality": (
                await make_org_with_key(
                    s, "municipality", "Stadt Frankfurt", ags=[FRANKFURT, OFFENBACH]
                )
            )[1],
            "company": (await make_org_with_key(s, "company", "Acme GmbH", home_ags=OFFENBACH))[1],
            "agency": (await make_org_with_key(s, "agency", "Regionalverband", regions=["frm"]))[1],
        }
        await make_plot(s, FRANKFURT)
        await make_plot(s, OFFENBACH, dx=300, zoning="GI", category="commercial_site")
        await make_plot(s, FRANKFURT, dx=500, status="draft")
        await make_requirement(s, keys["company"])
    yield FuzzWorld(keys=keys)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def fuzz_app(database_url: str, settings: Settings) -> Iterator[FastAPI]:
    # A long poll answers after 50 ms instead of up to 30 s (`wait` is still fuzzed); no
    # per-request INFO logs, which cost a quarter of the run.
    app = create_app(
        settings.model_copy(update={"event_feed_max_wait_seconds": 0.05, "log_level": "WARNING"}),
        database_url=database_url,
    )
    yield app
    asgi.shutdown_lifespans()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if harness.SUMMARIES:
        terminalreporter.section("schemathesis")
        for line in harness.SUMMARIES:
            terminalreporter.write_line(line)
