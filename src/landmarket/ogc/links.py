"""Links and media types shared by the OGC resources."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from starlette.datastructures import QueryParams

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"

_quote = lru_cache(maxsize=512)(quote_plus)


def link(
    href: str, rel: str, media_type: str | None = None, title: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"href": href, "rel": rel}
    if media_type:
        out["type"] = media_type
    if title:
        out["title"] = title
    return out


def with_params(url: str, params: QueryParams | dict[str, str], **changes: str | None) -> str:
    """``url`` with the request's parameters, some replaced (None removes one)."""
    merged = dict(params)
    for key, value in changes.items():
        name = key.replace("_", "-") if key != "number_matched" else "numberMatched"
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    if not merged:
        return url
    # What urlencode(merged) gives, with the quoting memoised: links are built on every page
    # and the same few names and values come again and again.
    return url + "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in merged.items())


def self_and_alternate(
    url: str, params: QueryParams, fmt: str, json_type: str = JSON
) -> list[dict[str, Any]]:
    """``self`` is the representation being sent, ``alternate`` the other one."""
    # with_params(url, params, f=...) twice, with the other parameters quoted once.
    query = "".join(f"{_quote(k)}={_quote(v)}&" for k, v in params.items() if k != "f")
    as_json = link(f"{url}?{query}f=json", "self", json_type, "this document")
    as_html = link(f"{url}?{query}f=html", "alternate", HTML, "this document as HTML")
    if fmt == "html":
        as_json["rel"], as_html["rel"] = "alternate", "self"
    return [as_json, as_html]
