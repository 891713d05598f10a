"""`limit` caps: every paginated list refuses more than its documented maximum."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from landmarket.core.pagination import MAX_LIMIT
from landmarket.ogc.params import MAX_LIMIT as OGC_MAX_LIMIT
from tests.helpers import assert_problem, bearer, pointers
from tests.limits.conftest import FRANKFURT, Keys


def _paginated(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """(path, limit schema) of every operation with a `limit` query parameter."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["name"] == "limit" and param["in"] == "query":
                    assert method == "get", path
                    found.append((path, param["schema"]))
    return found


def _fill(path: str) -> str:
    return path.replace("{ags}", FRANKFURT).format_map(_AnyId())


class _AnyId(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return str(uuid.uuid4())


async def test_every_list_refuses_a_limit_over_its_maximum(
    client: httpx.AsyncClient, app: FastAPI, keys: Keys
) -> None:
    lists = _paginated(app)
    assert len(lists) >= 10  # plots, municipalities, requirements, matches, webhooks, ...
    callers = [{}] + [bearer(k) for k in vars(keys).values()]
    for path, schema in lists:
        assert schema["maximum"] == MAX_LIMIT, path
        url = _fill(path)
        over = [await client.get(url, params={"limit": MAX_LIMIT + 1}, headers=h) for h in callers]
        assert all(r.status_code >= 400 for r in over), path
        # For a caller allowed to call it, the only complaint is the limit.
        refused = [r for r in over if r.status_code == 422]
        assert refused, f"{path}: {[r.status_code for r in over]}"
        assert pointers(assert_problem(refused[0], 422)) == ["/query/limit"], path
        caller = callers[over.index(refused[0])]
        at_max = await client.get(url, params={"limit": MAX_LIMIT}, headers=caller)
        assert at_max.status_code != 422, f"{path}: {at_max.text}"


async def test_ogc_items_limit_is_capped_at_10000(client: httpx.AsyncClient) -> None:
    assert OGC_MAX_LIMIT == 10_000
    for collection in ("plots", "municipalities"):
        url = f"/ogc/collections/{collection}/items"
        # OGC API Features answers bad parameter values with 400, not 422.
        over = assert_problem(await client.get(url, params={"limit": OGC_MAX_LIMIT + 1}), 400)
        assert pointers(over) == ["/query/limit"]
        assert "10000" in over["errors"][0]["detail"]
        at_max = await client.get(url, params={"limit": OGC_MAX_LIMIT})
        assert at_max.status_code == 200, at_max.text
    document = (await client.get("/ogc/api")).json()
    limit = document["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == OGC_MAX_LIMIT
