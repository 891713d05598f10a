"""Delivering the outbox: claim due rows fairly, POST them signed, record the outcome.

Claims are short transactions (``FOR UPDATE SKIP LOCKED``), so any number of workers on any
number of machines share the outbox and never take the same row at once. A claim leases the
row until the attempt must be over; a worker that dies mid-delivery loses nothing, the row
comes due again when its lease runs out (at-least-once; receivers de-duplicate on
``Webhook-Id``). No transaction is open while a request is in flight.

A worker keeps up to ``webhook_worker_concurrency`` requests in flight and claims again as
soon as one finishes, so a slow endpoint holds one slot, not a whole batch; claims are fair
across subscriptions (``queue``). Anything that goes wrong in one attempt, whatever the
exception, is a failed attempt of that delivery only: one tenant's odd row never stops
delivery for the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import landmarket
from landmarket.core.config import Settings
from landmarket.core.logs import url_origin
from landmarket.db.session import is_outage
from landmarket.webhooks import queue, retention, ssrf
from landmarket.webhooks.models import DeliveryState
from landmarket.webhooks.queue import Claim
from landmarket.webhooks.signing import HEADER, sign

__all__ = ["Claim", "Outcome", "Worker", "backoff", "body_of", "run_forever"]

log = logging.getLogger(__name__)

# Beyond the request timeout: time to record the outcome before another worker may retry.
LEASE_MARGIN_SECONDS = 5.0
USER_AGENT = f"landmarket-webhooks/{landmarket.__version__}"
# Longest pause after the claim itself failed (database down, or a bug): then try again.
MAX_CLAIM_PAUSE_SECONDS = 30.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after ``attempts`` failures: exponential, capped,
    with "equal jitter" (half fixed, half random) so failed bursts don't retry in lockstep."""
    exponent = min(max(attempts - 1, 0), 60)  # 2**60 s is beyond any cap; no float overflow
    delay = min(
        settings.webhook_backoff_base_seconds * 2**exponent,
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


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _origin(url: str) -> str:
    # The origin only (receivers put secrets in paths and query strings), and escaped: a
    # stored URL from before the URL rules may hold control characters (log injection).
    return _printable(url_origin(url))


class Worker:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        lease_margin: float = LEASE_MARGIN_SECONDS,
        batch: int | None = None,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.timeout = settings.webhook_timeout_seconds
        self.lease_seconds = self.timeout + lease_margin
        # Requests in flight at most; half of them at most to endpoints that are failing.
        self.batch = batch or settings.webhook_worker_concurrency
        self.probe_slots = max(1, self.batch // 2)
        self.in_flight: dict[asyncio.Task[None], Claim] = {}
        self._last_purge = float("-inf")
        self._purging: asyncio.Task[Any] | None = None
        # DNS lookups block a thread each: one per slot, so a tenant whose DNS hangs holds
        # only its own slots' threads, never the lookups of everyone else.
        self.dns = ThreadPoolExecutor(max_workers=self.batch, thread_name_prefix="webhook-dns")
        # No redirects (a 3xx is a failed attempt), no proxies from the environment (they
        # would defeat connecting to the address the SSRF check approved).
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=self.batch),
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        # Lookups still running end on their own (the resolver's timeout); nobody waits.
        self.dns.shutdown(wait=False, cancel_futures=True)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set or the task is cancelled."""
        stop = stop or asyncio.Event()
        stopping = asyncio.ensure_future(stop.wait())
        failures = 0
        try:
            while not stop.is_set():
                self._maybe_purge(stop)
                try:
                    await self.fill()
                    failures = 0
                    pause = self.settings.webhook_worker_poll_seconds
                except Exception as exc:
                    # A database restart must not end delivery, nor must a bug in one claim:
                    # wait and claim again (the pool reconnects).
                    failures += 1
                    pause = min(
                        self.settings.webhook_worker_poll_seconds * 2 ** min(failures, 10),
                        MAX_CLAIM_PAUSE_SECONDS,
                    )
                    if is_outage(exc):
                        log.warning("webhook worker: database unavailable (%s); retrying", exc)
                    else:
                        log.exception("webhook worker: claiming failed; retrying in %.1f s", pause)
                # Until a request finishes (a slot is free), the stop, or the poll interval.
                await asyncio.wait(
                    {stopping, *self.in_flight}, timeout=pause, return_when="FIRST_COMPLETED"
                )
        finally:
            stopping.cancel()
            await self._stop_all()

    async def _stop_all(self) -> None:
        # Stopping: unfinished requests hand their rows back now instead of waiting out
        # their lease (each attempt task does that when cancelled).
        tasks = [*self.in_flight, *([self._purging] if self._purging else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.aclose()

    def _maybe_purge(self, stop: asyncio.Event) -> None:
        if self._purging is not None and not self._purging.done():
            return
        now = time.monotonic()
        if now - self._last_purge < self.settings.retention_purge_interval_seconds:
            return
        self._last_purge = now
        self._purging = asyncio.create_task(self._purge(stop))

    async def _purge(self, stop: asyncio.Event) -> None:
        try:
            await retention.purge(self.maker, self.settings, keep_going=lambda: not stop.is_set())
        except Exception as exc:  # next interval tries again; delivery goes on meanwhile
            if is_outage(exc):
                log.warning("retention purge: database unavailable (%s)", exc)
            else:
                log.exception("retention purge failed")

    async def fill(self) -> int:
        """Claim as many due deliveries as there are free slots and start them."""
        self.in_flight = {t: c for t, c in self.in_flight.items() if not t.done()}
        claims = await self.claim(self.batch - len(self.in_flight))
        for c in claims:
            self.in_flight[asyncio.create_task(self._attempt(c))] = c
        return len(claims)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and attempt them; returns how many."""
        claims = await self.claim()
        await asyncio.gather(*(self._attempt(c) for c in claims))
        return len(claims)

    async def claim(self, limit: int | None = None) -> list[Claim]:
        """Up to ``limit`` (default: the batch) due deliveries: healthy endpoints first,
        then probes of failing ones, at most half of the slots."""
        free = self.batch if limit is None else limit
        if free <= 0:
            return []
        caps = {
            "per_subscription": self.settings.webhook_subscription_concurrency,
            "per_organization": self.settings.webhook_organization_concurrency,
        }
        async with self.maker() as session, session.begin():
            claims = await queue.claim(
                session,
                limit=free,
                **caps,
                failing=False,
                lease_seconds=self.lease_seconds,
            )
        probing = sum(1 for c in self.in_flight.values() if c.probe)
        room = min(free - len(claims), self.probe_slots - probing)
        if room > 0:
            async with self.maker() as session, session.begin():
                claims += await queue.claim(
                    session,
                    limit=room,
                    **caps,
                    failing=True,
                    lease_seconds=self.lease_seconds,
                )
        return claims

    async def release(self, claims: list[Claim]) -> None:
        async with self.maker() as session, session.begin():
            await queue.release(session, claims)

    async def _attempt(self, claim: Claim) -> None:
        try:
            outcome = await self.send(claim)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release([claim]))
            raise
        try:
            await self.record(claim, outcome)
        except Exception as exc:
            # The row stays leased and comes due again when the lease runs out.
            log.warning("webhook %s: recording the outcome failed (%s)", claim.event_id, exc)

    async def send(self, claim: Claim) -> Outcome:
        """One attempt; never raises (but for cancellation): whatever goes wrong is the
        failed outcome of this delivery."""
        try:
            return await self._send(claim)
        except Exception as exc:
            log.exception("webhook %s to %s: attempt failed", claim.event_id, _origin(claim.url))
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])

    async def _send(self, claim: Claim) -> Outcome:
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
                target = await ssrf.resolve(claim.url, self.settings, executor=self.dns)
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
        parsed = target.url
        url = parsed.url.copy_with(host=str(target.address), port=target.port)
        extensions = {"sni_hostname": target.host} if parsed.scheme == "https" else {}
        request = self.client.build_request(
            "POST",
            url,
            content=body,
            headers={**headers, "Host": parsed.host_header},
            extensions=extensions,
        )
        response = await self.client.send(request, stream=True)
        await response.aclose()  # the body is not needed; don't let a receiver stream at us
        return response.status_code

    async def record(self, claim: Claim, outcome: Outcome) -> None:
        values: dict[str, Any] = {
            "lease": None,
            "last_status": outcome.status,
            # Escaped: an error text quoting odd input (a NUL) must not make the record fail,
            # or the attempt would be retried at every lease expiry without ever counting.
            "last_error": None if outcome.error is None else _printable(outcome.error)[:1000],
        }
        retry_in: float | None = None
        if outcome.ok:
            values |= {"state": DeliveryState.delivered, "delivered_at": func.now()}
        elif claim.attempts >= self.settings.webhook_max_attempts:
            values["state"] = DeliveryState.dead
        else:
            retry_in = backoff(claim.attempts, self.settings)
        async with self.maker() as session, session.begin():
            if not await queue.finish(session, claim, values, retry_in=retry_in):
                return
            if outcome.ok:
                await queue.endpoint_succeeded(session, claim.subscription_id)
            else:
                await self._endpoint_failed(session, claim, outcome)
        if not outcome.ok:
            log.info(
                "webhook %s to %s failed: %s", claim.event_id, _origin(claim.url), outcome.error
            )

    async def _endpoint_failed(self, session: AsyncSession, claim: Claim, outcome: Outcome) -> None:
        settings = self.settings
        failing = await queue.endpoint_failed(
            session, claim.subscription_id, disable_after_days=settings.webhook_disable_after_days
        )
        if failing is None:  # paused or disabled meanwhile
            return
        limit = settings.webhook_disable_after_failures
        if limit and failing.failures >= limit and failing.long_enough:
            reason = (
                f"every attempt failed for at least {settings.webhook_disable_after_days:g} "
                f"days ({failing.failures} in a row)"
            )
            await queue.disable_endpoint(session, claim.subscription_id, reason, outcome.error)
            log.warning(
                "webhook %s to %s disabled: %s", claim.subscription_id, _origin(claim.url), reason
            )
        else:
            await queue.pause_endpoint(
                session, claim.subscription_id, backoff(failing.failures, settings)
            )


# Set by `landmarket serve` for the worker it supervises: the worker ends with it.
PARENT_ENV = "LANDMARKET_WORKER_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def die_with_parent() -> None:
    """If `serve` is killed without stopping us (SIGKILL, OOM), Linux sends us SIGTERM
    instead of leaving us orphaned. Done here, after exec, rather than in a ``preexec_fn``:
    that runs in the forked child of a multi-threaded `serve` (the supervisor restarts the
    worker from a thread), where anything but exec may deadlock."""
    import ctypes
    import ctypes.util
    import signal

    parent = os.environ.pop(PARENT_ENV, None)
    if not parent or not parent.isdigit():
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the worker then only stops when `serve` stops it
    if os.getppid() != int(parent):  # it died before prctl: no signal would ever come
        raise SystemExit(0)


async def run_forever(settings: Settings, url: str, *, embedded: bool) -> None:
    """``landmarket worker``: deliver until SIGINT or SIGTERM, then stop after handing back
    what is in flight."""
    import signal

    die_with_parent()
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
