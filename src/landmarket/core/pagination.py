"""Keyset pagination: opaque cursors that encode the last row's sort key."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
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


R = TypeVar("R")


def keyset_tail(
    rows: Sequence[R], limit: int, key: Callable[[R], tuple[Any, ...]]
) -> tuple[list[R], str | None]:
    """A page from a probe of ``limit + 1`` rows: its first ``limit`` rows and, when the probe
    found more, the cursor of the last one (``key``: that row's sort key)."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(*key(page[-1])) if more and page else None


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int, pointer: str = "/query/cursor") -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor(pointer) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise _bad_cursor(pointer)
    return key


def decode_typed_cursor(
    cursor: str, *parts: Callable[[Any], Any], pointer: str = "/query/cursor"
) -> tuple[Any, ...]:
    """Decode a cursor and convert each key part; a part that does not convert is the same
    422 as a cursor that does not decode."""
    key = decode_cursor(cursor, len(parts), pointer)
    try:
        return tuple(convert(value) for convert, value in zip(parts, key, strict=True))
    except (TypeError, ValueError) as exc:
        raise _bad_cursor(pointer) from exc


def as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def decode_uuid_cursor(cursor: str | None) -> uuid.UUID | None:
    """For lists paged by id alone."""
    return None if cursor is None else decode_typed_cursor(cursor, as_uuid)[0]


def _bad_cursor(pointer: str) -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API issued",
        errors=[FieldError(pointer=pointer, detail="malformed cursor")],
    )
