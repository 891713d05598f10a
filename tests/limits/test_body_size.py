"""Request bodies over LANDMARKET_MAX_BODY_BYTES: 413 before anything reads them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.helpers import assert_problem, bearer, count
from tests.limits.apps import app_with, client_of
from tests.limits.conftest import UTM, Keys, plot_feature

LIMIT = 4096


def _import_body(features: int) -> bytes:
    body = {
        "type": "FeatureCollection",
        "features": [plot_feature(f"p{i}") for i in range(features)],
    }
    return json.dumps(body).encode()


async def test_oversized_bodies_are_413_and_write_nothing(
    database_url: str, keys: Keys, session: AsyncSession
) -> None:
    big = _import_body(30)
    assert len(big) > LIMIT
    small = _import_body(2)
    assert len(small) <= LIMIT

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    headers = {**bearer(keys.municipality), **UTM, "Content-Type": "application/json"}
    async with app_with(database_url, max_body_bytes=LIMIT) as app, client_of(app) as client:
        by_length = await client.post("/v1/plot-imports", content=big, headers=headers)
        # No Content-Length: the limit is enforced while the body streams in.
        streamed = await client.post("/v1/plot-imports", content=chunked(), headers=headers)
        within = await client.post("/v1/plot-imports", content=small, headers=headers)
    assert "content-length" not in streamed.request.headers
    for response in (by_length, streamed):
        body = assert_problem(response, 413)
        assert body["type"] == "/problems/payload-too-large"
        assert f"{LIMIT} bytes" in body["detail"]
    assert await count(session, Plot) == 2  # only the request within the limit wrote
    assert within.status_code == 200, within.text
