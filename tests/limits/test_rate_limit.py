"""Rate limiting: a moving window per API key, per client address for anonymous requests and
for bearer tokens not verified yet, 429 problem+json with Retry-After when over it."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from starlette.datastructures import Headers

from landmarket.core.config import Settings
from landmarket.core.ratelimit import Limiter, VerifiedKeys, bearer_token
from tests.helpers import assert_problem, bearer
from tests.limits.apps import app_with, client_of
from tests.limits.conftest import Keys

BURST = 3
RATE = 0.05  # one token per 20 s: nothing refills while a test runs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _made_up_key() -> str:
    """Well-formed, never issued."""
    return f"lm_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


async def test_limiter_admits_the_burst_per_window_then_refuses() -> None:
    limiter = Limiter(rate=2.0, burst=3)  # 3 per 2 s
    try:
        assert limiter.window_s == 2
        decisions = [await limiter.take("a") for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert 1 <= decisions[-1].retry_after_s <= 2
        assert all(d.reset_s >= 1 for d in decisions)
        assert (await limiter.take("b")).allowed  # another caller, another window
        await asyncio.sleep(2.1)  # the window moved past the first three
        assert [(await limiter.take("a")).allowed for _ in range(4)] == [True, True, True, False]
    finally:
        await limiter.close()


async def test_slow_rates_give_long_retry_after() -> None:
    limiter = Limiter(rate=0.1, burst=1)
    assert (await limiter.take("a")).allowed
    denied = await limiter.take("a")
    assert not denied.allowed and 9 <= denied.retry_after_s <= 10


def test_verified_keys_are_bounded() -> None:
    clock = Clock()
    verified = VerifiedKeys(ttl_s=60, max_entries=2, clock=clock)
    for digest in (b"1", b"2", b"3"):
        verified.remember(digest, digest.decode())
    assert verified.lookup(b"1") is None and verified.lookup(b"3") == "3"
    clock.now += 61
    assert verified.lookup(b"3") is None  # expired: back to the address bucket


def test_bearer_token_parsing() -> None:
    assert bearer_token(Headers({"authorization": "Bearer  abc "})) == "abc"
    assert bearer_token(Headers({"authorization": "bearer abc"})) == "abc"
    assert bearer_token(Headers({"authorization": "Basic abc"})) is None
    assert bearer_token(Headers({"authorization": "Bearer "})) is None
    assert bearer_token(Headers({})) is None


def test_defaults_are_generous_and_zero_disables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANDMARKET_RATE_LIMIT_PER_SECOND", raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.rate_limit_per_second == 50 and defaults.rate_limit_burst == 200
    monkeypatch.setenv("LANDMARKET_RATE_LIMIT_PER_SECOND", "0")
    assert Settings(_env_file=None).rate_limit_per_second == 0  # type: ignore[call-arg]


def _assert_limited(response: httpx.Response, remaining: int) -> None:
    for prefix in ("RateLimit", "X-RateLimit"):
        assert response.headers[f"{prefix}-Limit"] == str(BURST)
        assert response.headers[f"{prefix}-Remaining"] == str(remaining)
        assert int(response.headers[f"{prefix}-Reset"]) > 0
    assert response.headers["RateLimit-Policy"] == f"{BURST};w={round(BURST / RATE)}"


def _assert_429(response: httpx.Response) -> None:
    body = assert_problem(response, 429)
    assert body["type"] == "/problems/too-many-requests"
    assert int(response.headers["retry-after"]) >= 15  # ~20 s to the next token
    _assert_limited(response, 0)


async def test_anonymous_requests_are_limited_per_address(database_url: str) -> None:
    async with (
        app_with(database_url, rate_limit_per_second=RATE, rate_limit_burst=BURST) as app,
        client_of(app, "10.0.0.1") as first,
        client_of(app, "10.0.0.2") as second,
    ):
        for remaining in (2, 1, 0):
            response = await first.get("/v1/regions")
            assert response.status_code == 200
            _assert_limited(response, remaining)
        _assert_429(await first.get("/v1/regions"))
        _assert_429(await first.post("/v1/plots", json={}))  # any route, any method
        # Another address has its own bucket; probes are never limited.
        assert (await second.get("/v1/regions")).status_code == 200
        for _ in range(5):
            health = await first.get("/healthz")
            assert health.status_code == 200 and "ratelimit-limit" not in health.headers
        assert (await first.get("/readyz")).status_code == 200


async def test_made_up_keys_draw_from_the_address_bucket(database_url: str, keys: Keys) -> None:
    async with (
        app_with(database_url, rate_limit_per_second=RATE, rate_limit_burst=BURST) as app,
        client_of(app, "10.0.0.3") as client,
    ):
        for remaining in (2, 1, 0):
            response = await client.get("/v1/me", headers=bearer(_made_up_key()))
            assert response.status_code == 401
            _assert_limited(response, remaining)
        # A fresh invented key buys no fresh bucket; neither does going anonymous.
        _assert_429(await client.get("/v1/me", headers=bearer(_made_up_key())))
        _assert_429(await client.get("/v1/me", headers=bearer("not-even-a-key")))
        _assert_429(await client.get("/v1/regions"))


async def test_a_verified_key_has_its_own_bucket(database_url: str, keys: Keys) -> None:
    async with (
        app_with(database_url, rate_limit_per_second=RATE, rate_limit_burst=BURST) as app,
        client_of(app, "10.0.0.4") as client,
        client_of(app, "10.0.0.5") as elsewhere,
    ):
        # First use: not verified yet, so it counts against the address (3 → 2).
        first = await client.get("/v1/me", headers=bearer(keys.company))
        assert first.status_code == 200
        _assert_limited(first, 2)
        # From then on the key's own bucket, whichever address it comes from.
        for remaining, c in ((2, client), (1, elsewhere), (0, client)):
            response = await c.get("/v1/me", headers=bearer(keys.company))
            assert response.status_code == 200
            _assert_limited(response, remaining)
        _assert_429(await elsewhere.get("/v1/me", headers=bearer(keys.company)))
        # The address still has what the key did not use; another key is not affected.
        anonymous = await client.get("/v1/regions")
        assert anonymous.status_code == 200
        _assert_limited(anonymous, 1)
        assert (await elsewhere.get("/v1/me", headers=bearer(keys.agency))).status_code == 200
        assert (await elsewhere.get("/v1/me", headers=bearer(keys.agency))).status_code == 200


async def test_disabled_limit_sends_no_headers(client: httpx.AsyncClient, keys: Keys) -> None:
    # The shared test app runs with rate_limit_per_second=0.
    for _ in range(BURST + 2):
        response = await client.get("/v1/me", headers=bearer(keys.admin))
        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers
