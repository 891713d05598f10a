"""Issue 14 item 2: one tenant's dead endpoints delay nobody else's delivery, and endpoints
that keep failing are disabled with an event to their owner."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.config import Settings
from landmarket.webhooks.models import WebhookSubscription
from tests.helpers import bearer
from tests.matching.world import World
from tests.webhooks.conftest import ReceiverFactory, WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, event, subscribe, wait_until

DEAD = 10
BACKLOG = 300  # events per dead endpoint: 3,000 pending deliveries


async def _backlog(session: AsyncSession, world: World, per_endpoint: int) -> int:
    """``per_endpoint`` events of the company, each queued for every one of its webhooks."""
    await session.execute(
        text(
            "INSERT INTO webhook_events (organization_id, type, payload) "
            "SELECT :org, 'match.created', jsonb_build_object('n', n) "
            "FROM generate_series(1, :n) AS n"
        ),
        {"org": world.company_id, "n": per_endpoint},
    )
    result = await session.execute(
        text(
            "INSERT INTO webhook_deliveries (subscription_id, event_id) "
            "SELECT s.id, e.id FROM webhook_subscriptions s JOIN webhook_events e "
            "ON e.organization_id = s.organization_id WHERE s.organization_id = :org"
        ),
        {"org": world.company_id},
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0))


async def test_ten_dead_endpoints_with_thousands_pending_delay_a_live_one_by_seconds_at_most(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receivers: ReceiverFactory,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    # Dead in the three ways endpoints die: hanging to the timeout, erroring, refusing.
    hanging, failing = await receivers("hang"), await receivers("fail")
    urls = [hanging.url] * 4 + [failing.url] * 3 + ["http://127.0.0.1:9/hook"] * 3
    for url in urls:
        await subscribe(client, world.company, url, COMPANY_TYPES)
    assert await _backlog(session, world, BACKLOG) == DEAD * BACKLOG
    live = await receivers("ok")
    hook = await subscribe(client, world.other_company, live.url, COMPANY_TYPES)
    # The shipped concurrency defaults; a timeout long enough that hanging requests matter.
    settings = hook_settings.model_copy(
        update={"webhook_timeout_seconds": 3.0, "webhook_max_attempts": 100}
    )
    await start_worker(settings)
    await asyncio.sleep(1.0)  # the backlog is being worked on: every dead endpoint is busy
    assert hanging.received
    for n in range(1, 4):
        sent = time.monotonic()
        ping = await client.post(
            f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.other_company)
        )
        assert ping.status_code == 202
        await wait_until(lambda: len(live.received) == n, within=3.0)  # noqa: B023
        assert time.monotonic() - sent < 3.0
        assert event(live.received[-1].body)["type"] == "ping"
        await asyncio.sleep(0.5)


async def test_a_tenant_with_many_hanging_endpoints_cannot_take_every_slot(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receivers: ReceiverFactory,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    """30 new (so still healthy) endpoints of one company that all hang: 4 requests each
    would fill every slot of the worker until the timeout, but the company gets at most
    `webhook_organization_concurrency` of them."""
    hanging = await receivers("hang")
    for _ in range(30):
        await subscribe(client, world.company, hanging.url, COMPANY_TYPES)
    await _backlog(session, world, 20)
    live = await receivers("ok")
    hook = await subscribe(client, world.other_company, live.url, COMPANY_TYPES)
    settings = hook_settings.model_copy(
        update={"webhook_timeout_seconds": 5.0, "webhook_max_attempts": 100}
    )
    await start_worker(settings)
    await wait_until(lambda: len(hanging.received) >= 20, within=3.0)
    await asyncio.sleep(0.3)
    assert len(hanging.received) == settings.webhook_organization_concurrency
    sent = time.monotonic()
    ping = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.other_company))
    assert ping.status_code == 202
    await wait_until(lambda: len(live.received) == 1, within=2.0)
    assert time.monotonic() - sent < 2.0


async def _get(client: httpx.AsyncClient, key: str, wid: str) -> dict[str, object]:
    response = await client.get(f"/v1/webhooks/{wid}", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_endpoint_failing_long_enough_is_disabled_and_its_owner_told(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receivers: ReceiverFactory,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    broken, other = await receivers("fail"), await receivers("ok")
    hook = await subscribe(client, world.company, broken.url, COMPANY_TYPES)
    await subscribe(client, world.company, other.url, ["match.created"])
    settings = hook_settings.model_copy(
        update={
            "webhook_max_attempts": 100,
            "webhook_disable_after_days": 1.0,
            "webhook_disable_after_failures": 3,
        }
    )
    await start_worker(settings)
    ping = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.company))
    assert ping.status_code == 202
    # Many failures, but failing for less than a day: still active.
    await wait_until(lambda: len(broken.received) >= 5, within=5)
    state = await _get(client, world.company, hook["id"])
    assert state["active"] is True and state["disabled_at"] is None
    assert state["failing_since"] is not None
    assert isinstance(state["consecutive_failures"], int) and state["consecutive_failures"] >= 4
    # A day later (moved back in the database): the next failure disables it.
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == hook["id"])
        .values(failing_since=text("now() - interval '25 hours'"))
    )
    await session.commit()
    for _ in range(100):
        state = await _get(client, world.company, hook["id"])
        if not state["active"]:
            break
        await asyncio.sleep(0.05)
    assert state["active"] is False, state
    assert state["disabled_at"] is not None and "failed" in str(state["disabled_reason"])
    attempts = len(broken.received)
    await asyncio.sleep(0.5)
    assert len(broken.received) == attempts  # no more requests to it
    # The owner is told: on its other webhook (whatever its event types) and in its feed.
    await wait_until(
        lambda: any(event(r.body)["type"] == "webhook.disabled" for r in other.received)
    )
    [notice] = [
        event(r.body) for r in other.received if event(r.body)["type"] == "webhook.disabled"
    ]
    assert notice["data"]["webhook_id"] == hook["id"]
    assert notice["data"]["last_error"] == "HTTP 500"
    feed = await client.get("/v1/events", headers=bearer(world.company))
    assert [e["type"] for e in feed.json()["items"]] == ["webhook.disabled"]
    assert (await client.get("/v1/events", headers=bearer(world.other_company))).json()[
        "items"
    ] == []
    # Enabled again by its owner, with the endpoint fixed: the queued ping arrives.
    broken.mode = "ok"
    enabled = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"active": True}, headers=bearer(world.company)
    )
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    assert (body["disabled_at"], body["failing_since"], body["consecutive_failures"]) == (
        None,
        None,
        0,
    )
    await wait_until(lambda: len(broken.received) == attempts + 1)
    for _ in range(100):  # recorded just after the receiver answered
        log = await client.get(
            f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(world.company)
        )
        if [d["state"] for d in log.json()["items"]] == ["delivered"]:
            break
        await asyncio.sleep(0.05)
    assert [d["state"] for d in log.json()["items"]] == ["delivered"]


async def test_pointing_a_failing_webhook_elsewhere_starts_with_no_failures(
    client: httpx.AsyncClient,
    world: World,
    receivers: ReceiverFactory,
    start_worker: WorkerFactory,
    hook_settings: Settings,
) -> None:
    broken, fixed = await receivers("fail"), await receivers("ok")
    hook = await subscribe(client, world.company, broken.url, COMPANY_TYPES)
    # A long endpoint back-off: without the reset the new URL would wait it out.
    settings = hook_settings.model_copy(
        update={
            "webhook_max_attempts": 100,
            "webhook_backoff_base_seconds": 30.0,
            "webhook_backoff_max_seconds": 60.0,
        }
    )
    await start_worker(settings)
    ping = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.company))
    assert ping.status_code == 202
    await wait_until(lambda: len(broken.received) == 1)
    for _ in range(100):
        state = await _get(client, world.company, hook["id"])
        if state["consecutive_failures"] == 1:
            break
        await asyncio.sleep(0.02)
    assert state["consecutive_failures"] == 1 and state["failing_since"] is not None
    moved = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"url": fixed.url}, headers=bearer(world.company)
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["consecutive_failures"], moved.json()["failing_since"]) == (0, None)
    # The delivery itself still waits for its own retry (15-30 s): queue another one.
    again = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(world.company))
    assert again.status_code == 202
    await wait_until(lambda: len(fixed.received) == 1, within=3)
