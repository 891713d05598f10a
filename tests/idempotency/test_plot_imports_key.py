"""Idempotency-Key on POST /v1/plot-imports: the retry gets the first report, writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import assert_problem, pointers
from tests.idempotency.conftest import counts, keyed
from tests.matching.world import FRANKFURT, World
from tests.plots.conftest import UTM, table_hash
from tests.plots.test_imports import collection, utm_feature

URL = "/v1/plot-imports"


async def _import(
    client: httpx.AsyncClient, api_key: str, body: dict[str, Any], **params: Any
) -> httpx.Response:
    headers = keyed(api_key, **{"Content-Crs": UTM})
    return await client.post(URL, json=body, headers=headers, params=params)


async def test_retry_returns_the_first_report_and_writes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    body = collection([utm_feature(FRANKFURT, f"f-{i}", i) for i in range(5)])
    first = await _import(client, world.frankfurt, body)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 5
    before, rows = await table_hash(session), await counts(session)

    again = await _import(client, world.frankfurt, body)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    # The first report (5 created), not what a second run would say (5 unchanged).
    assert again.content == first.content
    assert await table_hash(session) == before
    assert await counts(session) == rows


async def test_same_key_other_features_or_options_is_422(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    features = [utm_feature(FRANKFURT, f"f-{i}", i) for i in range(3)]
    assert (await _import(client, world.frankfurt, collection(features))).status_code == 200
    before = await table_hash(session)

    renamed = [*features[:2], utm_feature(FRANKFURT, "f-2", 2, title="Renamed")]
    for response in (
        await _import(client, world.frankfurt, collection(renamed)),
        await _import(client, world.frankfurt, collection(features), dry_run="true"),
    ):
        problem = assert_problem(response, 422)
        assert pointers(problem) == ["/header/idempotency-key"]
    assert await table_hash(session) == before
