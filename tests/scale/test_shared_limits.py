"""Limits shared by several API processes through one Redis (issue 19, item 1): two real
`landmarket serve` processes together admit no more than one process's limit, and the event
feed's per-key poll cap counts the polls open on both."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_municipality, make_org_with_key
from tests.scale.components import redis_server
from tests.servers import serving

BURST = 5
PATH = "/openapi.json"  # anonymous, rate limited, no database


@contextmanager
def two_servers(
    database_url: str, workdir: Path, redis_url: str, **settings: str
) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(workdir),
        "LANDMARKET_REDIS_URL": redis_url,
        # 5 per 100 s: nothing comes free while the test runs.
        "LANDMARKET_RATE_LIMIT_PER_SECOND": "0.05",
        "LANDMARKET_RATE_LIMIT_BURST": str(BURST),
        **{f"LANDMARKET_{name.upper()}": value for name, value in settings.items()},
    }
    with ExitStack() as stack:
        first = stack.enter_context(serving(env, workdir / "a.log", "--no-worker"))
        second = stack.enter_context(serving(env, workdir / "b.log", "--no-worker"))
        yield first.base, second.base


def test_two_processes_share_one_rate_limit(database_url: str, tmp_path: Path) -> None:
    with (
        redis_server(tmp_path) as redis_url,
        two_servers(database_url, tmp_path, redis_url) as (a, b),
        httpx.Client(timeout=10) as client,
    ):
        statuses = [client.get(f"{base}{PATH}").status_code for base in (a, b) * BURST]
        # Alone, each process would admit BURST of these: 2 * BURST together.
        assert statuses.count(200) == BURST, statuses
        assert statuses.count(429) == BURST
        refused = client.get(f"{a}{PATH}")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 50
        assert refused.headers["ratelimit-remaining"] == "0"


async def test_the_poll_cap_counts_polls_on_every_process(
    database_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    await make_municipality(session, "06412000", "Frankfurt am Main")
    _, key = await make_org_with_key(session, "company", "Acme", home_ags="06412000")
    auth = {"Authorization": f"Bearer {key}"}
    with (
        redis_server(tmp_path) as redis_url,
        two_servers(
            database_url,
            tmp_path,
            redis_url,
            rate_limit_per_second="0",
            event_feed_max_polls_per_key="1",
        ) as (a, b),
    ):
        async with httpx.AsyncClient(timeout=15, headers=auth) as client:
            waiting = asyncio.create_task(client.get(f"{a}/v1/events", params={"wait": 3}))
            await asyncio.sleep(1)
            second = await client.get(f"{b}/v1/events", params={"wait": 0})
            assert second.status_code == 429, second.text
            assert second.headers["retry-after"] == "1"
            assert (await asyncio.wait_for(waiting, 10)).status_code == 200
            # The slot came free when the first poll ended, on either process.
            assert (await client.get(f"{b}/v1/events")).status_code == 200
