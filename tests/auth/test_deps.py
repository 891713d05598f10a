"""The dependency aliases other packages use, exercised on throwaway routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from landmarket.auth.deps import (
    AdminPrincipal,
    AgencyPrincipal,
    CompanyPrincipal,
    MunicipalityEditor,
    OptionalPrincipal,
    Principal,
)
from landmarket.auth.principal import AuthPrincipal
from tests.auth.conftest import FRANKFURT, World, assert_problem, bearer

KINDS = ("admin", "municipality", "company", "agency")


@pytest.fixture
async def probe(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    def describe(p: AuthPrincipal | None) -> dict[str, object]:
        return {
            "kind": p.kind.value if p else None,
            "may_edit": p.may_edit(FRANKFURT) if p else None,
        }

    async def anyone(p: Principal) -> dict[str, object]:
        return describe(p)

    async def optional(p: OptionalPrincipal) -> dict[str, object]:
        return describe(p)

    async def admin(p: AdminPrincipal) -> dict[str, object]:
        return describe(p)

    async def municipality(p: MunicipalityEditor) -> dict[str, object]:
        return describe(p)

    async def company(p: CompanyPrincipal) -> dict[str, object]:
        return describe(p)

    async def agency(p: AgencyPrincipal) -> dict[str, object]:
        return describe(p)

    handlers = [anyone, optional, admin, municipality, company, agency]
    for handler in handlers:
        app.add_api_route(f"/_test/{handler.__name__}", handler, include_in_schema=False)
    try:
        yield client
    finally:
        del app.router.routes[-len(handlers) :]


async def test_role_aliases_admit_only_their_kind(probe: httpx.AsyncClient, world: World) -> None:
    for kind in KINDS:
        key = getattr(world, kind)[1]
        for guarded in KINDS:
            response = await probe.get(f"/_test/{guarded}", headers=bearer(key))
            if guarded == kind:
                assert response.status_code == 200, response.text
                assert response.json()["kind"] == kind
            else:
                assert_problem(response, 403)
        anyone = await probe.get("/_test/anyone", headers=bearer(key))
        assert anyone.json() == {"kind": kind, "may_edit": kind == "municipality"}


async def test_optional_principal(probe: httpx.AsyncClient, world: World) -> None:
    anonymous = await probe.get("/_test/optional")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"kind": None, "may_edit": None}
    known = await probe.get("/_test/optional", headers=bearer(world.company[1]))
    assert known.json()["kind"] == "company"
    # A client that sends a bad key is told so rather than silently served as anonymous.
    bad = await probe.get("/_test/optional", headers={"Authorization": "Bearer nope"})
    assert_problem(bad, 401)
    assert_problem(await probe.get("/_test/anyone"), 401)
