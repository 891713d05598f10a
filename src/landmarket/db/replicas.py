"""Read replicas (``LANDMARKET_READ_DATABASE_URLS``): which reads go there, and which replica
is fit to serve them.

Routed to a replica: ``GET``/``HEAD`` requests under ``REPLICA_PREFIXES`` (plots and the public
lists, the OGC API, reports and the scope of exports; export streams use the primary engine),
unless the caller wrote recently. A "write" is any other method sent with a bearer token; the
token's digest is remembered for ``read_your_writes_seconds`` (also in Redis when
``LANDMARKET_REDIS_URL`` is set, so the node that serves the read need not be the one that
took the write), and its reads go to the primary meanwhile: a plot written and read back at
once is seen. Everything else stays on the primary.

A routed request's session reads from the replica; a statement that writes (``touch_key``'s
``last_used_at``) or locks (``FOR UPDATE``) still goes to the primary (``RoutingSession``).

Fitness: every ``replica_check_seconds`` the primary's WAL position is sampled and each
replica's replay position read. A replica's lag is how long ago the primary first passed the
position the replica has replayed (0 when it has replayed everything); over
``replica_max_lag_seconds``, or not answering, it is skipped until a later check finds it fit.
A routed request that finds its replica gone (the connection fails before the first
statement) is served by the primary instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Delete, Insert, Update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from landmarket.core.config import Settings
from landmarket.core.ratelimit import bearer_token
from landmarket.db.readpool import Connect, PoolTimeout, ReadPool
from landmarket.db.reads import connector, open_pool
from landmarket.db.session import as_unavailable, create_engine, is_unavailable_state, redacted

log = logging.getLogger(__name__)

REPLICA_PREFIXES = (
    "/ogc",
    "/v1/reports/",
    "/v1/exports/",
    "/v1/municipalities",
    "/v1/regions",
    "/v1/plots",
)
SAFE_METHODS = frozenset({"GET", "HEAD"})
STATE_KEY = "landmarket.replica"
WRITES_PREFIX = "landmarket:wrote:"
SAMPLES_KEPT = 600
CHECK_APPLICATION_NAME = "landmarket-replica-check"
# SQLSTATE serialization_failure: a standby cancels a query that conflicts with replay.
RECOVERY_CONFLICT = "40001"


@dataclass(eq=False)
class Replica:
    url: str
    engine: AsyncEngine
    maker: async_sessionmaker[AsyncSession]
    pool: ReadPool
    connect: Connect
    fit: bool = False
    lag_s: float | None = None
    checks: int = field(default=0)


class RoutingSession(Session):
    """Reads on the replica bound as ``info["replica"]``; writes and locking reads on the
    primary (the session's own bind)."""

    def get_bind(
        self,
        mapper: Any = None,
        *,
        clause: Any = None,
        bind: Any = None,
        **kw: Any,
    ) -> Engine | Connection:
        replica: Engine | None = self.info.get("replica")
        writes = self._flushing or isinstance(clause, Insert | Update | Delete)
        locks = isinstance(clause, Select) and clause._for_update_arg is not None
        if replica is None or writes or locks:
            return super().get_bind(mapper, clause=clause, bind=bind, **kw)
        return replica


class RecentWriters:
    """Digests of bearer tokens that wrote within ``ttl_s``: here, or in a shared Redis."""

    def __init__(self, ttl_s: float, redis_url: str | None) -> None:
        self.ttl_s = ttl_s
        self._local: dict[bytes, float] = {}
        self._redis: Redis | None = Redis.from_url(redis_url) if redis_url else None

    async def mark(self, digest: bytes) -> None:
        self._local[digest] = time.monotonic() + self.ttl_s
        if len(self._local) > 50_000:
            now = time.monotonic()
            self._local = {d: t for d, t in self._local.items() if t > now}
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.set(
                    WRITES_PREFIX + digest.hex(), 1, px=max(1, int(self.ttl_s * 1000))
                )

    async def wrote_recently(self, digest: bytes) -> bool:
        if self._local.get(digest, 0.0) > time.monotonic():
            return True
        if self._redis is None:
            return False
        try:
            return bool(await self._redis.exists(WRITES_PREFIX + digest.hex()))
        except (RedisError, OSError):
            return True  # unknown: the primary is always right

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _lsn(value: object) -> int:
    return int(value) if value is not None else 0  # type: ignore[call-overload]


class Replicas:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.replicas: list[Replica] = []
        self._primary: Connect | None = None
        self.max_lag_s = settings.replica_max_lag_seconds
        self.interval_s = settings.replica_check_seconds
        self.writers = RecentWriters(settings.read_your_writes_seconds, settings.redis_url_value())
        self._samples: deque[tuple[float, int]] = deque(maxlen=SAMPLES_KEPT)
        self._next: Iterator[int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._conns: dict[int, asyncpg.Connection] = {}

    def open(self, primary_url: str) -> None:
        """Engines and pools for every configured replica (connections opened on demand), and
        the check against ``primary_url``; call ``start`` in the event loop then."""
        settings = self.settings
        if not settings.read_database_urls:
            return
        self._primary = connector(primary_url, settings, CHECK_APPLICATION_NAME)
        primary_engine = create_engine(primary_url, settings)
        self._primary_engine = primary_engine
        for url in settings.read_database_urls:
            engine = create_engine(url, settings)
            maker = async_sessionmaker(
                primary_engine,
                sync_session_class=RoutingSession,
                info={"replica": engine.sync_engine},
                expire_on_commit=False,
            )
            self.replicas.append(
                Replica(
                    url=redacted(url),
                    engine=engine,
                    maker=maker,
                    pool=open_pool(url, settings),
                    connect=connector(url, settings, CHECK_APPLICATION_NAME),
                )
            )
        if self.replicas:
            self._next = itertools.cycle(range(len(self.replicas)))

    def pick(self) -> Replica | None:
        """The next fit replica, round robin; None when none is fit."""
        if self._next is None:
            return None
        for _ in range(len(self.replicas)):
            replica = self.replicas[next(self._next)]
            if replica.fit:
                return replica
        return None

    async def session_for(self, scope: Mapping[str, Any]) -> AsyncSession | None:
        """A session reading from the replica chosen for this request, its transaction begun
        on a live replica connection; None (use the primary) when none was chosen or the
        chosen one cannot be reached."""
        replica = chosen(scope)
        if replica is None:
            return None
        session = replica.maker()
        try:
            await session.connection()  # RoutingSession: the replica's
        except Exception as exc:
            await session.close()
            if not _replica_gone(getattr(exc, "orig", None) or exc) and as_unavailable(exc) is None:
                raise
            self.lost(replica, exc)
            return None
        return session

    def pool_for(self, scope: Mapping[str, Any], primary: ReadPool) -> ReadPool:
        replica = chosen(scope)
        return primary if replica is None else FallbackPool(replica, primary, self)

    def lost(self, replica: Replica, exc: BaseException) -> None:
        """A request found the replica unreachable: skip it until a check finds it fit."""
        if replica.fit:
            log.warning(
                "read replica %s unreachable (%r); reads go to the primary", replica.url, exc
            )
        replica.fit = False

    async def _conn(self, slot: int, connect: Connect) -> asyncpg.Connection:
        conn = self._conns.get(slot)
        if conn is None or conn.is_closed():
            conn = await asyncio.wait_for(connect(), 5)
            self._conns[slot] = conn
        return conn

    async def _drop(self, slot: int) -> None:
        conn = self._conns.pop(slot, None)
        if conn is not None:
            conn.terminate()

    async def check(self) -> None:
        """Sample the primary's position, then judge each replica by its replay position."""
        if self._primary is None:
            return
        try:
            primary = await self._conn(-1, self._primary)
            position = _lsn(
                await primary.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn", timeout=5)
            )
            self._samples.append((time.monotonic(), position))
        except Exception as exc:  # the primary is away: keep the last judgement
            await self._drop(-1)
            log.warning("replica check: primary unreachable: %r", exc)
            return
        for slot, replica in enumerate(self.replicas):
            try:
                conn = await self._conn(slot, replica.connect)
                row = await conn.fetchrow(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() - '0/0'::pg_lsn",
                    timeout=5,
                )
                assert row is not None
                recovering, replayed = row
            except Exception as exc:
                await self._drop(slot)
                self._judge(replica, None, f"unreachable ({exc!r})")
                continue
            if not recovering:
                self._judge(replica, None, "not a standby (promoted?)")
                continue
            self._judge(replica, self._lag(_lsn(replayed)), "")

    def _lag(self, replayed: int) -> float:
        now = time.monotonic()
        passed = [at for at, position in self._samples if position > replayed]
        return now - min(passed) if passed else 0.0

    def _judge(self, replica: Replica, lag: float | None, why: str) -> None:
        replica.checks += 1
        replica.lag_s = lag
        fit = lag is not None and lag <= self.max_lag_s
        if fit != replica.fit:
            if fit:
                log.info("read replica %s fit again (lag %.1f s)", replica.url, lag)
            else:
                reason = why or f"lag {lag:.1f} s over {self.max_lag_s:g} s"
                log.warning("read replica %s skipped: %s", replica.url, reason)
        replica.fit = fit

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.check()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self.replicas:
            self._task = asyncio.create_task(self._run(), name="replica-check")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for slot in list(self._conns):
            await self._drop(slot)
        await self.writers.close()
        for replica in self.replicas:
            await replica.pool.close()
            await replica.engine.dispose()
        if self.replicas:
            await self._primary_engine.dispose()


def _replica_gone(exc: BaseException) -> bool:
    """The replica is unreachable, going away, or cancelled the statement for replay."""
    if isinstance(exc, OSError | ConnectionError | TimeoutError | asyncpg.InterfaceError):
        return True
    if isinstance(exc, asyncpg.InternalClientError | PoolTimeout):
        return True
    state = str(getattr(exc, "sqlstate", None) or "")
    return is_unavailable_state(state) or state == RECOVERY_CONFLICT


class FallbackPool(ReadPool):
    """The chosen replica's read pool, and the primary's for a read the replica cannot serve
    (it went away since the last check): the read is then served, not failed."""

    def __init__(self, replica: Replica, primary: ReadPool, replicas: Replicas) -> None:
        # Not a pool of its own: no ReadPool.__init__.
        self._replica = replica
        self._fallback = primary
        self._replicas = replicas

    async def fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        try:
            return await self._replica.pool.fetch(sql, args)
        except Exception as exc:
            if not _replica_gone(exc):
                raise
            self._replicas.lost(self._replica, exc)
        return await self._fallback.fetch(sql, args)


def routed(path: str) -> bool:
    return path.startswith(REPLICA_PREFIXES)


class ReadRouting:
    """ASGI middleware: remembers writers and picks the replica (or none) for each request;
    ``db.session.get_session`` and ``db.reads.read_pool`` read the choice from the scope."""

    def __init__(self, app: ASGIApp, replicas: Replicas) -> None:
        self.app = app
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.replicas.replicas:
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope))
        digest = hashlib.sha256(token.encode()).digest() if token else None
        state: dict[str, object] = scope.setdefault("state", {})
        if scope["method"] not in SAFE_METHODS:
            if digest is None:
                await self.app(scope, receive, send)
                return
            await self.replicas.writers.mark(digest)
            try:
                await self.app(scope, receive, send)
            finally:  # the window starts again once the write has committed
                await self.replicas.writers.mark(digest)
            return
        if routed(scope["path"]) and not (
            digest is not None and await self.replicas.writers.wrote_recently(digest)
        ):
            state[STATE_KEY] = self.replicas.pick()
        await self.app(scope, receive, send)


def chosen(scope: Mapping[str, Any]) -> Replica | None:
    replica = scope.get("state", {}).get(STATE_KEY)
    return replica if isinstance(replica, Replica) else None
