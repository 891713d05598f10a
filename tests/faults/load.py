"""Plots to import and a load loop that records every request's outcome and timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from landmarket.demo.synthetic import square
from tests.helpers import PROBLEM, bearer
from tests.matching.world import ORIGIN

UTM = "<http://www.opengis.net/def/crs/EPSG/0/25832>"
# Far beyond any answer the API should give during an outage: a request this slow is a hang.
REQUEST_TIMEOUT_S = 15.0


def plot_collection(ags: str, prefix: str, count: int, *, side: float = 80.0) -> dict[str, Any]:
    """``count`` published plots (EPSG:25832) spread over municipality ``ags``'s 1 km square."""
    x0, y0 = ORIGIN[ags]
    per_row = 20
    step = (1000 - 2 * side) / per_row
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    square(
                        x0 + side + (i % per_row) * step,
                        y0 + side + (i // per_row % per_row) * step,
                        side,
                    )
                ],
            },
            "properties": {
                "external_id": f"{prefix}-{i:05d}",
                "title": f"Gewerbefläche {prefix} {i}",
                "municipality_ags": ags,
                "category": "brownfield",
                "zoning": "GE",
                "status": "published",
            },
        }
        for i in range(count)
    ]
    return {"type": "FeatureCollection", "features": features}


async def import_plots(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {**bearer(key), "Content-Crs": UTM}
    return await client.post(
        "/v1/plot-imports",
        json=body,
        headers=headers,
        params={"mode": "atomic"},
        timeout=120,
    )


@dataclass(frozen=True)
class Outcome:
    name: str
    started: float
    ended: float
    status: int | None = None
    problem: bool = False
    retry_after: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def proper_503(self) -> bool:
        """An outage answered as it should be: 503 problem+json telling when to retry."""
        return self.status == 503 and self.problem and bool(self.retry_after)


@dataclass
class Load:
    """Concurrent clients, each repeating one request until stopped."""

    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, name: str, request: Callable[[], Awaitable[httpx.Response]]) -> None:
        self._tasks.append(asyncio.create_task(self._loop(name, request)))

    async def _loop(self, name: str, request: Callable[[], Awaitable[httpx.Response]]) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = await request()
            except httpx.HTTPError as exc:  # a reset, a refused connection or a hang
                self.outcomes.append(
                    Outcome(name, started, time.monotonic(), error=f"{type(exc).__name__}: {exc}")
                )
            else:
                self.outcomes.append(
                    Outcome(
                        name,
                        started,
                        time.monotonic(),
                        status=response.status_code,
                        problem=response.headers.get("content-type", "").startswith(PROBLEM),
                        retry_after=response.headers.get("retry-after"),
                    )
                )
            await asyncio.sleep(0.02)

    async def stop(self) -> list[Outcome]:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.outcomes

    async def first_ok_after(self, name: str, since: float, within: float) -> Outcome | None:
        """The first successful ``name`` request started after ``since``, waiting for it."""
        deadline = time.monotonic() + within
        while True:
            found = [o for o in self.outcomes if o.name == name and o.started >= since and o.ok]
            if found:
                return min(found, key=lambda o: o.ended)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
