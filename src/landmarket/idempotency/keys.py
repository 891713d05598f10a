"""The Idempotency-Key header value and the fingerprint of a request (pure functions)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from landmarket.core.errors import BadRequest, FieldError

HEADER = "Idempotency-Key"
POINTER = "/header/idempotency-key"
MAX_LENGTH = 255
# How long a key and its response are kept; a reuse after that is a new request.
TTL = timedelta(hours=24)
# Request headers that change what the body means, so they are part of "the same request".
SIGNIFICANT_HEADERS = ("content-crs",)

# Printable ASCII with at least one visible character (HTTP strips surrounding spaces).
KEY_PATTERN = "^[ -~]*[!-~][ -~]*$"
_KEY = re.compile(KEY_PATTERN)
_SF_ESCAPE = re.compile(r'\\(["\\])')


def parse_key(raw: str) -> str:
    """The key from the header value: a bare token or, as the draft specifies, an RFC 8941
    sf-string (``"..."``); 1-255 printable ASCII characters. 400 otherwise."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _SF_ESCAPE.sub(r"\1", value[1:-1])
    if len(value) > MAX_LENGTH or not _KEY.fullmatch(value):
        reason = f"1 to {MAX_LENGTH} printable ASCII characters"
        raise BadRequest(
            f"{HEADER} must be {reason}, e.g. a UUID",
            errors=[FieldError(pointer=POINTER, detail=reason)],
        )
    return value


def fingerprint(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> str:
    """SHA-256 over everything that makes two requests "the same": method, path, the query
    parameters (order-insensitive), the significant headers and the body byte for byte."""
    digest = hashlib.sha256()
    for part in _parts(method, path, query, headers):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def _parts(method: str, path: str, query: str, headers: Mapping[str, str]) -> Iterable[str]:
    yield method.upper()
    yield path
    yield urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    for name in SIGNIFICANT_HEADERS:
        yield f"{name}:{headers.get(name, '').strip()}"


def lock_id(organization: str, key: str) -> int:
    """A signed 64-bit id for pg_try_advisory_xact_lock. Two keys may share an id (a 2^-64
    chance); that only gives one of them a 409 while the other runs, never mixes responses."""
    digest = hashlib.blake2b(f"idempotency\0{organization}\0{key}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)
