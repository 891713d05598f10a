"""Query parameters of the OGC endpoints, checked strictly.

OGC API Features Part 1 (/req/core/query-param-unknown) wants a 400 for parameters the
server does not know, so every endpoint lists what it accepts and anything else is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

from starlette.datastructures import QueryParams

from landmarket.core.errors import BadRequest, FieldError
from landmarket.core.schemas import NUL_MESSAGE, has_nul
from landmarket.db.geo import DEFAULT_CRS, BboxError, Crs, parse_bbox, parse_crs
from landmarket.ogc import cql2
from landmarket.ogc.collections import COLLECTIONS, Collection, Queryable
from landmarket.ogc.crs import north_first

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
FORMATS = ("json", "html")
ITEMS_PARAMS = frozenset(
    {
        "f",
        "limit",
        "bbox",
        "bbox-crs",
        "datetime",
        "crs",
        "filter",
        "filter-lang",
        "filter-crs",
        "cursor",
        "numberMatched",
    }
)


def bad(name: str, detail: str) -> BadRequest:
    return BadRequest(
        f"{name}: {detail}", errors=[FieldError(pointer=f"/query/{name}", detail=detail)]
    )


def check_known(params: QueryParams, allowed: frozenset[str]) -> None:
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}",
            errors=[
                FieldError(pointer=f"/query/{n}", detail="not a parameter of this resource")
                for n in unknown
            ],
        )
    if len(params.multi_items()) > len(params):  # a name given more than once
        for name in params:
            if len(params.getlist(name)) > 1:
                raise bad(name, "given more than once")
    # No parameter of the OGC API can hold NUL (PostgreSQL text cannot): refused for all of
    # them here, naming the parameter, before any is read.
    for name, value in params.multi_items():
        if has_nul(value):
            raise bad(name, NUL_MESSAGE)


def crs_param(params: Mapping[str, str], name: str) -> Crs:
    value = params.get(name)
    if value is None:
        return DEFAULT_CRS
    try:
        return parse_crs(
            value.strip().removeprefix("[").removesuffix("]"), pointer=f"/query/{name}"
        )
    except Exception as exc:
        raise bad(name, f"unsupported CRS {value!r}") from exc


@dataclass
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    crs: Crs = DEFAULT_CRS
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = DEFAULT_CRS
    interval: tuple[datetime | None, datetime | None] | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    filter: str | None = None
    filter_lang: str = cql2.TEXT
    filter_crs: Crs = DEFAULT_CRS
    cursor: str | None = None
    number_matched: bool = False


@lru_cache(maxsize=8)
def _items_params(collection_id: str) -> frozenset[str]:
    return ITEMS_PARAMS | frozenset(COLLECTIONS[collection_id].queryables)


def items_query(query_params: QueryParams, collection: Collection) -> ItemsQuery:
    check_known(query_params, _items_params(collection.id))
    # A plain dict from here on (each name is there once now): most parameters are absent,
    # and QueryParams answers a missing name by raising and catching KeyError.
    params = dict(query_params)
    q = ItemsQuery()
    if "limit" in params:
        q.limit = _limit(params["limit"])
    q.crs = crs_param(params, "crs")
    q.bbox_crs = crs_param(params, "bbox-crs")
    if "bbox" in params:
        q.bbox = _bbox(params["bbox"], q.bbox_crs)
    elif "bbox-crs" in params:
        raise bad("bbox-crs", "only meaningful with bbox")
    if "datetime" in params:
        q.interval = _interval(params["datetime"])
    for name in params:
        queryable = collection.queryables.get(name)
        if queryable is not None:
            q.properties[name] = _property_value(queryable, params[name])
    q.filter = params.get("filter")
    lang = params.get("filter-lang", cql2.TEXT)
    if lang not in (cql2.TEXT, cql2.JSON_LANG):
        raise bad("filter-lang", f"expected {cql2.TEXT} or {cql2.JSON_LANG}")
    q.filter_lang = lang
    q.filter_crs = crs_param(params, "filter-crs")
    q.cursor = params.get("cursor")
    q.number_matched = _boolean("numberMatched", params.get("numberMatched", "false"))
    return q


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        raise bad("limit", "must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def _bbox(value: str, crs: Crs) -> tuple[float, float, float, float]:
    try:
        return parse_bbox(value, crs, lat_first=north_first(crs), heights=True)
    except BboxError as exc:
        raise bad("bbox", exc.detail) from None


def _instant(text: str, *, end: bool) -> datetime | None:
    if text in ("..", ""):
        return None
    try:
        if "T" in text.upper():
            return utc_timestamp(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise bad("datetime", f"{text!r} is not an RFC 3339 date or date-time") from None
    except OverflowError:
        raise bad("datetime", f"{text!r} is out of range (years 1-9999 in UTC)") from None
    # A date stands for the whole day (UTC); time.max, since the day after 9999-12-31 is none.
    return datetime.combine(day, time.max if end else time(), tzinfo=UTC)


def utc_timestamp(text: str) -> datetime:
    """An RFC 3339 date-time (UTC without an offset) in UTC; OverflowError when that lies
    outside years 1-9999 (e.g. 0001-01-01T00:00:00+14:00), where the driver fails."""
    parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _interval(value: str) -> tuple[datetime | None, datetime | None]:
    parts = value.split("/")
    if len(parts) == 1:
        if value == "..":
            raise bad("datetime", "an instant cannot be open")
        return _instant(value, end=False), _instant(value, end=True)
    if len(parts) != 2 or parts == ["..", ".."] or parts == ["", ""]:
        raise bad("datetime", "expected an instant or an interval start/end")
    start, stop = _instant(parts[0], end=False), _instant(parts[1], end=True)
    if start is not None and stop is not None and start > stop:
        raise bad("datetime", "the interval ends before it starts")
    return start, stop


def _boolean(name: str, value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad(name, "expected true or false")


def _property_value(queryable: Queryable, value: str) -> Any:
    kind, name = queryable.kind, queryable.name
    try:
        if kind == "integer":
            integer = int(value)
            low, high = queryable.schema["minimum"], queryable.schema["maximum"]
            if not low <= integer <= high:
                raise bad(name, f"must be an integer from {low} to {high}")
            return integer
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        if kind == "boolean":
            return _boolean(name, value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "timestamp":
            return utc_timestamp(value)
    except (ValueError, OverflowError):
        raise bad(name, f"{value!r} is not a valid {kind}") from None
    # The document gives each property parameter the queryable's schema; hold values to it.
    allowed = queryable.schema.get("enum")
    if allowed is not None and value not in allowed:
        raise bad(name, f"{value!r} is not one of {', '.join(allowed)}")
    longest = queryable.schema.get("maxLength")
    if longest is not None and len(value) > longest:
        raise bad(name, f"at most {longest} characters")
    return value


def output_format(params: QueryParams, accept: str | None) -> str:
    """f= wins; otherwise Accept (HTML only when the client prefers it, as browsers do)."""
    f = params.get("f")
    if f is not None:
        if f not in FORMATS:
            raise bad("f", f"expected one of {', '.join(FORMATS)}")
        return f
    best, best_q = "json", -1.0
    for part in (accept or "").split(","):
        media, _, rest = part.strip().partition(";")
        quality = 1.0
        for p in rest.split(";"):
            key, _, val = p.strip().partition("=")
            if key == "q":
                try:
                    quality = float(val)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        kind = "html" if media in ("text/html", "application/xhtml+xml") else None
        if media in ("application/geo+json", "application/json", "*/*", "application/*"):
            kind = "json"
        if kind is not None and quality > best_q:
            best, best_q = kind, quality
    return best
