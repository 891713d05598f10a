"""The one check of a webhook URL: it must mean to us exactly what it means to httpx.

The worker sends with httpx, so a URL is parsed by ``httpx.URL`` here too, and everything
that httpx would refuse (it raised ``InvalidURL`` at delivery and killed the worker once) or
that a person, a log reader or another parser could read differently is refused up front:
control, format and separator characters anywhere, backslashes, credentials, fragments,
odd ports, percent-encoded or numeric-but-not-dotted-quad hosts, IPv6 zone ids. The same
function runs at create, at PATCH and before every delivery (rows written before these rules
are then refused at delivery, as a failed attempt of that delivery only).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

import httpx

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"https": 443, "http": 80}
# After IDNA: letters, digits, hyphens (and underscores, which DNS allows in names) per label.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# WHATWG's "ends in a number": such a host is an IPv4 address to browsers (127.1, 0x7f.1,
# 2130706433) and to getaddrinfo, so it must be written as a plain dotted quad.
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_PORT = re.compile(r"^[1-9][0-9]{0,4}$")


class UnsafeTarget(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


@dataclass(frozen=True)
class WebhookURL:
    url: httpx.URL
    scheme: str
    # ASCII (IDNA) host without brackets: what is resolved, sent in Host and as TLS SNI.
    host: str
    port: int
    # The literal address when the host is one, else None.
    literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _odd_character(url: str) -> str | None:
    for position, char in enumerate(url):
        # C*: controls, format (zero-width, bidi overrides), surrogates, private use,
        # unassigned; Z*: every kind of space and line/paragraph separator.
        if unicodedata.category(char)[0] in "CZ" or char == "\\":
            return f"character U+{ord(char):04X} at position {position} is not allowed"
    return None


def _authority(url: str) -> str:
    # With no backslash or whitespace left, this is the authority httpx parses as well.
    rest = url.split("//", 1)[1] if "//" in url else ""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _check_host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not host:
        raise UnsafeTarget("must be an absolute https URL with a host")
    if ":" in host:  # httpx took it from brackets: an IPv6 literal
        if "%" in host:
            raise UnsafeTarget("IPv6 zone ids are not allowed")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise UnsafeTarget(f"not a valid IPv6 address: {host}") from exc
    name = host.removesuffix(".")
    labels = name.split(".")
    if _NUMERIC.match(labels[-1]):
        try:
            return ipaddress.IPv4Address(name)
        except ValueError as exc:
            raise UnsafeTarget(
                f"host {host} looks numeric but is not a dotted-quad IPv4 address"
            ) from exc
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeTarget(f"host {host} is not a valid DNS name")
    return None


def parse(url: str) -> WebhookURL:
    """The URL as the worker will send to it, or ``UnsafeTarget`` saying what is wrong."""
    odd = _odd_character(url)
    if odd is not None:
        raise UnsafeTarget(odd)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from exc
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS or not url.lower().startswith(f"{scheme}://"):
        raise UnsafeTarget("must be an absolute https URL")
    authority = _authority(url)
    if "@" in authority or parsed.userinfo:
        raise UnsafeTarget("must not contain credentials; the signature authenticates us")
    if parsed.fragment or "#" in url:
        raise UnsafeTarget("must not contain a fragment (it is never sent)")
    host = parsed.raw_host.decode("ascii").lower()
    literal = _check_host(host)
    port_text = authority.rsplit("]", 1)[-1].rpartition(":")
    if port_text[1] and not _PORT.match(port_text[2]):
        raise UnsafeTarget(f"port {port_text[2]!r} is not a port number from 1 to 65535")
    port = parsed.port or DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeTarget(f"port {port} is not a port number from 1 to 65535")
    if scheme == "http" and host not in LOCAL_NAMES:
        raise UnsafeTarget("http is only allowed for localhost (development); use https")
    return WebhookURL(url=parsed, scheme=scheme, host=host, port=port, literal=literal)
