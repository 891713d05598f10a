"""A small world: two municipalities, a region, and one organisation with a key per kind."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.auth.models import Organization
from tests.factories import make_municipality, make_org_with_key, make_region
from tests.helpers import PROBLEM, assert_problem, bearer, count, pointers

__all__ = ["PROBLEM", "assert_problem", "bearer", "count", "pointers"]

FRANKFURT, OFFENBACH = "06412000", "06413000"


@dataclass
class World:
    admin: tuple[Organization, str]
    municipality: tuple[Organization, str]
    company: tuple[Organization, str]
    agency: tuple[Organization, str]


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
