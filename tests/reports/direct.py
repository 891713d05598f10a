"""Report figures recomputed directly from the rows, in Python, to check the SQL against."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.matching.models import Match
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement

SUPPLY = {"published", "reserved", "under_negotiation"}


async def supply_plots(session: AsyncSession, ags: set[str] | None) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Plot, Municipality.district_ags, Municipality.name).join(
            Municipality, Municipality.ags == Plot.municipality_ags
        )
    )
    out = []
    for plot, district, name in rows:
        if plot.status.value not in SUPPLY or (
            ags is not None and plot.municipality_ags not in ags
        ):
            continue
        out.append(
            {
                "municipality": (plot.municipality_ags, name),
                "district": (district,),
                "zoning": (plot.zoning.value if plot.zoning else None,),
                "category": (plot.category.value if plot.category else None,),
                "status": (plot.status.value,),
                "ownership": (plot.ownership.value if plot.ownership else None,),
                "plot": plot,
            }
        )
    return out


def supply_figures(plots: Iterable[dict[str, Any]], today: date) -> dict[str, Any]:
    ps = [p["plot"] for p in plots]

    def area(keep: Callable[[Any], bool]) -> float:
        return sum(p.area_m2 for p in ps if keep(p)) / 10_000

    def available(day: date) -> Callable[[Any], bool]:
        return lambda p: (
            p.status.value == "published" and (p.available_from is None or p.available_from <= day)
        )

    prices = [p.price_eur_per_m2 for p in ps if p.price_eur_per_m2 is not None]
    return {
        "plots": len(ps),
        "area_ha": area(lambda p: True),
        "brownfield_vacant_area_ha": area(
            lambda p: (
                p.category is not None and p.category.value in ("brownfield", "vacant_building")
            )
        ),
        "available_now_area_ha": area(available(today)),
        "available_12_months_area_ha": area(available(today.replace(year=today.year + 1))),
        "median_price_eur_per_m2": statistics.median(prices) if prices else None,
        "fibre_share": sum(p.fibre_available for p in ps) / len(ps),
        "transit_500m_share": sum((p.transit_stop_distance_m or 10**9) <= 500 for p in ps)
        / len(ps),
    }


def group(rows: Iterable[dict[str, Any]], key: str) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out


def size_class(area_min: float) -> str:
    for label, lower in (
        (">=50k", 50_000),
        ("10k-50k", 10_000),
        ("5k-10k", 5_000),
        ("1k-5k", 1_000),
    ):
        if area_min >= lower:
            return label
    return "<1k"


async def open_requirements(session: AsyncSession, ags: set[str] | None) -> list[dict[str, Any]]:
    matched_in: dict[Any, set[str]] = defaultdict(set)
    for rid, plot_ags in await session.execute(
        select(Match.requirement_id, Plot.municipality_ags)
        .join(Plot, Plot.id == Match.plot_id)
        .where(~Match.stale)
    ):
        matched_in[rid].add(plot_ags)
    names = dict((await session.execute(select(Municipality.ags, Municipality.name))).all())
    out = []
    for r in await session.scalars(select(Requirement)):
        if r.status.value != "open":
            continue
        if ags is not None and r.home_ags not in ags and not (matched_in[r.id] & ags):
            continue
        sector = r.sector_nace
        digits = "".join(ch for ch in (sector or "") if ch.isdigit())[:2]
        out.append(
            {
                "size_class": (size_class(r.area_min_m2),),
                "emission_class": (r.emission_class.value,),
                "sector": (digits or sector,),
                "home_municipality": (r.home_ags, names.get(r.home_ags)),
                "req": r,
                "matched": bool(matched_in[r.id]),
            }
        )
    return out


def demand_figures(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rs = [r["req"] for r in rows]
    return {
        "requirements": len(rs),
        "companies": len({r.company_id for r in rs}),
        "area_min_ha": sum(r.area_min_m2 for r in rs) / 10_000,
        "area_max_ha": sum(r.area_max_m2 for r in rs) / 10_000,
        "jobs": sum(r.jobs or 0 for r in rs),
    }
