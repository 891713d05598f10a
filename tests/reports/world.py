"""A region with plots, several companies' requirements and their matches, for reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.municipalities.models import Municipality
from tests.factories import make_org_with_key, make_region
from tests.matching.world import (
    DARMSTADT,
    FRANKFURT,
    OFFENBACH,
    ORIGIN,
    World,
    insert_plot,
    make_world,
    post_requirement,
)

__all__ = ["DARMSTADT", "FRANKFURT", "OFFENBACH", "ReportWorld", "make_report_world"]

# Every report and export endpoint (access and fuzz rules are checked on each).
REPORT_PATHS = (
    "/v1/reports/supply",
    "/v1/reports/demand",
    "/v1/reports/matching",
    "/v1/reports/unmet-demand",
    "/v1/reports/flows",
    "/v1/reports/timeseries",
    "/v1/reports/regional.pdf",
    "/v1/exports/plots",
    "/v1/exports/municipalities",
)


@dataclass
class ReportWorld:
    base: World
    other_agency: str  # agency of the region "south" (Darmstadt only)
    companies: list[str] = field(default_factory=list)  # keys; Offenbach, Frankfurt, ...
    requirements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def admin(self) -> str:
        return self.base.admin

    @property
    def agency(self) -> str:
        return self.base.agency


BKG_2021 = "© GeoBasis-DE / BKG 2021 (Daten verändert)"


async def make_report_world(
    session: AsyncSession, client: httpx.AsyncClient, *, companies: int = 4
) -> ReportWorld:
    base = await make_world(session)
    # The test boundaries stand in for an imported BKG set, which names its licence line.
    await session.execute(update(Municipality).values(attribution=BKG_2021))
    await session.commit()
    await make_region(session, "south", "Südhessen", [DARMSTADT])
    other = (await make_org_with_key(session, "agency", "Südagentur", regions=["south"]))[1]
    world = ReportWorld(base=base, other_agency=other)
    keys = [base.company, base.other_company]
    homes = [FRANKFURT, OFFENBACH, DARMSTADT]
    for i in range(len(keys), companies):
        keys.append(
            (await make_org_with_key(session, "company", f"Firma {i}", home_ags=homes[i % 3]))[1]
        )
    world.companies = keys[:companies]
    await _plots(session)
    for i, key in enumerate(world.companies):
        # Each company: one requirement that matches (GE, 5,000-20,000 m²) and one that
        # cannot: industrial zone GI only, which no plot has (sizes would fit).
        world.requirements.append(
            await post_requirement(
                client, key, area_min_m2=5_000 + i, jobs=10 + i, sector_nace="C28"
            )
        )
        world.requirements.append(
            await post_requirement(
                client,
                key,
                area_min_m2=800,
                area_max_m2=20_000 + i,
                emission_class="substantially_annoying",
                jobs=3,
                sector_nace=f"{62 + i % 2}",
            )
        )
    return world


async def _plots(session: AsyncSession) -> None:
    fx, fy = ORIGIN[FRANKFURT]
    ox, oy = ORIGIN[OFFENBACH]
    dx, dy = ORIGIN[DARMSTADT]
    await insert_plot(
        session,
        FRANKFURT,
        x=fx,
        y=fy,
        side=100,
        price_eur_per_m2=120,
        fibre_available=True,
        transit_stop_distance_m=300,
        ownership="municipal",
    )
    await insert_plot(
        session,
        FRANKFURT,
        x=fx + 300,
        y=fy,
        side=80,
        category="commercial_site",
        price_eur_per_m2=200,
        available_from=date(2099, 1, 1),
        ownership="private",
    )
    await insert_plot(session, FRANKFURT, x=fx, y=fy + 300, side=50, status="reserved", zoning="MI")
    await insert_plot(session, FRANKFURT, x=fx + 600, y=fy + 600, side=30, status="draft")
    await insert_plot(
        session,
        OFFENBACH,
        x=ox,
        y=oy,
        side=90,
        category="vacant_building",
        price_eur_per_m2=80,
        transit_stop_distance_m=900,
        ownership="municipal",
    )
    await insert_plot(session, DARMSTADT, x=dx, y=dy, side=120)
