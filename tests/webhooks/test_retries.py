"""Failures: retried after 500, timeouts and downtime; dead after N attempts; redelivery;
workers stopped mid-delivery, crashed, or running side by side."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.webhooks.models import WebhookSubscription
from tests.helpers import bearer
from tests.matching.world import World, post_requirement
from tests.webhooks.conftest import Receiver, WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, event, publish_plot, subscribe, wait_until


async def _deliveries(client: httpx.AsyncClient, key: str, wid: str) -> list[dict[str, object]]:
    response = await client.get(f"/v1/webhooks/{wid}/deliveries", headers=bearer(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def _delivered(client: httpx.AsyncClient, key: str, wid: str) -> dict[str, object]:
    """The one delivery, once recorded delivered (just after the receiver answered)."""
    for _ in range(100):
        [entry] = await _deliveries(client, key, wid)
        if entry["state"] == "delivered":
            break
        await asyncio.sleep(0.02)
    assert entry["state"] == "delivered", entry
    return entry


def _ids(receiver: Receiver) -> Counter[str]:
    return Counter(event(r.body)["id"] for r in receiver.received)


async def test_retried_after_500_then_delivered_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    receiver.mode = "fail"
    await start_worker()
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    await wait_until(lambda: len(receiver.received) >= 2)
    receiver.mode = "ok"
    count = len(receiver.received)
    [entry] = await _deliveries(client, world.company, hook["id"])
    await wait_until(lambda: len(receiver.received) > count)
    await asyncio.sleep(0.4)
    assert len(set(_ids(receiver))) == 1  # the same event each time
    assert len(receiver.received) == count + 1  # and nothing after the 200
    [entry] = await _deliveries(client, world.company, hook["id"])
    assert entry["state"] == "delivered" and entry["last_status"] == 200
    attempts = [r.headers["webhook-attempt"] for r in receiver.received]
    assert attempts == [str(i + 1) for i in range(len(attempts))]


async def test_timeout_is_retried_and_dead_after_max_attempts_then_redelivered(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    receiver.mode = "hang"
    await start_worker()
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    max_attempts = hook_settings.webhook_max_attempts

    async def dead() -> dict[str, object] | None:
        items = await _deliveries(client, world.company, hook["id"])
        return items[0] if items and items[0]["state"] == "dead" else None

    for _ in range(100):
        entry = await dead()
        if entry:
            break
        await asyncio.sleep(0.1)
    assert entry is not None, "never dead"
    assert entry["attempts"] == max_attempts
    assert "timed out" in str(entry["last_error"])
    assert len(receiver.received) == max_attempts
    receiver.mode = "ok"
    again = await client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{entry['id']}/redeliver",
        headers=bearer(world.company),
    )
    assert again.status_code == 202, again.text
    assert again.json()["state"] == "pending"
    await wait_until(lambda: len(receiver.received) == max_attempts + 1)
    entry = await _delivered(client, world.company, hook["id"])
    refused = await client.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{entry['id']}/redeliver",
        headers=bearer(world.company),
    )
    assert refused.status_code == 409


async def test_receiver_down_for_a_while_loses_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    await post_requirement(client, world.company)
    await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    await start_worker(hook_settings.model_copy(update={"webhook_max_attempts": 50}))
    await receiver.stop()
    for i in range(3):
        await publish_plot(client, session, world.frankfurt, external_id=f"p{i}", dx=120 * i)
    await asyncio.sleep(0.8)  # several failed attempts while it is down
    await receiver.start()  # same port
    await wait_until(lambda: len(_ids(receiver)) == 3)
    await asyncio.sleep(0.3)
    assert set(_ids(receiver).values()) == {1}


async def test_worker_cancelled_mid_delivery_another_delivers(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    receiver.mode = "hang"
    _, first = await start_worker()
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    await wait_until(lambda: len(receiver.received) == 1)
    first.cancel()  # while the request hangs
    await asyncio.gather(first, return_exceptions=True)
    [entry] = await _deliveries(client, world.company, hook["id"])
    # Handed back at once: pending, and the interrupted attempt does not count.
    assert (entry["state"], entry["attempts"]) == ("pending", 0)
    receiver.mode = "ok"
    await start_worker()
    await wait_until(lambda: len(receiver.received) == 2)
    await _delivered(client, world.company, hook["id"])


async def test_crashed_worker_lease_expires_and_another_delivers(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    """A worker that claimed rows and vanished (no clean stop) only delays them."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from landmarket.webhooks.worker import Worker

    await post_requirement(client, world.company)
    await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    crashed = Worker(async_sessionmaker(session.bind), hook_settings, lease_margin=0.2)
    assert len(await crashed.claim()) == 1  # ... and then it dies
    await crashed.aclose()
    await start_worker(lease_margin=0.2)
    await asyncio.sleep(0.3)
    assert receiver.received == []  # still leased
    await wait_until(lambda: len(receiver.received) == 1, within=3)


async def test_two_workers_deliver_each_event_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    await subscribe(client, world.company, receiver.url, ["match.created"])
    for i in range(8):
        await publish_plot(client, session, world.frankfurt, external_id=f"p{i}", dx=110 * i)
    await asyncio.gather(start_worker(batch=3), start_worker(batch=3))
    await wait_until(lambda: len(receiver.received) == 16)
    await asyncio.sleep(0.4)
    assert len(receiver.received) == 16
    # Each event once per subscription: pairs of (event id, signature secret) are distinct.
    per_event = _ids(receiver)
    assert len(per_event) == 8 and set(per_event.values()) == {2}


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    receiver.mode = "redirect"
    await start_worker()
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    await wait_until(lambda: len(receiver.received) >= 1)
    await asyncio.sleep(0.2)
    [entry] = await _deliveries(client, world.company, hook["id"])
    assert entry["last_status"] == 307 and "redirect" in str(entry["last_error"])
    # /elsewhere was never requested: the receiver only records /hook, and answers 404 else.
    assert all(r.headers.get("webhook-id") for r in receiver.received)


async def test_target_checked_again_at_delivery(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    """Allowed at creation, refused at delivery (as when DNS changes to an internal address)."""
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    strict = hook_settings.model_copy(update={"webhook_allow_private_targets": False})
    await start_worker(strict)
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    for _ in range(50):
        [entry] = await _deliveries(client, world.company, hook["id"])
        if entry["last_error"]:
            break
        await asyncio.sleep(0.05)
    assert "refused target" in str(entry["last_error"]) and "loopback" in str(entry["last_error"])
    assert receiver.received == []


async def test_paused_webhook_gets_nothing_until_resumed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    await post_requirement(client, world.company)
    hook = await subscribe(client, world.company, receiver.url, COMPANY_TYPES)
    await start_worker()
    await session.execute(update(WebhookSubscription).values(active=False))
    await session.commit()
    await publish_plot(client, session, world.frankfurt, external_id="p1")
    await asyncio.sleep(0.3)
    assert receiver.received == []
    assert await _deliveries(client, world.company, hook["id"]) == []  # not queued while paused
    ping = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.company))
    assert ping.status_code == 202
    resumed = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"active": True}, headers=bearer(world.company)
    )
    assert resumed.status_code == 200
    await wait_until(lambda: len(receiver.received) == 1)
    assert event(receiver.received[0].body)["type"] == "ping"
