"""A small world for requirement and matching tests, and helpers to put plots in it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.factories import make_municipality, make_org_with_key, make_region

# The strict problem checks of tests.helpers, re-exported for the matching/requirements tests.
from tests.helpers import assert_problem as assert_problem
from tests.helpers import pointers as pointers

FRANKFURT, OFFENBACH, DARMSTADT = "06412000", "06413000", "06411000"
# 1 km squares in EPSG:25832, 2 km apart.
ORIGIN = {
    FRANKFURT: (470_000.0, 5_540_000.0),
    OFFENBACH: (472_000.0, 5_540_000.0),
    DARMSTADT: (474_000.0, 5_540_000.0),
}


def square_wkt(x0: float, y0: float, side: float) -> str:
    x1, y1 = x0 + side, y0 + side
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class World:
    admin: str
    frankfurt: str  # municipality key for FRANKFURT
    offenbach: str  # municipality key for OFFENBACH
    company: str  # Acme GmbH, based in OFFENBACH
    company_id: uuid.UUID
    other_company: str  # based in FRANKFURT
    agency: str


async def make_world(session: AsyncSession) -> World:
    for ags, name in ((FRANKFURT, "Frankfurt am Main"), (OFFENBACH, "Offenbach am Main")):
        await make_municipality(session, ags, name, square_wkt(*ORIGIN[ags], 1000), kind="Stadt")
    await make_municipality(session, DARMSTADT, "Darmstadt", square_wkt(*ORIGIN[DARMSTADT], 1000))
    await make_region(session, "frm", "FrankfurtRheinMain", [FRANKFURT, OFFENBACH])
    company, company_key = await make_org_with_key(
        session, "company", "Acme GmbH", home_ags=OFFENBACH
    )
    return World(
        admin=(await make_org_with_key(session, "admin", "Ops"))[1],
        frankfurt=(
            await make_org_with_key(session, "municipality", "Stadt Frankfurt", ags=[FRANKFURT])
        )[1],
        offenbach=(
            await make_org_with_key(session, "municipality", "Stadt Offenbach", ags=[OFFENBACH])
        )[1],
        company=company_key,
        company_id=company.id,
        other_company=(await make_org_with_key(session, "company", "Other AG", home_ags=FRANKFURT))[
            1
        ],
        agency=(await make_org_with_key(session, "agency", "Regionalverband", regions=["frm"]))[1],
    )


async def lonlat(session: AsyncSession, x: float, y: float) -> list[float]:
    """A point from EPSG:25832 to lon/lat, projected in PostGIS."""
    out = await session.scalar(
        select(
            func.ST_AsGeoJSON(
                func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(x, y), 25832), 4326), 9
            )
        )
    )
    assert isinstance(out, str)
    coords: list[float] = json.loads(out)["coordinates"]
    return coords


async def lonlat_ring(
    session: AsyncSession, x: float, y: float, *, side: float
) -> list[list[float]]:
    """A square ring with its lower left corner at (x, y) in EPSG:25832, in lon/lat."""
    box = await lonlat_box(session, x, y, x + side, y + side)
    ring: list[list[float]] = box["coordinates"][0]
    return ring


async def lonlat_box(
    session: AsyncSession, x0: float, y0: float, x1: float, y1: float
) -> dict[str, Any]:
    """A box from EPSG:25832 as a GeoJSON Polygon in lon/lat."""
    out = await session.scalar(
        select(
            func.ST_AsGeoJSON(
                func.ST_Transform(func.ST_MakeEnvelope(x0, y0, x1, y1, 25832), 4326), 9
            )
        )
    )
    assert isinstance(out, str)
    geometry: dict[str, Any] = json.loads(out)
    return geometry


async def insert_plot(
    session: AsyncSession,
    ags: str,
    *,
    x: float,
    y: float,
    side: float = 100.0,
    external_id: str | None = None,
    **props: Any,
) -> uuid.UUID:
    """A square plot with its lower left corner at (x, y) in EPSG:25832, committed.
    Defaults: published GE brownfield."""
    values: dict[str, Any] = {
        "municipality_ags": ags,
        "external_id": external_id or uuid.uuid4().hex,
        "title": "Plot",
        "status": "published",
        "zoning": "GE",
        "category": "brownfield",
        "geom": func.ST_Multi(func.ST_MakeEnvelope(x, y, x + side, y + side, 25832)),
    }
    values.update(props)
    plot_id = await session.scalar(insert(Plot).values(**values).returning(Plot.id))
    await session.commit()
    assert plot_id is not None
    return plot_id


def requirement_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Assembly hall",
        "area_min_m2": 5_000,
        "area_max_m2": 20_000,
        "emission_class": "not_substantially_annoying",
        "tenure": "either",
    }
    body.update(overrides)
    return body


async def post_requirement(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/requirements", json=requirement_body(**overrides), headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def matches(
    client: httpx.AsyncClient, key: str, requirement_id: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/requirements/{requirement_id}/matches", headers=bearer(key), params=params
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
