"""What lets a long poll of the event feed wait without a database connection.

``FeedListener``: one per API process. It keeps one dedicated connection (outside both pools)
that LISTENs on ``landmarket_feed``; a trigger on ``webhook_events`` notifies it with the
recipient organisation's id when events are committed (migration 0011). A waiting poll
registers an ``asyncio.Event`` for its organisation and sleeps on it, so 1,000 waiting polls
cost no connection and no query until something arrives. The connection is re-opened with
back-off after it is lost (a restart, an outage); while it is away, and as a safety net
anyway, a poll looks on its own every ``event_feed_poll_seconds``. After re-opening, every
waiting poll is woken once: notifications sent meanwhile are lost.

``PollGate``: at most ``event_feed_max_polls_per_key`` polls of one API key at once in this
process (over all processes sharing ``LANDMARKET_REDIS_URL`` when set); one more is a 429
with ``Retry-After``, before any database work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from landmarket.core.errors import TooManyRequests
from landmarket.db.readpool import Connect

log = logging.getLogger(__name__)

# Also in migration 0011, which sends the notifications.
CHANNEL = "landmarket_feed"
FEED_APPLICATION_NAME = "landmarket-feed"
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
# A connection that died silently (no FIN from a crashed host) is only noticed when used.
KEEPALIVE_S = 15.0
# What a client over the per-key cap is told to wait before it tries again.
GATE_RETRY_AFTER_S = 1
# Shared poll counters (Redis): the key prefix, and how long a counter outlives the last poll
# that began (longer than any poll: event_feed_max_wait_seconds is at most 30).
GATE_PREFIX = "landmarket:feed-polls:"
SHARED_TTL_S = 120


class FeedListener:
    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = False
        self._had_listened = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-feed-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def waiting(self, org_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event that is set whenever ``org_id`` may have new events (clear it before each
        read: a notification between the read and the wait is then not missed)."""
        woken = asyncio.Event()
        self._waiters.setdefault(org_id, set()).add(woken)
        try:
            yield woken
        finally:
            left = self._waiters.get(org_id)
            if left is not None:
                left.discard(woken)
                if not left:
                    del self._waiters[org_id]

    @property
    def waiting_polls(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _notified(
        self, _conn: object, _pid: int, _channel: str, payload: object
    ) -> None:  # asyncpg's listener signature
        try:
            org_id = uuid.UUID(str(payload))
        except ValueError:
            log.warning("ignoring a malformed %s notification", CHANNEL)
            return
        for woken in self._waiters.get(org_id, ()):
            woken.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for woken in waiters:
                woken.set()

    async def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            self._had_listened = False
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away or the connection broke
                log.warning("event feed listener: %r; polls fall back to polling", exc)
            if self._had_listened:
                delay = RECONNECT_MIN_S  # it had been working: a fresh failure
            # Jitter: the API processes of a deployment do not all reconnect in step.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _listen(self) -> None:
        conn = await self._connect()
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.listening = self._had_listened = True
            log.info("event feed listener: listening on %s", CHANNEL)
            self._wake_all()  # whatever was notified while nobody listened
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_S)
                if not lost.is_set():
                    await conn.execute("SELECT 1", timeout=5)
            raise ConnectionError("the listening connection was closed")
        finally:
            self.listening = False
            conn.terminate()


class PollGate:
    """Counts the polls of each API key in progress: in this process, or, with a Redis URL,
    over every process that shares that Redis (a counter per key there).

    Keyed by the digest of the key as presented, not by the key's row: a poll over the cap is
    refused before the key is looked up, so a flood of polls with one key costs the database
    nothing beyond the allowed ones (an unknown key is refused with 401 as soon as it has been
    looked up, so it holds its slots only that long). A shared counter expires
    ``SHARED_TTL_S`` after its last poll began, so the slots of a process killed mid-poll come
    free again; with Redis away polls are let through (as the rate limit does).
    """

    def __init__(self, per_key: int, redis_url: str | None = None) -> None:
        self.per_key = per_key
        self._open: Counter[bytes] = Counter()
        self._redis: Redis | None = Redis.from_url(redis_url) if redis_url else None

    def _refuse(self) -> TooManyRequests:
        return TooManyRequests(
            f"This API key already has {self.per_key} event feed requests open "
            "(LANDMARKET_EVENT_FEED_MAX_POLLS_PER_KEY); continue with one at a time",
            headers={"Retry-After": str(GATE_RETRY_AFTER_S)},
        )

    @contextlib.asynccontextmanager
    async def enter(self, key_digest: bytes) -> AsyncIterator[None]:
        if self._redis is not None:
            async with self._shared(self._redis, key_digest):
                yield
            return
        if self._open[key_digest] >= self.per_key:
            raise self._refuse()
        self._open[key_digest] += 1
        try:
            yield
        finally:
            self._open[key_digest] -= 1
            if self._open[key_digest] <= 0:
                del self._open[key_digest]

    @contextlib.asynccontextmanager
    async def _shared(self, redis: Redis, key_digest: bytes) -> AsyncIterator[None]:
        name = f"{GATE_PREFIX}{key_digest.hex()}"
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, SHARED_TTL_S)
                counted, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("event feed poll cap: Redis unavailable, not counting: %r", exc)
            yield
            return
        try:
            if int(counted) > self.per_key:
                raise self._refuse()
            yield
        finally:
            with contextlib.suppress(RedisError, OSError):
                await redis.decr(name)

    def open_polls(self) -> int:
        return sum(self._open.values())

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


async def woken_within(woken: asyncio.Event, seconds: float) -> bool:
    """Whether ``woken`` was set within ``seconds``."""
    try:
        await asyncio.wait_for(woken.wait(), seconds)
    except TimeoutError:
        return False
    return True
