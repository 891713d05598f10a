"""A small world for plot tests: two municipalities 2 km apart, a region, a key per role."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from tests.factories import make_municipality, make_org_with_key, make_region
from tests.helpers import PROBLEM, assert_problem, bearer, count, pointers

__all__ = ["PROBLEM", "assert_problem", "bearer", "count", "pointers"]

UTM = "<http://www.opengis.net/def/crs/EPSG/0/25832>"
UTM_URI = "http://www.opengis.net/def/crs/EPSG/0/25832"
MERCATOR_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
FRANKFURT, OFFENBACH, DARMSTADT = "06412000", "06413000", "06411000"
# Municipality squares in EPSG:25832, 1 km wide (FRANKFURT at x 470-471 km, OFFENBACH 2 km east,
# DARMSTADT 4 km east).
ORIGIN = {FRANKFURT: (470_000, 5_540_000), OFFENBACH: (472_000, 5_540_000)}
ORIGIN[DARMSTADT] = (474_000, 5_540_000)


def square_wkt(x0: float, y0: float, side: float) -> str:
    x1, y1 = x0 + side, y0 + side
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def ring_25832(ags: str, dx: float = 100, dy: float = 100, side: float = 100) -> list[list[float]]:
    """A square plot inside the municipality, in EPSG:25832 (metres)."""
    x0, y0 = ORIGIN[ags]
    x, y = x0 + dx, y0 + dy
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


@dataclass
class World:
    admin: str
    frankfurt: str  # municipality key for FRANKFURT only
    offenbach: str  # municipality key for OFFENBACH only
    both: str  # municipality key for FRANKFURT and OFFENBACH
    company: str
    agency: str


async def table_hash(session: AsyncSession) -> str:
    """A digest of every plot and event row, to show a refused request changed nothing."""
    await session.rollback()
    rows = await session.execute(
        text(
            "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM "
            "(SELECT p.*::text AS t FROM plots p UNION ALL SELECT e.*::text FROM events e) s"
        )
    )
    return hashlib.sha256(str(rows.scalar()).encode()).hexdigest()


async def to_lonlat(session: AsyncSession, ring: list[list[float]]) -> list[list[float]]:
    """Project a ring from EPSG:25832 to lon/lat in PostGIS (the tests have no pyproj)."""
    geojson = json.dumps({"type": "Polygon", "coordinates": [ring]})
    out = await session.scalar(
        select(
            func.ST_AsGeoJSON(
                func.ST_Transform(func.ST_SetSRID(func.ST_GeomFromGeoJSON(geojson), 25832), 4326),
                9,
            )
        )
    )
    assert isinstance(out, str)
    coords: list[list[float]] = json.loads(out)["coordinates"][0]
    coords[-1] = coords[0]
    return coords


async def feature(
    session: AsyncSession,
    ags: str,
    external_id: str = "plot-1",
    *,
    dx: float = 100,
    dy: float = 100,
    side: float = 100,
    with_ags: bool = True,
    **props: Any,
) -> dict[str, Any]:
    """A valid plot Feature in lon/lat inside municipality ``ags``."""
    properties: dict[str, Any] = {
        "external_id": external_id,
        "title": f"Plot {external_id}",
        "category": "brownfield",
        "zoning": "GE",
    }
    if with_ags:
        properties["municipality_ags"] = ags
    properties.update(props)
    ring = await to_lonlat(session, ring_25832(ags, dx, dy, side))
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }


async def create(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], **params: Any
) -> dict[str, Any]:
    response = await client.post("/v1/plots", json=body, headers=bearer(key), params=params)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def world(session: AsyncSession) -> World:
    for ags, name in ((FRANKFURT, "Frankfurt am Main"), (OFFENBACH, "Offenbach am Main")):
        await make_municipality(session, ags, name, square_wkt(*ORIGIN[ags], 1000), kind="Stadt")
    await make_municipality(session, DARMSTADT, "Darmstadt", square_wkt(*ORIGIN[DARMSTADT], 1000))
    await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT, OFFENBACH])
    return World(
        admin=(await make_org_with_key(session, "admin", "Ops"))[1],
        frankfurt=(
            await make_org_with_key(session, "municipality", "Stadt Frankfurt", ags=[FRANKFURT])
        )[1],
        offenbach=(
            await make_org_with_key(session, "municipality", "Stadt Offenbach", ags=[OFFENBACH])
        )[1],
        both=(
            await make_org_with_key(
                session, "municipality", "Planungsverband", ags=[FRANKFURT, OFFENBACH]
            )
        )[1],
        company=(await make_org_with_key(session, "company", "Acme GmbH", home_ags=OFFENBACH))[1],
        agency=(await make_org_with_key(session, "agency", "Regionalverband", regions=["frm"]))[1],
    )


__all__ = ["Event", "Plot"]
