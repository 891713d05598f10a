"""Keyset pagination: opaque cursors that encode the last row's sort key."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from landmarket.core.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page"
    )


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(key, list) or len(key) != arity:
        raise _bad_cursor()
    return key


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API issued",
        errors=[FieldError(pointer="/query/cursor", detail="malformed cursor")],
    )
