"""Plausible synthetic plots inside real municipality boundaries: demo data and benchmarks.

Deterministic for a seed: points come from PostGIS's seeded ``ST_GeneratePoints`` and the
properties from a seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, String, case, column, func, literal, select, values
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.municipalities.models import Municipality
from landmarket.plots.models import (
    Category,
    Contamination,
    Ownership,
    PlanningStatus,
    Servicing,
    Tenure,
    Zoning,
)

# Points keep this distance from the boundary so a plot of up to 2 x this side stays inside.
_INSET_M = 150.0
_TITLES = {
    Category.brownfield: "Ehemaliges Betriebsgelände",
    Category.vacant_building: "Leerstehende Gewerbehalle",
    Category.infill_gap: "Baulücke im Gewerbegebiet",
    Category.commercial_site: "Gewerbegrundstück",
    Category.greenfield_reserve: "Gewerbliche Reservefläche",
}


async def points_in(
    session: AsyncSession, municipalities: Sequence[str], count: int, seed: int
) -> list[tuple[str, float, float]]:
    """``count`` points (EPSG:25832) spread round-robin over ``municipalities``, each at least
    ``_INSET_M`` inside its boundary where the municipality is big enough for that."""
    per = {ags: count // len(municipalities) for ags in municipalities}
    for ags in municipalities[: count % len(municipalities)]:
        per[ags] += 1
    wanted = values(column("ags", String), column("n", Integer), name="wanted").data(
        [(a, n) for a, n in per.items() if n]
    )
    inset = func.ST_Buffer(Municipality.boundary, -_INSET_M)
    area = case((func.ST_IsEmpty(inset), Municipality.boundary), else_=inset)
    points = (
        select(
            Municipality.ags,
            func.ST_Dump(func.ST_GeneratePoints(area, wanted.c.n, literal(seed))).geom.label("p"),
        )
        .join(wanted, wanted.c.ags == Municipality.ags)
        .subquery()
    )
    stmt = select(
        points.c.ags,
        func.ST_X(points.c.p, type_=Float).label("x"),
        func.ST_Y(points.c.p, type_=Float).label("y"),
    ).order_by(points.c.ags, func.ST_X(points.c.p), func.ST_Y(points.c.p))
    rows = (await session.execute(stmt)).all()
    return [(str(r.ags), float(r.x), float(r.y)) for r in rows]


def square(x: float, y: float, side: float) -> list[list[float]]:
    h = side / 2
    return [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]]


def plot_properties(i: int, rng: random.Random, *, prefix: str) -> dict[str, Any]:
    category = rng.choice(list(Category))
    zoning = rng.choices(list(Zoning), weights=[2, 3, 1, 6, 3, 1, 2, 1])[0]
    tenure = rng.choice(list(Tenure))
    fibre = rng.random() < 0.6
    props: dict[str, Any] = {
        "external_id": f"{prefix}-{i:05d}",
        "title": f"{_TITLES[category]} {i}",
        "category": category.value,
        "zoning": zoning.value,
        "planning_status": rng.choice(list(PlanningStatus)).value,
        "contamination": (
            rng.choice(list(Contamination)).value
            if category is Category.brownfield
            else Contamination.none.value
        ),
        "servicing": rng.choice(list(Servicing)).value,
        "fibre_available": fibre,
        "broadband_mbps": rng.choice([1000, 500]) if fibre else rng.choice([16, 50, 100, 250]),
        "transit_stop_distance_m": rng.randrange(80, 2500, 10),
        "motorway_distance_km": round(rng.uniform(0.3, 18.0), 1),
        "rail_siding": rng.random() < 0.1,
        "tenure": tenure.value,
        "ownership": rng.choice(list(Ownership)).value,
        "divisible": rng.random() < 0.3,
        "parcel_ids": [f"06{rng.randrange(1000, 9999)}0{rng.randrange(10, 99)}00{i:04d}"],
        "status": "published" if rng.random() < 0.85 else "draft",
    }
    if tenure is not Tenure.lease:
        props["price_eur_per_m2"] = round(rng.uniform(45, 420), 2)
    if tenure is not Tenure.sale:
        props["rent_eur_per_m2_month"] = round(rng.uniform(2.5, 14.0), 2)
    if zoning in (Zoning.GE, Zoning.GI):
        props["emission_quota_db"] = float(rng.choice([55, 60, 65]))
    return props


def plot_features(
    points: Sequence[tuple[str, float, float]], seed: int, *, prefix: str = "plot"
) -> list[dict[str, Any]]:
    """GeoJSON Features in EPSG:25832: squares of 30-280 m side around the points."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    features = []
    for i, (ags, x, y) in enumerate(points):
        props = plot_properties(i, rng, prefix=prefix) | {"municipality_ags": ags}
        side = rng.uniform(30, 2 * _INSET_M - 20)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [square(x, y, side)]},
                "properties": props,
            }
        )
    return features
