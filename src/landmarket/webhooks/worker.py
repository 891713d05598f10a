"""Delivering the outbox: claim due rows, POST them signed, record the outcome.

Claims are short transactions (``FOR UPDATE SKIP LOCKED``), so any number of workers on any
number of machines share the outbox and never take the same row at once. A claim leases the
row until the attempt must be over; a worker that dies mid-delivery loses nothing, the row
comes due again when its lease runs out (at-least-once; receivers de-duplicate on
``Webhook-Id``). No transaction is open while a request is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Interval, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import landmarket
from landmarket.core.config import Settings
from landmarket.core.logs import url_origin
from landmarket.db.session import is_outage
from landmarket.webhooks import ssrf
from landmarket.webhooks.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from landmarket.webhooks.signing import HEADER, sign

log = logging.getLogger(__name__)

BATCH = 20
# Beyond the request timeout: time to record the outcome before another worker may retry.
LEASE_MARGIN_SECONDS = 5.0
USER_AGENT = f"landmarket-webhooks/{landmarket.__version__}"


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    lease: uuid.UUID
    attempts: int
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after ``attempts`` failures: exponential, capped,
    with "equal jitter" (half fixed, half random) so failed bursts don't retry in lockstep."""
    delay = min(
        settings.webhook_backoff_base_seconds * 2 ** (attempts - 1),
        settings.webhook_backoff_max_seconds,
    )
    jittered: float = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not crypto)
    return jittered


def body_of(claim: Claim) -> bytes:
    event = {
        "id": str(claim.event_id),
        "type": claim.event_type,
        "occurred_at": claim.occurred_at.isoformat(),
        "data": claim.payload,
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


class Worker:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        lease_margin: float = LEASE_MARGIN_SECONDS,
        batch: int = BATCH,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.timeout = settings.webhook_timeout_seconds
        self.lease_seconds = self.timeout + lease_margin
        self.batch = batch
        # No redirects (a 3xx is a failed attempt), no proxies from the environment (they
        # would defeat connecting to the address the SSRF check approved).
        self.client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.timeout
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set or the task is cancelled."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    busy = await self.run_once()
                except Exception as exc:
                    # A database restart must not end delivery: wait and claim again (the
                    # pool reconnects). Anything else is a bug and stops the worker loudly.
                    if not is_outage(exc):
                        raise
                    log.warning("webhook worker: database unavailable (%s); retrying", exc)
                    busy = 0
                if busy < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), self.settings.webhook_worker_poll_seconds
                        )
        finally:
            await self.aclose()

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and attempt them; returns how many."""
        claims = await self.claim()
        if not claims:
            return 0
        try:
            await asyncio.gather(*(self._attempt(c) for c in claims))
        except asyncio.CancelledError:
            # Stopping: hand unfinished rows back now instead of waiting out their lease.
            await asyncio.shield(self.release(claims))
            raise
        return len(claims)

    async def claim(self) -> list[Claim]:
        d, e, s = WebhookDelivery, WebhookEvent, WebhookSubscription
        due = (
            select(d.id)
            .join(s, s.id == d.subscription_id)
            .where(d.state == DeliveryState.pending, d.next_attempt_at <= func.now(), s.active)
            .order_by(d.next_attempt_at)
            .limit(self.batch)
            .with_for_update(of=d, skip_locked=True)
            .cte("due")
        )
        lease_until = func.now() + bindparam(
            "lease", timedelta(seconds=self.lease_seconds), Interval()
        )
        stmt = (
            update(d)
            .where(d.id == due.c.id, e.id == d.event_id, s.id == d.subscription_id)
            .values(
                attempts=d.attempts + 1,
                lease=func.gen_random_uuid(),
                last_attempt_at=func.now(),
                next_attempt_at=lease_until,
            )
            .returning(
                d.id, d.lease, d.attempts, e.id, e.type, e.occurred_at, e.payload, s.url, s.secret
            )
        )
        async with self.maker() as session, session.begin():
            rows = (await session.execute(stmt)).all()
        return [Claim(*row) for row in rows]

    async def release(self, claims: list[Claim]) -> None:
        d = WebhookDelivery
        async with self.maker() as session, session.begin():
            await session.execute(
                update(d)
                .where(
                    d.id.in_([c.delivery_id for c in claims]),
                    d.lease.in_([c.lease for c in claims]),
                )
                .values(lease=None, attempts=d.attempts - 1, next_attempt_at=func.now())
            )

    async def _attempt(self, claim: Claim) -> None:
        outcome = await self.send(claim)
        await self.record(claim, outcome)

    async def send(self, claim: Claim) -> Outcome:
        body = body_of(claim)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Webhook-Id": str(claim.event_id),
            "Webhook-Event": claim.event_type,
            "Webhook-Attempt": str(claim.attempts),
            HEADER: sign(claim.secret, body),
        }
        try:
            # One deadline for DNS, connect, send and the response head, so the lease holds.
            async with asyncio.timeout(self.timeout):
                target = await ssrf.resolve(claim.url, self.settings)
                status = await self._post(target, body, headers)
        except ssrf.UnsafeTarget as exc:
            return Outcome(False, None, f"refused target: {exc}")
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Outcome(True, status, None)
        if 300 <= status < 400:
            return Outcome(False, status, f"HTTP {status}: redirects are not followed")
        return Outcome(False, status, f"HTTP {status}")

    async def _post(self, target: ssrf.Target, body: bytes, headers: dict[str, str]) -> int:
        # Connect to the checked address; the name still goes in Host and TLS SNI, so
        # virtual hosting and certificate checks work as if we had resolved it again.
        ip = target.address
        host_ip = f"[{ip}]" if ip.version == 6 else str(ip)
        url = target.url._replace(netloc=f"{host_ip}:{target.port}").geturl()
        netloc = target.url.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        request = self.client.build_request(
            "POST", url, content=body, headers={**headers, "Host": netloc}, extensions=extensions
        )
        response = await self.client.send(request, stream=True)
        await response.aclose()  # the body is not needed; don't let a receiver stream at us
        return response.status_code

    async def record(self, claim: Claim, outcome: Outcome) -> None:
        d = WebhookDelivery
        values: dict[str, Any] = {
            "lease": None,
            "last_status": outcome.status,
            "last_error": outcome.error,
        }
        if outcome.ok:
            values |= {"state": DeliveryState.delivered, "delivered_at": func.now()}
        elif claim.attempts >= self.settings.webhook_max_attempts:
            values["state"] = DeliveryState.dead
        else:
            delay = timedelta(seconds=backoff(claim.attempts, self.settings))
            values["next_attempt_at"] = func.now() + bindparam("delay", delay, Interval())
        async with self.maker() as session, session.begin():
            # Only under our lease: if it ran out and another worker took over, its result wins.
            await session.execute(
                update(d).where(d.id == claim.delivery_id, d.lease == claim.lease).values(values)
            )
        if not outcome.ok:
            # The origin only: receivers put their own secrets in paths and query strings.
            log.info(
                "webhook %s to %s failed: %s", claim.event_id, url_origin(claim.url), outcome.error
            )


async def run_forever(settings: Settings, url: str, *, embedded: bool) -> None:
    """``landmarket worker``: deliver until SIGINT or SIGTERM, then stop after handing back
    what is in flight."""
    import signal

    from landmarket.db.connect import ensure_schema
    from landmarket.db.session import create_engine

    engine = create_engine(url, settings)
    try:
        # `serve` starts the worker with the API: if the database is restarting just then,
        # wait for it instead of leaving the API without delivery.
        while True:
            try:
                await ensure_schema(engine, migrate_now=embedded)
                break
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("webhook worker: database unavailable (%s); waiting", exc)
                await asyncio.sleep(settings.webhook_worker_poll_seconds)
        stop = asyncio.Event()
        task = asyncio.create_task(
            Worker(async_sessionmaker(engine, expire_on_commit=False), settings).run(stop)
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Cancel, not just stop: requests in flight are handed back at once.
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await engine.dispose()
