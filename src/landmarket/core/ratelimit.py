"""Rate limiting with the `limits` library: a moving window per API key, and per client
address for anonymous requests, in a storage every API process of a deployment shares.

The storage is in-memory (this process only) unless ``LANDMARKET_REDIS_URL`` is set; then it
is that Redis, so the limit holds over all workers and nodes together (with `serve --workers
N` and memory storage a client gets up to N times its budget). A window admits ``burst``
requests per ``ceil(burst / rate)`` seconds: the burst at once, then, on average, ``rate`` per
second. When the storage cannot be reached (Redis away) requests are let through and a warning
is logged at most once a minute: the limit is a safety net against runaway clients, and an
outage of it must not become an outage of the API.

Which bucket a request draws from is decided without the database: an API key's bucket is
used once the key has been verified by authentication in this process (its SHA-256 digest is
remembered for a minute). A bearer token not verified yet (a new key, a mistyped or an
invented one) draws from its client address's bucket like an anonymous request, so sending
made-up keys never buys a fresh bucket.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmarket.core.errors import problem_response
from limits import RateLimitItemPerSecond

log = logging.getLogger(__name__)

# Probes of load balancers and orchestrators are never throttled.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
# Where authentication leaves the id of the key it verified, for the middleware to read.
STATE_KEY = "landmarket.verified_key"
VERIFIED_TTL_S = 60.0
MAX_VERIFIED = 50_000
# Keys in a shared store are namespaced, so one Redis can serve other applications too.
KEY_PREFIX = "landmarket:rl"
OUTAGE_LOG_EVERY_S = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # until the oldest request in the window leaves it
    retry_after_s: int  # until the next request is admitted (0 when allowed)


def open_storage(redis_url: str | None) -> Storage:
    """Redis (through redis-py's asyncio client) when a URL is given, else this process's
    memory. Must be called with an event loop running (memory storage schedules its
    expiry on it)."""
    if redis_url:
        uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
        return RedisStorage(uri, implementation="redispy", key_prefix=KEY_PREFIX)
    return MemoryStorage()


class Limiter:
    """``burst`` requests per ``ceil(burst / rate)`` seconds per key, in a shared storage."""

    def __init__(self, rate: float, burst: int, redis_url: str | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.item = RateLimitItemPerSecond(burst, max(1, math.ceil(burst / rate)))
        self.redis_url = redis_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._storage: Storage | None = None
        self._outage_logged = -math.inf

    @property
    def storage(self) -> Storage:
        if self._storage is None:  # lazily: memory storage needs the running loop
            self._storage = open_storage(self.redis_url)
        return self._storage

    @property
    def window_s(self) -> int:
        return int(self.item.get_expiry())

    async def take(self, key: str) -> Decision:
        if self._limiter is None:
            self._limiter = MovingWindowRateLimiter(self.storage)
        try:
            allowed = await self._limiter.hit(self.item, key)
            stats = await self._limiter.get_window_stats(self.item, key)
        except Exception as exc:  # the shared store is away: fail open (see module doc)
            now = time.monotonic()
            if now - self._outage_logged >= OUTAGE_LOG_EVERY_S:
                self._outage_logged = now
                log.warning("rate limit storage unavailable, not limiting: %r", exc)
            return Decision(True, self.burst, self.burst, self.window_s, 0)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=max(0, stats.remaining),
            reset_s=wait,
            retry_after_s=0 if allowed else wait,
        )

    async def close(self) -> None:
        storage, self._storage, self._limiter = self._storage, None, None
        if isinstance(storage, RedisStorage):
            # The library has no close; its redis-py client holds the connections.
            client = getattr(getattr(storage, "bridge", None), "storage", None)
            if client is not None:
                await client.aclose()


class VerifiedKeys:
    """SHA-256 digests of bearer tokens that authenticated recently → the key's id."""

    def __init__(
        self,
        ttl_s: float = VERIFIED_TTL_S,
        *,
        max_entries: int = MAX_VERIFIED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._keys: dict[bytes, tuple[str, float]] = {}

    def lookup(self, digest: bytes) -> str | None:
        found = self._keys.get(digest)
        if found is None:
            return None
        key_id, expires = found
        if expires <= self.clock():
            del self._keys[digest]
            return None
        return key_id

    def remember(self, digest: bytes, key_id: str) -> None:
        self._keys.pop(digest, None)
        self._keys[digest] = (key_id, self.clock() + self.ttl_s)
        while len(self._keys) > self.max_entries:
            del self._keys[next(iter(self._keys))]


def mark_verified(request: Request, key_id: object) -> None:
    """Called by authentication after a key checked out, so later requests with the same
    key draw from the key's bucket."""
    request.scope.setdefault("state", {})[STATE_KEY] = str(key_id)


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def rate_headers(decision: Decision, window_s: int) -> dict[str, str]:
    """``RateLimit-*`` (IETF httpapi draft) and the older ``X-RateLimit-*``; Reset is in
    seconds from now in both."""
    values = {
        "Limit": str(decision.limit),
        "Remaining": str(decision.remaining),
        "Reset": str(decision.reset_s),
    }
    headers = {f"RateLimit-{k}": v for k, v in values.items()}
    headers |= {f"X-RateLimit-{k}": v for k, v in values.items()}
    # The quota is the burst per window of ceil(burst/rate) seconds.
    headers["RateLimit-Policy"] = f"{decision.limit};w={window_s}"
    return headers


class RateLimit:
    """ASGI middleware: 429 problem+json with Retry-After when the caller's bucket is empty,
    rate headers on every limited response."""

    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.rate = limiter.rate
        self.limiter = limiter
        self.verified = VerifiedKeys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope))
        digest = hashlib.sha256(token.encode()).digest() if token else None
        key_id = self.verified.lookup(digest) if digest else None
        # The connection's peer, or the client a listed proxy forwarded (`serve` believes
        # X-Forwarded-For only from LANDMARKET_FORWARDED_ALLOW_IPS): never a header the
        # client itself chose, which would buy a fresh bucket per request.
        client = scope.get("client")
        bucket = f"key:{key_id}" if key_id else f"addr:{client[0] if client else 'unknown'}"
        decision = await self.limiter.take(bucket)
        headers = rate_headers(decision, self.limiter.window_s)
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after_s)
            response = problem_response(
                429,
                f"Too many requests: at most {decision.limit} at once and "
                f"{self.rate:g} per second; retry after {decision.retry_after_s} s",
                headers=headers,
                instance=scope["path"],
            )
            await response(scope, receive, send)
            return
        state: dict[str, object] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # Refreshed on every authenticated request, so a key in use keeps its bucket.
            verified = state.get(STATE_KEY)
            if digest is not None and isinstance(verified, str):
                self.verified.remember(digest, verified)
