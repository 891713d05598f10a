"""A small world: two municipalities, a region, and one organisation with a key per kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import Organization
from tests.factories import make_municipality, make_org_with_key, make_region

PROBLEM = "application/problem+json"
FRANKFURT, OFFENBACH = "06412000", "06413000"


@dataclass
class World:
    admin: tuple[Organization, str]
    municipality: tuple[Organization, str]
    company: tuple[Organization, str]
    agency: tuple[Organization, str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def pointers(body: dict[str, object]) -> list[str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return [e["pointer"] for e in errors]


async def count(session: AsyncSession, model: Any) -> int:
    # model: a mapped class or a Table.
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    await make_municipality(session, FRANKFURT, "Frankfurt am Main", kind="Stadt")
    await make_municipality(session, OFFENBACH, "Offenbach am Main", kind="Stadt")
    await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT, OFFENBACH])
    return World(
        admin=await make_org_with_key(session, "admin", "Ops"),
        municipality=await make_org_with_key(
            session, "municipality", "Stadt Frankfurt", ags=[FRANKFURT, OFFENBACH]
        ),
        company=await make_org_with_key(session, "company", "Acme GmbH", home_ags=OFFENBACH),
        agency=await make_org_with_key(session, "agency", "Regionalverband", regions=["frm"]),
    )
