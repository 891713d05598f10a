"""Admin endpoints: organisations of every kind, validation that writes nothing, API keys."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import (
    ApiKey,
    Organization,
    organization_municipalities,
    organization_regions,
)
from tests.auth.conftest import (
    FRANKFURT,
    OFFENBACH,
    World,
    assert_problem,
    bearer,
    count,
    pointers,
)

ORGS = "/v1/admin/organizations"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"kind": "municipality", "name": "Stadt Offenbach", "ags": [OFFENBACH, OFFENBACH]},
            {"ags": [OFFENBACH], "regions": [], "home_ags": None},
        ),
        (
            {"kind": "company", "name": "Beta AG", "home_ags": FRANKFURT, "sector_nace": "C25.62"},
            {"ags": [], "regions": [], "home_ags": FRANKFURT, "sector_nace": "C25.62"},
        ),
        (
            {"kind": "agency", "name": "Wirtschaftsförderung", "regions": ["frm"]},
            {"ags": [], "regions": ["frm"], "home_ags": None},
        ),
        ({"kind": "admin", "name": "  Second ops  "}, {"name": "Second ops", "ags": []}),
        (
            {"kind": "admin", "name": "Third", "ags": [], "regions": [], "home_ags": None},
            {"ags": [], "regions": [], "home_ags": None},
        ),
    ],
)
async def test_admin_creates_each_kind(
    client: httpx.AsyncClient, world: World, payload: dict[str, Any], expected: dict[str, Any]
) -> None:
    admin_key = world.admin[1]
    response = await client.post(ORGS, json=payload, headers=bearer(admin_key))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == payload["kind"]
    assert {k: body[k] for k in expected} == expected
    assert response.headers["location"] == f"{ORGS}/{body['id']}"

    fetched = await client.get(f"{ORGS}/{body['id']}", headers=bearer(admin_key))
    assert fetched.status_code == 200
    assert fetched.json() == body


BAD_ORGS = [
    ({"kind": "municipality", "name": "M"}, ["/body/ags"]),
    ({"kind": "municipality", "name": "M", "ags": []}, ["/body/ags"]),
    ({"kind": "municipality", "name": "M", "ags": [FRANKFURT, "0641200"]}, ["/body/ags/1"]),
    ({"kind": "municipality", "name": "M", "ags": [FRANKFURT, "09999999"]}, ["/body/ags/1"]),
    (
        {"kind": "municipality", "name": "M", "ags": [FRANKFURT], "home_ags": FRANKFURT},
        ["/body/home_ags"],
    ),
    ({"kind": "company", "name": "C"}, ["/body/home_ags"]),
    ({"kind": "company", "name": "C", "home_ags": "09999999"}, ["/body/home_ags"]),
    (
        {"kind": "company", "name": "C", "home_ags": FRANKFURT, "regions": ["frm"]},
        ["/body/regions"],
    ),
    (
        {"kind": "company", "name": "C", "home_ags": FRANKFURT, "sector_nace": "x"},
        ["/body/sector_nace"],
    ),
    ({"kind": "agency", "name": "A"}, ["/body/regions"]),
    ({"kind": "agency", "name": "A", "regions": ["frm", "nowhere"]}, ["/body/regions/1"]),
    ({"kind": "agency", "name": "A", "regions": ["Not A Slug"]}, ["/body/regions/0"]),
    ({"kind": "agency", "name": "A", "regions": ["frm"], "ags": [FRANKFURT]}, ["/body/ags"]),
    ({"kind": "admin", "name": "X", "sector_nace": "C"}, ["/body/sector_nace"]),
    ({"kind": "admin", "name": "   "}, ["/body/name"]),
    ({"kind": "admin", "name": "x" * 201}, ["/body/name"]),
    ({"kind": "emperor", "name": "X"}, ["/body/kind"]),
    ({"name": "X"}, ["/body/kind"]),
    ({"kind": "admin", "name": "X", "colour": "red"}, ["/body/colour"]),
]


@pytest.mark.parametrize(("payload", "expected"), BAD_ORGS)
async def test_bad_organization_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    payload: dict[str, Any],
    expected: list[str],
) -> None:
    tables = (Organization, ApiKey, organization_municipalities, organization_regions)
    before = [await count(session, t) for t in tables]
    response = await client.post(ORGS, json=payload, headers=bearer(world.admin[1]))
    body = assert_problem(response, 422)
    assert pointers(body) == expected
    assert [await count(session, t) for t in tables] == before


async def test_malformed_body_is_422(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        ORGS,
        content=b"{not json",
        headers={**bearer(world.admin[1]), "Content-Type": "application/json"},
    )
    assert_problem(response, 422)


async def test_list_organizations_paginates_and_filters(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = bearer(world.admin[1])
    for i in range(3):
        response = await client.post(ORGS, json={"kind": "admin", "name": f"A{i}"}, headers=admin)
        assert response.status_code == 201

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(ORGS, params=params, headers=admin)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7  # the four of the world plus three

    admins = (await client.get(ORGS, params={"kind": "admin"}, headers=admin)).json()
    assert [o["name"] for o in admins["items"]] == ["Ops", "A0", "A1", "A2"]
    assert admins["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"kind": "emperor"}, "/query/kind"),
        ({"limit": 0}, "/query/limit"),
        ({"limit": 100_000}, "/query/limit"),
        ({"cursor": "garbage!"}, "/query/cursor"),
        ({"cursor": "WyJ4IiwieSJd"}, "/query/cursor"),  # ["x","y"]: right shape, wrong values
    ],
)
async def test_list_organizations_bad_query_is_422(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], pointer: str
) -> None:
    response = await client.get(ORGS, params=params, headers=bearer(world.admin[1]))
    assert pointers(assert_problem(response, 422)) == [pointer]


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, world: World) -> None:
    admin = bearer(world.admin[1])
    unknown = uuid.uuid4()
    assert_problem(await client.get(f"{ORGS}/{unknown}", headers=admin), 404)
    assert_problem(await client.get(f"{ORGS}/{unknown}/api-keys", headers=admin), 404)
    assert_problem(
        await client.post(f"{ORGS}/{unknown}/api-keys", json={"name": "k"}, headers=admin), 404
    )
    assert_problem(await client.delete(f"/v1/admin/api-keys/{unknown}", headers=admin), 404)
    body = assert_problem(await client.get(f"{ORGS}/not-a-uuid", headers=admin), 422)
    assert pointers(body) == ["/path/org_id"]
    body = assert_problem(await client.delete("/v1/admin/api-keys/nope", headers=admin), 422)
    assert pointers(body) == ["/path/key_id"]


async def test_api_key_lifecycle_and_secret_never_stored_or_listed(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    admin = bearer(world.admin[1])
    org = world.company[0]
    org_id = org.id
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = await client.post(
        f"{ORGS}/{org_id}/api-keys", json={"name": "frontend", "expires_at": expires}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    secret = created["key"]
    assert secret.startswith(created["prefix"] + "_")
    assert created["name"] == "frontend"
    assert datetime.fromisoformat(created["expires_at"]) == datetime.fromisoformat(expires)
    assert created["organization_id"] == str(org_id)

    # Only the digest is stored; no column holds the secret or its random part.
    row = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
    assert row is not None
    assert row.key_hash == hashlib.sha256(secret.encode()).digest()
    stored = " ".join(str(getattr(row, c.key)) for c in ApiKey.__table__.columns)
    assert secret not in stored and secret.split("_", 2)[2] not in stored
    await session.rollback()

    # The new key works.
    assert (await client.get("/v1/me", headers=bearer(secret))).status_code == 200

    listed = await client.get(f"{ORGS}/{org_id}/api-keys", headers=admin)
    assert listed.status_code == 200
    assert secret not in listed.text and "key_hash" not in listed.text
    assert all("key" not in item for item in listed.json())
    assert {item["prefix"] for item in listed.json()} >= {created["prefix"]}

    # Revoking is idempotent and keeps the first revocation time.
    first = await client.delete(f"/v1/admin/api-keys/{created['id']}", headers=admin)
    assert first.status_code == 204 and first.content == b""
    revoked_at = next(
        k["revoked_at"]
        for k in (await client.get(f"{ORGS}/{org_id}/api-keys", headers=admin)).json()
        if k["id"] == created["id"]
    )
    assert revoked_at is not None
    again = await client.delete(f"/v1/admin/api-keys/{created['id']}", headers=admin)
    assert again.status_code == 204
    listed_again = (await client.get(f"{ORGS}/{org_id}/api-keys", headers=admin)).json()
    assert next(k for k in listed_again if k["id"] == created["id"])["revoked_at"] == revoked_at
    assert (await client.get("/v1/me", headers=bearer(secret))).status_code == 401
    # The organisation's other key is untouched.
    assert (await client.get("/v1/me", headers=bearer(world.company[1]))).status_code == 200


@pytest.mark.parametrize(
    ("payload", "pointer"),
    [
        ({}, "/body/name"),
        ({"name": ""}, "/body/name"),
        ({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "/body/expires_at"),
        ({"name": "k", "expires_at": "2999-01-01T00:00:00"}, "/body/expires_at"),  # no zone
        ({"name": "k", "key": "lm_chosen"}, "/body/key"),
    ],
)
async def test_bad_api_key_request_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    payload: dict[str, Any],
    pointer: str,
) -> None:
    before = await count(session, ApiKey)
    org_id = world.company[0].id
    response = await client.post(
        f"{ORGS}/{org_id}/api-keys", json=payload, headers=bearer(world.admin[1])
    )
    assert pointers(assert_problem(response, 422)) == [pointer]
    assert await count(session, ApiKey) == before


async def test_openapi_documents_errors_and_bearer_scheme(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/admin/organizations/{org_id}/api-keys"]["post"]
    assert {"401", "403", "404", "422"} <= set(operation["responses"])
    assert operation["security"] == [{"ApiKey": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
