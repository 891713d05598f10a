"""Rate limiting: a token bucket per API key, and per client address for anonymous requests.

The buckets live in the API process, so with `serve --workers N` a client can get up to N
times the configured rate. That is deliberate: a shared limiter needs a shared store on
every request, and the only one this service has is PostgreSQL, whose round trip would cost
more than most requests it guards. The limit is a safety net against runaway clients, not an
accounting of quotas.

Which bucket a request draws from is decided without the database: an API key's bucket is
used once the key has been verified by authentication in this process (its SHA-256 digest is
remembered for a minute). A bearer token not verified yet (a new key, a mistyped or an
invented one) draws from its client address's bucket like an anonymous request, so sending
made-up keys never buys a fresh bucket.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from landmarket.core.errors import problem_response

# Probes of load balancers and orchestrators are never throttled.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
# Where authentication leaves the id of the key it verified, for the middleware to read.
STATE_KEY = "landmarket.verified_key"
VERIFIED_TTL_S = 60.0
MAX_BUCKETS = 50_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # until the bucket is full again
    retry_after_s: int  # until the next request is admitted (0 when allowed)


class TokenBuckets:
    """Buckets of ``burst`` tokens refilled at ``rate`` per second, least recently used first
    out when there are more than ``max_buckets`` (a dropped bucket starts full again)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_buckets: int = MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_buckets = max_buckets
        self.clock = clock
        # dict keeps insertion order: re-inserting on use makes the first entry the stalest.
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> Decision:
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_buckets:
            del self._buckets[next(iter(self._buckets))]
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=int(bucket.tokens),
            reset_s=math.ceil((self.burst - bucket.tokens) / self.rate),
            retry_after_s=0 if allowed else max(1, math.ceil((1.0 - bucket.tokens) / self.rate)),
        )


class VerifiedKeys:
    """SHA-256 digests of bearer tokens that authenticated recently → the key's id."""

    def __init__(
        self,
        ttl_s: float = VERIFIED_TTL_S,
        *,
        max_entries: int = MAX_BUCKETS,
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


def rate_headers(decision: Decision, rate: float) -> dict[str, str]:
    """``RateLimit-*`` (IETF httpapi draft) and the older ``X-RateLimit-*``; Reset is in
    seconds from now in both."""
    values = {
        "Limit": str(decision.limit),
        "Remaining": str(decision.remaining),
        "Reset": str(decision.reset_s),
    }
    headers = {f"RateLimit-{k}": v for k, v in values.items()}
    headers |= {f"X-RateLimit-{k}": v for k, v in values.items()}
    # The quota is the burst, refilled over burst/rate seconds.
    headers["RateLimit-Policy"] = f"{decision.limit};w={math.ceil(decision.limit / rate)}"
    return headers


class RateLimit:
    """ASGI middleware: 429 problem+json with Retry-After when the caller's bucket is empty,
    rate headers on every limited response."""

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.rate = rate
        self.buckets = TokenBuckets(rate, burst)
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
        decision = self.buckets.take(bucket)
        headers = rate_headers(decision, self.rate)
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
