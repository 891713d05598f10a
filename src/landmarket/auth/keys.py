"""API key format, generation and hashing.

A key looks like ``lm_3fa9c1d2_<43 url-safe chars>``. The ``lm_xxxxxxxx`` part is stored in
clear as the visible prefix so people can tell keys apart in lists; only a SHA-256 digest of
the whole key is stored. Keys carry 256 random bits, so a slow password KDF would add nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

KEY_PREFIX = "lm_"
# token_urlsafe(32) is always 43 characters of the URL-safe base64 alphabet.
_KEY_PATTERN = re.compile(r"^lm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class NewKey:
    prefix: str
    digest: bytes
    # repr=False: a NewKey that ends up in a log line or traceback must not leak the secret.
    secret: str = field(repr=False)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def generate() -> NewKey:
    prefix = KEY_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, digest=digest(secret), secret=secret)


def is_well_formed(secret: str) -> bool:
    return _KEY_PATTERN.fullmatch(secret) is not None


def matches(stored: bytes, presented: bytes) -> bool:
    # The row was found by its digest already; the constant-time compare guards against a
    # lookup path that ever matches on something weaker (e.g. a prefix index).
    return hmac.compare_digest(stored, presented)
