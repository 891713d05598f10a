"""A small OGC world: three municipalities and a grid of plots with varied properties,
written straight to the database in EPSG:25832 so stored coordinates are known exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.plots.models import Plot
from tests.factories import make_municipality

FRANKFURT, OFFENBACH, DARMSTADT = "06412000", "06413000", "06411000"
ORIGIN = {FRANKFURT: (470_000, 5_540_000), OFFENBACH: (472_000, 5_540_000)}
ORIGIN[DARMSTADT] = (474_000, 5_540_000)
ZONINGS = ["GE", "GI", "MI", "MU", None]
CATEGORIES = ["brownfield", "infill_gap", "commercial_site", None]
STATUSES = ["published"] * 4 + ["draft", "reserved"]


def square_wkt(x0: float, y0: float, side: float) -> str:
    x1, y1 = x0 + side, y0 + side
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


@dataclass
class OgcWorld:
    rows: list[dict[str, object]]

    @property
    def published(self) -> list[dict[str, object]]:
        return [r for r in self.rows if r["status"] == "published"]


@pytest.fixture
async def ogc_world(session: AsyncSession) -> OgcWorld:
    for ags, name in ((FRANKFURT, "Frankfurt am Main"), (OFFENBACH, "Offenbach am Main")):
        await make_municipality(session, ags, name, square_wkt(*ORIGIN[ags], 1000), kind="Stadt")
    await make_municipality(session, DARMSTADT, "Darmstadt", square_wkt(*ORIGIN[DARMSTADT], 1000))
    rng = random.Random(6)
    rows: list[dict[str, object]] = []
    base_time = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(36):
        ags = (FRANKFURT, OFFENBACH, DARMSTADT)[i % 3]
        x0, y0 = ORIGIN[ags]
        # Sub-centimetre offsets so the coordinate round trip is tested with real decimals.
        x = x0 + 50 + (i // 3 % 4) * 220 + 0.123
        y = y0 + 50 + (i // 12) * 300 + 0.456
        row: dict[str, object] = {
            "municipality_ags": ags,
            "external_id": f"p-{i:03d}",
            "title": f"{'Hafen' if i % 4 == 0 else 'Gewerbe'} {i}",
            "description": None if i % 5 == 0 else f"Fläche Nr. {i}",
            "zoning": ZONINGS[i % len(ZONINGS)],
            "category": CATEGORIES[i % len(CATEGORIES)],
            "broadband_mbps": None if i % 7 == 0 else rng.choice([50, 100, 250, 1000]),
            "price_eur_per_m2": round(rng.uniform(50, 400), 2),
            "fibre_available": i % 2 == 0,
            "available_from": date(2026, 1, 1) + timedelta(days=10 * i),
            "status": STATUSES[i % len(STATUSES)],
            "contact": {"name": "Erika Mustermann", "email": "erika@example.org"},
            "parcel_ids": [f"0600{i}"],
            "updated_at": base_time + timedelta(days=i),
            "x": x,
            "y": y,
        }
        rows.append(row)
    values = [
        {
            **{k: v for k, v in r.items() if k not in ("x", "y")},
            "geom": func.ST_Multi(func.ST_GeomFromText(square_wkt(r["x"], r["y"], 120), 25832)),
        }
        for r in rows
    ]
    for v in values:
        await session.execute(insert(Plot).values(**v))
    await session.commit()
    return OgcWorld(rows)
