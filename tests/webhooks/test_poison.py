"""Issue 14 item 1: a URL httpx cannot (or would differently) parse is refused at create and
PATCH; a bad row already in the database fails its own attempts and stops nothing else."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.helpers import assert_problem, bearer, pointers
from tests.matching.world import World
from tests.webhooks.conftest import Receiver, WorkerFactory
from tests.webhooks.flow import COMPANY_TYPES, event, subscribe, wait_until

# Each was accepted before (201), or would be read differently by httpx than by the check.
BAD_URLS = [
    "https://93.184.216.34/hook\u0001x",  # the exact input: httpx.InvalidURL later
    "https://93.184.216.34/hook\x7f",
    "https://93.184.216.34/hook\u0000",
    "https://93.184.216.34/a b",
    "https://93.184.216.34/a\u200bb",  # zero-width space
    "https://93.184.216.34/a\u202eb",  # right-to-left override
    "https://93.184.216.34/\u3000",
    "https://93.184.216.34\\@127.0.0.1/",  # backslash: parsers disagree
    "https://@93.184.216.34/",  # empty userinfo
    "https://u:p@93.184.216.34/",
    "https://93.184.216.34:0/",
    "https://93.184.216.34:/x",
    "https://93.184.216.34:08443/",
    "https://93.184.216.34:99999/",
    "https://93.184.216.34/#fragment",
    "https://2130706433/",  # 127.0.0.1 to getaddrinfo
    "https://0x7f.1/",
    "https://127.1/",
    "https://%31%32%37.0.0.1/",
    "https://[fe80::1%25eth0]/",
    "https://[::1/",
    "https://exa mple.com/",
    "https://ex..ample.com/",
    "gopher://93.184.216.34/",
    "https:93.184.216.34/x",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_url_httpx_would_refuse_or_read_differently_is_422_at_create_and_patch(
    client: httpx.AsyncClient, world: World, receiver_url: str, url: str
) -> None:
    body = {"url": url, "event_types": ["match.created"]}
    created = await client.post("/v1/webhooks", json=body, headers=bearer(world.company))
    assert pointers(assert_problem(created, 422)) == ["/body/url"], created.text
    listed = await client.get("/v1/webhooks", headers=bearer(world.company))
    assert listed.json()["items"] == []
    hook = await subscribe(client, world.company, receiver_url, ["match.created"])
    patched = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"url": url}, headers=bearer(world.company)
    )
    assert pointers(assert_problem(patched, 422)) == ["/body/url"], patched.text
    got = await client.get(f"/v1/webhooks/{hook['id']}", headers=bearer(world.company))
    assert got.json()["url"] == receiver_url


async def test_good_urls_still_accepted(client: httpx.AsyncClient, world: World) -> None:
    for url in (
        "http://127.0.0.1:9/hook?token=a%20b&x=1",
        "http://[::1]:9/hook",
        "http://localhost:9/h%C3%A4",
        "https://93.184.216.34/hook/\u00e4",  # sent percent-encoded, as httpx does
        "HTTPS://93.184.216.34:443/hook",
    ):
        await subscribe(client, world.company, url, ["match.created"])


async def _bad_row(session: AsyncSession, org_id: uuid.UUID, url: str) -> uuid.UUID:
    """A subscription written before the URL rules existed (or by hand)."""
    sid = await session.scalar(
        insert(WebhookSubscription)
        .values(
            organization_id=org_id,
            url=url,
            event_types=COMPANY_TYPES,
            secret="whsec_x",
        )
        .returning(WebhookSubscription.id)
    )
    await session.commit()
    assert sid is not None
    return sid


async def test_bad_row_in_the_database_fails_alone_and_the_worker_keeps_delivering(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    receiver: Receiver,
    start_worker: WorkerFactory,
) -> None:
    bad_ids = [
        await _bad_row(session, world.company_id, url)
        for url in (
            "https://93.184.216.34/hook\u0001x",
            "https://[::1/",
            "http://127.0.0.1:9/a\\@b\u202e",
            "https://exa mple.com/",
        )
    ]
    for sid in bad_ids:  # a ping each, queued ahead of the good one
        ping = await client.post(f"/v1/webhooks/{sid}/test", headers=bearer(world.company))
        assert ping.status_code == 202, ping.text
    good = await subscribe(client, world.other_company, receiver.url, COMPANY_TYPES)
    _, task = await start_worker(batch=2)  # the bad rows fill the first claims
    first = await client.post(
        f"/v1/webhooks/{good['id']}/test", headers=bearer(world.other_company)
    )
    assert first.status_code == 202
    await wait_until(lambda: len(receiver.received) == 1, within=5)
    # Every bad delivery was attempted and failed, as a delivery of its own.
    d = WebhookDelivery
    for _ in range(100):
        rows = (
            await session.execute(
                select(d.attempts, d.last_error).where(d.subscription_id.in_(bad_ids))
            )
        ).all()
        await session.commit()
        if all(r.attempts >= 1 and r.last_error for r in rows):
            break
        await asyncio.sleep(0.05)
    assert len(rows) == len(bad_ids)
    assert all(r.attempts >= 1 and r.last_error for r in rows), rows
    assert any("U+0001" in r.last_error for r in rows), rows
    assert not task.done(), task.exception() if task.done() else None
    # ... and the worker goes on: a later event still arrives.
    second = await client.post(
        f"/v1/webhooks/{good['id']}/test", headers=bearer(world.other_company)
    )
    assert second.status_code == 202
    await wait_until(lambda: len(receiver.received) == 2, within=5)
    assert event(receiver.received[1].body)["type"] == "ping"
    assert not task.done()
