"""End to end: a change through the API, the outbox, an in-process worker, a real receiver."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.webhooks.signing import verify
from tests.helpers import bearer
from tests.matching.world import World, post_requirement
from tests.webhooks.conftest import Receiver, WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, event, publish_plot, subscribe, wait_until


async def test_match_created_arrives_signed_within_two_seconds_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    req = await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    await start_worker()
    plot_id = await publish_plot(client, session, world.frankfurt, external_id="p1")
    elapsed = await wait_until(lambda: len(receiver.received) >= 1, within=2.0)
    assert elapsed < 2.0
    got = receiver.received[0]
    assert verify(hook["secret"], got.headers["webhook-signature"], got.body)
    assert not verify("whsec_other", got.headers["webhook-signature"], got.body)
    body = event(got.body)
    assert body["type"] == "match.created"
    assert got.headers["webhook-id"] == body["id"]
    assert body["data"]["requirement_id"] == req["id"]
    assert body["data"]["plot_id"] == plot_id
    assert body["data"]["plot"]["title"] == "Plot p1"
    assert 0 <= body["data"]["score"] <= 100
    await asyncio.sleep(0.5)  # a second delivery would have arrived by now
    assert len(receiver.received) == 1
    log = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(world.company))
    [entry] = log.json()["items"]
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("delivered", 1, 200)
