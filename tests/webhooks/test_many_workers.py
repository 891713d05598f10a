"""Three webhook workers at once on one outbox (issue 19, item 4): every event is delivered
exactly once per subscription, however the workers' claims interleave."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.matching.world import World, post_requirement
from tests.webhooks.conftest import ReceiverFactory, WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, event, publish_plot, subscribe, wait_until

PLOTS = 8
WORKERS = 3


async def test_three_workers_deliver_each_event_once_per_subscription(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receivers: ReceiverFactory,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    first, second = await receivers("ok"), await receivers("ok")
    for receiver in (first, second):
        await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    for i in range(PLOTS):
        await publish_plot(client, session, world.frankfurt, external_id=f"p{i}", dx=150 * i)
    # Started together on a full outbox: they compete for the same rows.
    for _ in range(WORKERS):
        await start_worker()
    await wait_until(lambda: all(len(r.received) >= PLOTS for r in (first, second)), within=15.0)
    await asyncio.sleep(1.0)  # a duplicate would have arrived by now
    for receiver in (first, second):
        ids = Counter(event(got.body)["id"] for got in receiver.received)
        assert len(ids) >= PLOTS
        assert all(n == 1 for n in ids.values()), ids
    assert Counter(event(g.body)["id"] for g in first.received) == Counter(
        event(g.body)["id"] for g in second.received
    )
