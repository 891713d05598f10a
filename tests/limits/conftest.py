"""A municipality with a key per organisation kind, for the limit tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_municipality, make_org_with_key, make_region

FRANKFURT = "06412000"
# The lower left corner of the municipality's 1 km square in EPSG:25832, as placed by
# tests.factories.default_square.
_CELL = int(FRANKFURT[2:]) % 2500
X0, Y0 = 470_000 + (_CELL % 50) * 2000, 5_540_000 + (_CELL // 50) * 2000
UTM = {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/25832>"}


@dataclass
class Keys:
    admin: str
    municipality: str
    company: str
    agency: str


@pytest.fixture
async def keys(session: AsyncSession) -> Keys:
    await make_municipality(session, FRANKFURT, "Frankfurt am Main")
    await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT])
    return Keys(
        admin=(await make_org_with_key(session, "admin", "Ops"))[1],
        municipality=(
            await make_org_with_key(session, "municipality", "Stadt Frankfurt", ags=[FRANKFURT])
        )[1],
        company=(await make_org_with_key(session, "company", "Acme", home_ags=FRANKFURT))[1],
        agency=(await make_org_with_key(session, "agency", "Verband", regions=["frm"]))[1],
    )


def ring(dx: float = 100, side: float = 100) -> list[list[float]]:
    """A closed square ring (5 positions) inside Frankfurt, in EPSG:25832."""
    x, y = X0 + dx, Y0 + 100
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def plot_feature(
    external_id: str, coordinates: list[list[float]] | None = None
) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [coordinates or ring()]},
        "properties": {
            "external_id": external_id,
            "title": f"Plot {external_id}",
            "category": "brownfield",
            "zoning": "GE",
            "municipality_ags": FRANKFURT,
        },
    }
