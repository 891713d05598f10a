"""Forwarded headers against a real `landmarket serve` (issue 14, item 8): believed only from
the proxies in LANDMARKET_FORWARDED_ALLOW_IPS (none by default), so a client cannot pick a new
address, and a fresh anonymous rate-limit bucket, per request."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from landmarket.core.config import Settings
from tests.servers import serving

BURST = 3
PATH = "/openapi.json"  # anonymous, rate limited, no database


@contextmanager
def _server(database_url: str, data_dir: Path, **settings: str) -> Iterator[str]:
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(data_dir),
        # One token per 20 s: nothing refills while the test runs.
        "LANDMARKET_RATE_LIMIT_PER_SECOND": "0.05",
        "LANDMARKET_RATE_LIMIT_BURST": str(BURST),
        **{f"LANDMARKET_{name.upper()}": value for name, value in settings.items()},
    }
    with serving(env, data_dir / "serve.log", "--no-worker") as running:
        yield running.base


def _random_address() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def _spoofed(client: httpx.Client) -> int:
    address = _random_address()
    headers = {
        "X-Forwarded-For": address,
        "Forwarded": f"for={address};proto=https",
        "X-Real-IP": address,
    }
    return client.get(PATH, headers=headers).status_code


def test_forwarded_headers_from_an_unlisted_peer_do_not_buy_a_new_bucket(
    database_url: str, tmp_path: Path
) -> None:
    with _server(database_url, tmp_path) as base, httpx.Client(base_url=base, timeout=10) as c:
        # The scheme of the links is not taken from X-Forwarded-Proto either.
        landing = c.get(
            "/ogc", headers={"X-Forwarded-Proto": "https", "Accept": "application/json"}
        )
        assert landing.status_code == 200
        assert f'"{base}/ogc' in landing.text and "https://" not in landing.text
        statuses = [_spoofed(c) for _ in range(BURST + 2)]
        assert statuses[: BURST - 1] == [200] * (BURST - 1)
        assert statuses[BURST - 1 :] == [429] * 3, statuses


def test_forwarded_for_from_a_configured_proxy_is_the_client(
    database_url: str, tmp_path: Path
) -> None:
    with (
        _server(database_url, tmp_path, forwarded_allow_ips="10.9.8.7,127.0.0.0/8") as base,
        httpx.Client(base_url=base, timeout=10) as c,
    ):
        # Each forwarded client has its own bucket ...
        distinct = [
            c.get(PATH, headers={"X-Forwarded-For": _random_address()}).status_code
            for _ in range(BURST + 3)
        ]
        assert distinct == [200] * (BURST + 3)
        # ... and the same one draws from its bucket, whichever proxy hop forwarded it.
        one = _random_address()
        same = [c.get(PATH, headers={"X-Forwarded-For": one}).status_code for _ in range(BURST + 1)]
        assert same == [200] * BURST + [429]


def test_the_setting_takes_addresses_and_networks_only() -> None:
    assert Settings(forwarded_allow_ips="10.0.0.1, 192.168.0.0/24").forwarded_allow_ips == [
        "10.0.0.1",
        "192.168.0.0/24",
    ]
    assert Settings().forwarded_allow_ips == []
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(forwarded_allow_ips="proxy.example")
