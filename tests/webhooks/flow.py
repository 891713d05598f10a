"""Helpers for webhook tests: subscribing, publishing plots through the API, waiting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import bearer
from tests.matching.world import FRANKFURT, ORIGIN, lonlat_ring

COMPANY_TYPES = ["match.created", "match.updated", "plot.withdrawn"]
MUNICIPALITY_TYPES = ["demand.matched", "inquiry.created"]


async def subscribe(
    client: httpx.AsyncClient, key: str, url: str, types: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks", json={"url": url, "event_types": types, **extra}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def publish_plot(
    client: httpx.AsyncClient,
    session: AsyncSession,
    key: str,
    *,
    external_id: str,
    dx: float = 0,
    ags: str = FRANKFURT,
    **props: Any,
) -> str:
    """A 100 m square plot (1 ha), published through POST /v1/plots."""
    x, y = ORIGIN[ags]
    ring = await lonlat_ring(session, x + dx, y, side=100)
    await session.commit()  # end the read transaction: no snapshot left open
    body = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "external_id": external_id,
            "title": f"Plot {external_id}",
            "municipality_ags": ags,
            "zoning": "GE",
            "category": "brownfield",
            "status": "published",
            **props,
        },
    }
    response = await client.post("/v1/plots", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    plot_id: str = response.json()["id"]
    return plot_id


async def wait_until(check: Callable[[], bool], within: float = 5.0) -> float:
    """Seconds until ``check()`` held; fails after ``within`` seconds."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def event(body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed
