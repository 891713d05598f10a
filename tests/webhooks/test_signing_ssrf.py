"""Signature and target checks on their own."""

from __future__ import annotations

import ipaddress

import pytest

from landmarket.core.config import Settings
from landmarket.webhooks import ssrf
from landmarket.webhooks.signing import REPLAY_WINDOW_SECONDS, sign, verify

SECRET = "whsec_test"


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"id":"1"}'
    header = sign(SECRET, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, header, body, now=1_700_000_010)
    assert not verify(SECRET, header, body + b" ", now=1_700_000_010)
    assert not verify("whsec_other", header, body, now=1_700_000_010)
    assert not verify(SECRET, "v1=abc", body)
    assert not verify(SECRET, "t=notanumber,v1=abc", body)


def test_replay_window() -> None:
    header = sign(SECRET, b"x", timestamp=1_000_000)
    assert verify(SECRET, header, b"x", now=1_000_000 + REPLAY_WINDOW_SECONDS)
    assert not verify(SECRET, header, b"x", now=1_000_000 + REPLAY_WINDOW_SECONDS + 1)
    assert not verify(SECRET, header, b"x", now=1_000_000 - REPLAY_WINDOW_SECONDS - 1)


def test_a_second_v1_value_is_accepted() -> None:
    good = sign(SECRET, b"x", timestamp=5).split(",")[1]
    assert verify(SECRET, f"t=5,v1=deadbeef,{good}", b"x", now=5)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.0.1", "private"),
        ("100.100.100.200", "private"),  # carrier-grade NAT; Alibaba's metadata service
        ("169.254.169.254", "link-local"),  # AWS/GCP/Azure metadata
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "private"),  # AWS IPv6 metadata
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (a target, not a bind)
        # IPv4 inside IPv6 (issue 14 item 9): every form is unwrapped and checked.
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 well-known prefix
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b:1::a9fe:a9fe", "private"),  # local-use NAT64 (RFC 8215)
        ("64:ff9b:1:a9fe:a9:fe00::", "private"),  # ... in the RFC 6052 /48 layout
        ("2002:7f00:1::", "loopback"),  # 6to4
        ("2002:a9fe:a9fe::1", "link-local"),
        ("2002:c0a8:101::1", "private"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("::169.254.169.254", "link-local"),
        ("::ffff:0:a9fe:a9fe", "link-local"),  # IPv4-translated (SIIT)
        ("::ffff:0:7f00:1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:0.0.0.0", "unspecified"),
        ("::ffff:224.0.0.1", "multicast"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo
        ("2001:0:a00:1:8000:63bf:3fff:fdd2", "private"),
        ("2a00:1450:4001::5efe:7f00:1", "loopback"),  # ISATAP interface id
        ("2a00:1450:4001::200:5efe:a9fe:a9fe", "link-local"),
        # Not global unicast, though Python 3.11's is_global says so.
        ("3fff::1", "private"),  # documentation (2024)
        ("5f00::1", "private"),  # SRv6 SIDs
        ("100::1", "private"),  # discard-only
        ("fec0::1", "private"),  # site-local
        ("ff0e::1", "multicast"),
        ("4000::1", "private"),  # outside 2000::/3
        ("198.18.0.1", "private"),  # benchmarking
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    found = ssrf.blocked_reason(ipaddress.ip_address(address), Settings())
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2a00:1450:4001:82a::200e",
        "::ffff:93.184.216.34",  # the embedded IPv4 is public: fine
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_global_unicast_passes(address: str) -> None:
    assert ssrf.blocked_reason(ipaddress.ip_address(address), Settings()) is None


def test_public_addresses_pass_and_configuration_allows_private() -> None:
    assert ssrf.blocked_reason(ipaddress.ip_address("93.184.216.34"), Settings()) is None
    allowed = Settings(webhook_allow_private_targets=True)
    assert ssrf.blocked_reason(ipaddress.ip_address("127.0.0.1"), allowed) is None
    # Multicast and unspecified never make sense as a target.
    assert ssrf.blocked_reason(ipaddress.ip_address("0.0.0.0"), allowed)  # noqa: S104 is not None
    listed = Settings(webhook_allowed_networks=["10.20.0.0/16"])
    assert ssrf.blocked_reason(ipaddress.ip_address("10.20.1.1"), listed) is None
    assert ssrf.blocked_reason(ipaddress.ip_address("10.21.1.1"), listed) is not None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://example.com/hook",  # http only for localhost
        "https://user:pw@example.com/",
        "//example.com/x",
        "https://",
        "https://example.com:99999/",
    ],
)
def test_url_rules(url: str) -> None:
    with pytest.raises(ssrf.UnsafeTarget):
        ssrf.parse(url)


async def test_localhost_is_refused_unless_allowed() -> None:
    with pytest.raises(ssrf.UnsafeTarget, match="loopback"):
        await ssrf.resolve("http://localhost:9/hook", Settings())
    target = await ssrf.resolve(
        "http://localhost:9/hook", Settings(webhook_allow_private_targets=True)
    )
    assert target.address.is_loopback and target.port == 9
