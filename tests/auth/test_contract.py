"""The documented OrganizationCreate schema states the kind rules the service enforces: for
every kind and every combination of kind-specific fields, the schema accepts a body exactly
when the API creates the organisation."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import httpx
import jsonschema_rs

from landmarket.auth.models import OrgKind
from landmarket.auth.schemas import OrganizationCreate
from tests.auth.conftest import FRANKFURT, OFFENBACH, World, assert_problem, bearer, pointers

FIELDS: dict[str, Any] = {
    "ags": [FRANKFURT],
    "home_ags": OFFENBACH,
    "regions": ["frm"],
    "sector_nace": "C25",
}
UNSET: dict[str, Any] = {"ags": [], "home_ags": None, "regions": None, "sector_nace": None}


async def test_schema_and_service_agree_on_kind_fields(
    client: httpx.AsyncClient, world: World
) -> None:
    schema = jsonschema_rs.validator_for(OrganizationCreate.model_json_schema())
    admin = bearer(world.admin[1])
    for kind in OrgKind:
        for n in range(len(FIELDS) + 1):
            for chosen in combinations(FIELDS, n):
                body = {"kind": kind.value, "name": f"{kind} {chosen}"}
                body |= {f: FIELDS[f] for f in chosen}
                # Sending "none" explicitly (null or []) is the same as leaving it out.
                body |= {f: v for f, v in UNSET.items() if f not in chosen}
                response = await client.post("/v1/admin/organizations", json=body, headers=admin)
                assert response.status_code in (201, 422), response.text
                assert schema.is_valid(body) == (response.status_code == 201), (body, response.text)


async def test_expiry_only_as_rfc3339_date_time(client: httpx.AsyncClient, world: World) -> None:
    # Pydantic alone also read 0 as 1970 and dropped a missing `:ss` (found by fuzzing).
    org_id = world.municipality[0].id
    url = f"/v1/admin/organizations/{org_id}/api-keys"
    admin = bearer(world.admin[1])
    for bad in (0, 1_900_000_000, "2031-01-01T00:00Z", "2031-01-01", "31.01.2031"):
        response = await client.post(url, json={"name": "k", "expires_at": bad}, headers=admin)
        assert pointers(assert_problem(response, 422)) == ["/body/expires_at"], bad
    for good in ("2031-01-01T00:00:00Z", "2031-01-01T00:00:00.5+01:00"):
        response = await client.post(url, json={"name": "k", "expires_at": good}, headers=admin)
        assert response.status_code == 201, response.text
