"""Bearer authentication: /v1/me per kind, 401 for every bad key, 403 for the wrong kind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import ApiKey
from tests.auth.conftest import FRANKFURT, OFFENBACH, World, assert_problem, bearer

# The one text of every refused key (auth.service.INVALID_KEY), spelled out: it is the contract.
INVALID_KEY = "Invalid API key"


async def test_me_for_each_kind(client: httpx.AsyncClient, world: World) -> None:
    expected = {
        "admin": ([], [], None),
        "municipality": ([FRANKFURT, OFFENBACH], [], None),
        "company": ([], [], OFFENBACH),
        "agency": ([], ["frm"], None),
    }
    for kind, (ags, regions, home_ags) in expected.items():
        org, key = getattr(world, kind)
        response = await client.get("/v1/me", headers=bearer(key))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == str(org.id)
        assert body["kind"] == kind
        assert body["name"] == org.name
        assert (body["ags"], body["regions"], body["home_ags"]) == (ags, regions, home_ags)
        assert key.startswith(body["key_prefix"] + "_")
        assert key not in response.text


def assert_401(response: httpx.Response) -> dict[str, object]:
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    return body


async def test_missing_header_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert_401(response)
    # RFC 6750 §3.1: no error code when the client sent no credentials at all.
    assert "error=" not in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        "Bearer lm_zzzzzzzz_" + "a" * 43,
        "lm_12345678_" + "a" * 43,
    ],
)
async def test_malformed_header_is_401(
    client: httpx.AsyncClient, world: World, header: str
) -> None:
    body = assert_401(await client.get("/v1/me", headers={"Authorization": header}))
    assert "aaaaaaaa" not in str(body)


async def test_unknown_key_is_401(client: httpx.AsyncClient, world: World) -> None:
    _, key = world.admin
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    response = await client.get("/v1/me", headers=bearer(forged))
    assert_401(response)
    assert forged not in response.text


async def test_expired_key_is_401(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    org, key = world.company
    await session.execute(
        update(ApiKey)
        .where(ApiKey.organization_id == org.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    body = assert_401(await client.get("/v1/me", headers=bearer(key)))
    assert body["detail"] == INVALID_KEY


async def test_revoked_key_is_401(client: httpx.AsyncClient, world: World) -> None:
    admin_key = world.admin[1]
    org, key = world.municipality
    keys = (
        await client.get(f"/v1/admin/organizations/{org.id}/api-keys", headers=bearer(admin_key))
    ).json()
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    response = await client.delete(f"/v1/admin/api-keys/{keys[0]['id']}", headers=bearer(admin_key))
    assert response.status_code == 204
    body = assert_401(await client.get("/v1/me", headers=bearer(key)))
    assert body["detail"] == INVALID_KEY


async def test_every_bad_key_gets_the_same_401(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Revoked, expired, never issued and malformed keys are indistinguishable to the caller
    (status, body apart from nothing, challenge); only the log says which it was."""
    admin_key = world.admin[1]
    org, revoked = world.municipality
    listed = await client.get(
        f"/v1/admin/organizations/{org.id}/api-keys", headers=bearer(admin_key)
    )
    key_id = listed.json()[0]["id"]
    gone = await client.delete(f"/v1/admin/api-keys/{key_id}", headers=bearer(admin_key))
    assert gone.status_code == 204
    never = "lm_0123abcd_" + "Q" * 43
    caplog.set_level(logging.INFO, logger="landmarket.auth.service")
    answers = [
        await client.get("/v1/me", headers=bearer(k))
        for k in (revoked, never, revoked[:-4] + "AAAA", "lm_nothex!_" + "Q" * 43)
    ]
    bodies = [assert_401(a) for a in answers]
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0]["detail"] == INVALID_KEY
    assert {a.headers["www-authenticate"] for a in answers} == {
        answers[0].headers["www-authenticate"]
    }
    assert "revoked" not in answers[0].text.lower()
    logged = caplog.text
    assert "revoked" in logged and "unknown" in logged and "malformed" in logged
    assert revoked not in logged and never not in logged


@pytest.mark.parametrize("kind", ["municipality", "company", "agency"])
async def test_non_admin_keys_get_403_on_admin_endpoints(
    client: httpx.AsyncClient, world: World, kind: str
) -> None:
    org, key = getattr(world, kind)
    some_id = world.admin[0].id
    calls = [
        client.get("/v1/admin/organizations", headers=bearer(key)),
        client.get(f"/v1/admin/organizations/{some_id}", headers=bearer(key)),
        client.post(
            "/v1/admin/organizations", headers=bearer(key), json={"kind": "admin", "name": "X"}
        ),
        client.post(
            f"/v1/admin/organizations/{org.id}/api-keys", headers=bearer(key), json={"name": "x"}
        ),
        client.get(f"/v1/admin/organizations/{org.id}/api-keys", headers=bearer(key)),
        client.delete(f"/v1/admin/api-keys/{some_id}", headers=bearer(key)),
    ]
    for call in calls:
        assert_problem(await call, 403)


async def test_admin_endpoints_without_key_are_401(client: httpx.AsyncClient) -> None:
    assert_401(await client.get("/v1/admin/organizations"))
    assert_401(await client.post("/v1/admin/organizations", json={"kind": "admin", "name": "X"}))
    # Authentication comes before body validation: no schema hints for anonymous callers.
    assert_401(await client.post("/v1/admin/organizations", json={"kind": "nope"}))


async def test_last_used_at_is_set_and_not_rewritten_every_request(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    org, key = world.agency
    # Captured up front: the rollbacks below expire the ORM objects.
    org_id = org.id
    query = select(ApiKey.last_used_at).where(ApiKey.organization_id == org_id)
    assert await session.scalar(query) is None
    await session.rollback()

    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    first = await session.scalar(query)
    await session.rollback()
    assert first is not None
    assert abs(datetime.now(UTC) - first) < timedelta(minutes=1)

    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    assert await session.scalar(query) == first
    await session.rollback()

    # Once the stored value is older than the interval, the next request refreshes it.
    stale = first - timedelta(minutes=5)
    await session.execute(
        update(ApiKey).where(ApiKey.organization_id == org_id).values(last_used_at=stale)
    )
    await session.commit()
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    refreshed = await session.scalar(query)
    assert refreshed is not None and refreshed > stale + timedelta(minutes=4)
