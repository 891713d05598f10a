"""Keeping webhook targets away from internal services (SSRF).

A target host is resolved and every address it resolves to must be global unicast, unless
configuration allows private targets or lists the network. The check runs when a
subscription is created or changed and again before every delivery, because DNS can change
between the two; the delivery then connects to the address that was checked (no second
lookup an attacker could answer differently).

IPv6 addresses that carry an IPv4 address (mapped, translated, compatible, NAT64, 6to4,
Teredo, ISATAP) are unwrapped and the IPv4 address is checked as well: ``[64:ff9b::7f00:1]``
reaches 127.0.0.1 through a NAT64 gateway, ``[2002:7f00:1::]`` through a 6to4 relay.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from landmarket.core.config import Settings
from landmarket.webhooks.urls import LOCAL_NAMES, UnsafeTarget, WebhookURL, parse

__all__ = ["LOCAL_NAMES", "Target", "UnsafeTarget", "blocked_reason", "parse", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
net = ipaddress.ip_network

# The packet goes to the IPv4 address in the low 32 bits (RFC 4291, 6052, 7915).
_TRANSLATED_TO_V4 = (
    net("::ffff:0:0/96"),  # IPv4-mapped
    net("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    net("64:ff9b::/96"),  # NAT64 well-known prefix
    net("::/96"),  # IPv4-compatible (deprecated); :: and ::1 are left as they are
)
_NAT64_LOCAL = net("64:ff9b:1::/48")  # RFC 8215 local-use NAT64, RFC 6052 /48 layout
_SIXTOFOUR = net("2002::/16")
_TEREDO = net("2001::/32")
# The only IPv6 global unicast space (RFC 4291 2.4); anything else is reserved or special.
_GLOBAL_UNICAST_V6 = net("2000::/3")
# Not globally reachable per the IANA special-purpose registries, but not (yet) known to
# the ipaddress module of every Python we run on.
_NOT_GLOBAL = (
    net("64:ff9b:1::/48"),
    net("100::/64"),
    net("100:0:0:1::/64"),
    net("2001::/23"),
    net("2001:db8::/32"),
    net("3fff::/20"),
    net("5f00::/16"),
    net("fc00::/7"),
    net("fec0::/10"),
    net("0.0.0.0/8"),
    net("100.64.0.0/10"),
    net("192.0.0.0/24"),
    net("192.0.2.0/24"),
    net("192.88.99.0/24"),  # 6to4 relay anycast
    net("198.18.0.0/15"),
    net("198.51.100.0/24"),
    net("203.0.113.0/24"),
    net("240.0.0.0/4"),
)


@dataclass(frozen=True)
class Target:
    url: WebhookURL
    host: str
    port: int
    address: IPAddress


def effective(address: IPAddress) -> IPAddress:
    """The address a connection really reaches: the IPv4 inside a translation prefix."""
    if (
        isinstance(address, V6)
        and any(address in n for n in _TRANSLATED_TO_V4)
        and int(address) > 1
    ):
        return V4(int(address) & 0xFFFFFFFF)
    return address


def embedded(address: IPAddress) -> list[V4]:
    """IPv4 addresses an IPv6 address carries besides its own routing (tunnels, gateways)."""
    if not isinstance(address, V6):
        return []
    value = int(address)
    found: list[V4] = []
    if address in _SIXTOFOUR:
        found.append(V4((value >> 80) & 0xFFFFFFFF))
    if address in _TEREDO and address.teredo is not None:
        found.extend(address.teredo)  # server, and the de-obfuscated client
    if address in _NAT64_LOCAL:
        # RFC 6052 for a /48 prefix: bits 48-63 and 72-87 (bits 64-71 are the zero u octet).
        found.append(V4((((value >> 64) & 0xFFFF) << 16) | ((value >> 40) & 0xFFFF)))
        found.append(V4(value & 0xFFFFFFFF))  # a /96 layout inside the same prefix
    if (value >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP interface id (RFC 5214)
        found.append(V4(value & 0xFFFFFFFF))
    return found


def _reason(address: IPAddress, settings: Settings) -> str | None:
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
    if (
        not address.is_global
        or address.is_private
        or address.is_reserved
        or any(address in n for n in _NOT_GLOBAL if n.version == address.version)
        or (isinstance(address, V6) and address not in _GLOBAL_UNICAST_V6)
        or address == V4("255.255.255.255")
    ):
        return "private or reserved"
    return None


def blocked_reason(address: IPAddress, settings: Settings) -> str | None:
    """Why this address is refused, or None when it may be used."""
    reached = effective(address)
    for network in settings.webhook_allowed_networks:
        allowed = ipaddress.ip_network(network, strict=False)
        if reached in allowed or address in allowed:
            return None
    reason = _reason(reached, settings)
    if reason is not None:
        return reason if reached == address else f"{reason} (IPv4 {reached} inside {address})"
    for inner in embedded(address):
        reason = _reason(inner, settings)
        if reason is not None:
            return f"{reason} (IPv4 {inner} embedded in {address})"
    return None


async def resolve(url: str, settings: Settings, *, executor: Executor | None = None) -> Target:
    """The first address of the URL's host, after checking that all of them are allowed.

    ``executor`` runs the (blocking) lookup; the worker passes its own, so hosts whose DNS
    hangs cannot occupy the event loop's small default pool that every delivery shares."""
    parts = parse(url)
    host, port = parts.host, parts.port
    if parts.literal is not None:
        addresses: list[IPAddress] = [parts.literal]
    else:
        lookup = partial(
            socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        try:
            infos = await asyncio.get_running_loop().run_in_executor(executor, lookup)
        except (OSError, UnicodeError) as exc:
            raise UnsafeTarget(f"host {host} does not resolve") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnsafeTarget(f"host {host} does not resolve")
    for address in addresses:
        reason = blocked_reason(address, settings)
        if reason is not None:
            raise UnsafeTarget(f"{host} resolves to {address}, which is not allowed: {reason}")
    return Target(url=parts, host=host, port=port, address=addresses[0])
