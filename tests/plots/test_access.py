"""Access control from the outside: who may see and change which plots. Every refused
request leaves the plot and event tables exactly as they were."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.plots.conftest import (
    FRANKFURT,
    OFFENBACH,
    World,
    assert_problem,
    bearer,
    create,
    feature,
    table_hash,
)


@pytest.fixture
async def plots(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> dict[str, dict[str, Any]]:
    """Frankfurt's draft and Frankfurt's published plot."""
    draft = await create(client, world.frankfurt, await feature(session, FRANKFURT, "draft"))
    published = await create(
        client,
        world.frankfurt,
        await feature(session, FRANKFURT, "published", dx=400, status="published"),
    )
    return {"draft": draft, "published": published}


async def _listed(client: httpx.AsyncClient, key: str | None) -> set[str]:
    headers = bearer(key) if key else {}
    response = await client.get("/v1/plots", headers=headers)
    assert response.status_code == 200, response.text
    return {f["properties"]["external_id"] for f in response.json()["features"]}


async def test_who_sees_what(
    client: httpx.AsyncClient, world: World, plots: dict[str, dict[str, Any]]
) -> None:
    assert await _listed(client, None) == {"published"}
    assert await _listed(client, world.company) == {"published"}
    assert await _listed(client, world.agency) == {"published"}
    assert await _listed(client, world.offenbach) == {"published"}
    assert await _listed(client, world.frankfurt) == {"draft", "published"}
    assert await _listed(client, world.both) == {"draft", "published"}
    assert await _listed(client, world.admin) == {"draft", "published"}

    draft = f"/v1/plots/{plots['draft']['id']}"
    for key in (None, world.company, world.offenbach):
        assert_problem(await client.get(draft, headers=bearer(key) if key else {}), 404)
    for key in (world.frankfurt, world.admin):
        assert (await client.get(draft, headers=bearer(key))).status_code == 200


WRITES = [
    ("patch", "PATCH", "", {"properties": {"title": "hijacked"}}),
    ("delete", "DELETE", "", None),
    ("status", "POST", "/status", {"status": "withdrawn"}),
    ("confirm", "POST", "/confirm", None),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), [w[1:] for w in WRITES], ids=[w[0] for w in WRITES]
)
@pytest.mark.parametrize("which", ["draft", "published"])
async def test_other_municipality_cannot_write(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    plots: dict[str, dict[str, Any]],
    which: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    url = f"/v1/plots/{plots[which]['id']}{suffix}"
    before = await table_hash(session)
    headers = {"If-Match": '"1"'}
    cases = [
        (world.offenbach, 404 if which == "draft" else 403),
        (world.company, 403),
        (world.agency, 403),
        (None, 401),
    ]
    for key, expected in cases:
        auth = bearer(key) if key else {}
        response = await client.request(method, url, json=body, headers={**headers, **auth})
        assert_problem(response, expected)
    assert await table_hash(session) == before


async def test_nobody_else_can_create_or_upsert(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    body = await feature(session, FRANKFURT, "new")
    before = await table_hash(session)
    put = f"/v1/municipalities/{FRANKFURT}/plots/new"
    for key, expected in (
        (world.offenbach, 403),
        (world.company, 403),
        (world.agency, 403),
        (None, 401),
    ):
        auth = bearer(key) if key else {}
        assert_problem(await client.post("/v1/plots", json=body, headers=auth), expected)
        assert_problem(await client.put(put, json=body, headers=auth), expected)
    # A company is refused before its body is looked at.
    assert_problem(
        await client.post("/v1/plots", json={"junk": 1}, headers=bearer(world.company)), 403
    )
    assert await table_hash(session) == before


async def test_history_is_for_the_owner_and_admins(
    client: httpx.AsyncClient, world: World, plots: dict[str, dict[str, Any]]
) -> None:
    published = f"/v1/plots/{plots['published']['id']}/history"
    draft = f"/v1/plots/{plots['draft']['id']}/history"
    assert_problem(await client.get(published), 401)
    assert_problem(await client.get(published, headers=bearer(world.company)), 403)
    assert_problem(await client.get(published, headers=bearer(world.offenbach)), 403)
    assert_problem(await client.get(draft, headers=bearer(world.offenbach)), 404)
    for key in (world.frankfurt, world.both, world.admin):
        assert (await client.get(published, headers=bearer(key))).status_code == 200


async def test_multi_municipality_key_writes_both(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    for ags in (FRANKFURT, OFFENBACH):
        await create(client, world.both, await feature(session, ags, f"p-{ags}"))
