"""Idempotency-Key on POST /v1/requirements: replay, reuse, format, tenants, expiry, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.errors import Conflict
from landmarket.idempotency.models import IdempotencyRecord
from landmarket.requirements import service
from tests.helpers import assert_problem, bearer, pointers
from tests.idempotency.conftest import KEY, counts, keyed
from tests.matching.world import World, requirement_body

URL = "/v1/requirements"


async def test_retry_replays_the_first_response_and_creates_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    body = requirement_body()
    first = await client.post(URL, json=body, headers=keyed(world.company))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await counts(session)
    assert (after_first["requirements"], after_first["records"]) == (1, 1)

    # The requirement changes meanwhile; the retry still gets what the first request got.
    url = first.headers["location"]
    changed = await client.patch(
        url, json={"jobs": 12}, headers={**bearer(world.company), "If-Match": '"1"'}
    )
    assert changed.status_code == 200
    after_patch = await counts(session)

    again = await client.post(URL, json=body, headers=keyed(world.company))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for name in ("location", "etag", "content-type"):
        assert again.headers[name] == first.headers[name]
    assert await counts(session) == after_patch


async def test_same_key_other_body_is_422(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    assert first.status_code == 201
    before = await counts(session)

    other = await client.post(URL, json=requirement_body(jobs=3), headers=keyed(world.company))
    problem = assert_problem(other, 422)
    assert problem["type"].endswith("/idempotency-key-reused")
    assert pointers(problem) == ["/header/idempotency-key"]
    assert "Idempotency-Key" in problem["detail"]
    assert await counts(session) == before


async def test_without_a_key_every_post_creates(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    for _ in range(2):
        response = await client.post(URL, json=requirement_body(), headers=bearer(world.company))
        assert response.status_code == 201
    assert (await counts(session))["requirements"] == 2
    assert (await counts(session))["records"] == 0


@pytest.mark.parametrize(
    "bad", ["", "   ", "x" * 256, "schlüssel".encode(), "tab\there", "del\x7f"]
)
async def test_malformed_keys_are_400(
    client: httpx.AsyncClient, session: AsyncSession, world: World, bad: str | bytes
) -> None:
    response = await client.post(URL, json=requirement_body(), headers=keyed(world.company, bad))
    problem = assert_problem(response, 400)
    assert pointers(problem) == ["/header/idempotency-key"]
    assert await counts(session) == {"requirements": 0, "plots": 0, "events": 0, "records": 0}


async def test_quoted_and_bare_key_are_the_same_key(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await client.post(URL, json=requirement_body(), headers=keyed(world.company, KEY))
    quoted = await client.post(
        URL, json=requirement_body(), headers=keyed(world.company, f'"{KEY}"')
    )
    assert quoted.headers["idempotent-replayed"] == "true"
    assert quoted.content == first.content


async def test_keys_are_scoped_per_organisation(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    ours = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    theirs = await client.post(URL, json=requirement_body(), headers=keyed(world.other_company))
    assert ours.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert ours.json()["id"] != theirs.json()["id"]
    assert ours.json()["company_id"] != theirs.json()["company_id"]
    # Each retry gets its own organisation's response.
    for api_key, first in ((world.company, ours), (world.other_company, theirs)):
        retry = await client.post(URL, json=requirement_body(), headers=keyed(api_key))
        assert retry.headers["idempotent-replayed"] == "true" and retry.content == first.content
    assert (await counts(session))["requirements"] == 2


async def _expire_all(session: AsyncSession) -> None:
    await session.execute(
        update(IdempotencyRecord).values(expires_at=text("now() - interval '1 second'"))
    )
    await session.commit()


async def test_an_expired_key_is_new_again_and_expired_rows_are_purged(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    await _expire_all(session)

    again = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    row = (await session.execute(select(IdempotencyRecord))).scalar_one()
    assert row.expires_at - row.created_at == timedelta(hours=24)

    for key in ("k-1", "k-2", "k-3"):
        response = await client.post(
            URL, json=requirement_body(), headers=keyed(world.company, key)
        )
        assert response.status_code == 201
    assert (await counts(session))["records"] == 4
    await _expire_all(session)
    await client.post(URL, json=requirement_body(), headers=keyed(world.company, "k-4"))
    keys = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["k-4"]  # the next keyed request purged every expired record


async def test_a_client_error_of_the_work_is_stored_and_replayed(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Consistent per field, so it passes request parsing; the service rejects it.
    body = requirement_body(area_min_m2=9_000, area_max_m2=1_000)
    first = await client.post(URL, json=body, headers=keyed(world.company))
    assert pointers(assert_problem(first, 422)) == ["/body/area_max_m2"]
    again = await client.post(URL, json=body, headers=keyed(world.company))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.status_code == 422 and again.content == first.content
    assert await counts(session) == {"requirements": 0, "plots": 0, "events": 0, "records": 1}


async def test_a_request_that_never_ran_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    unparsable = requirement_body(emission_class="loud")
    for _ in range(2):
        response = await client.post(URL, json=unparsable, headers=keyed(world.company))
        assert_problem(response, 422)
        assert "idempotent-replayed" not in response.headers
    forbidden = await client.post(URL, json=requirement_body(), headers=keyed(world.frankfurt))
    assert_problem(forbidden, 403)
    assert (await counts(session))["records"] == 0


async def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure after the requirement was written")


async def _conflict(*args: Any, **kwargs: Any) -> Any:
    raise Conflict("injected: the state changed; send it again")


@pytest.mark.parametrize(("fault", "status"), [(_boom, 500), (_conflict, 409)])
async def test_a_failed_execution_leaves_nothing_and_the_retry_runs(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[..., Awaitable[Any]],
    status: int,
) -> None:
    """5xx and 'try again' conflicts are not stored: the requirement and the key record roll
    back together, and the retry with the same key runs for real."""
    real_create = service.create

    async def create_then_fail(*args: Any, **kwargs: Any) -> Any:
        await real_create(*args, **kwargs)
        return await fault()

    monkeypatch.setattr(service, "create", create_then_fail)
    failed = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    assert_problem(failed, status)
    assert await counts(session) == {"requirements": 0, "plots": 0, "events": 0, "records": 0}

    monkeypatch.setattr(service, "create", real_create)
    retry = await client.post(URL, json=requirement_body(), headers=keyed(world.company))
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    after = await counts(session)
    assert (after["requirements"], after["records"]) == (1, 1)
