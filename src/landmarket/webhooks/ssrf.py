"""Keeping webhook targets away from internal services (SSRF).

A target host is resolved and every address it resolves to must be public, unless
configuration allows private targets or lists the network. The check runs when a
subscription is created or changed and again before every delivery, because DNS can change
between the two; the delivery then connects to the address that was checked (no second
lookup an attacker could answer differently).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from landmarket.core.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class UnsafeTarget(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    port: int
    address: IPAddress


def parse(url: str) -> SplitResult:
    """Scheme and host rules that need no DNS: https, or http to localhost (development)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeTarget("must be an absolute https URL")
    if parts.scheme == "http" and host not in LOCAL_NAMES:
        raise UnsafeTarget("http is only allowed for localhost (development); use https")
    if parts.username or parts.password:
        raise UnsafeTarget("must not contain credentials; the signature authenticates us")
    if port == 0:
        raise UnsafeTarget("port 0 is not a valid target port")
    return parts


def blocked_reason(address: IPAddress, settings: Settings) -> str | None:
    """Why this address is refused, or None when it may be used."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network in settings.webhook_allowed_networks:
        if address in ipaddress.ip_network(network, strict=False):
            return None
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if settings.webhook_allow_private_targets:
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (includes cloud metadata 169.254.169.254)"
    if not address.is_global:
        return "private or reserved"
    return None


async def resolve(url: str, settings: Settings) -> Target:
    """The first address of the URL's host, after checking that all of them are allowed."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError as exc:
        raise UnsafeTarget(f"host {host} does not resolve") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnsafeTarget(f"host {host} does not resolve")
    for address in addresses:
        reason = blocked_reason(address, settings)
        if reason is not None:
            raise UnsafeTarget(f"{host} resolves to {address}, a {reason} address")
    return Target(url=parts, host=host, port=port, address=addresses[0])
