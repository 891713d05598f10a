"""The regional PDF: the same (suppressed) report tables, drawn on a few pages."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.reports import exports, service
from landmarket.reports.scope import Scope

# Boundaries are drawn a few cm wide: 25 m of detail is plenty and keeps the PDF small.
SIMPLIFY_M = 25.0


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "suppressed"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}"


def _pct(value: Any) -> str:
    return "suppressed" if value is None else f"{100 * value:.0f} %"


async def regional_pdf(session: AsyncSession, scope: Scope, today: date) -> bytes:
    # matplotlib costs ~50 MB of memory: only processes that draw a PDF load it.
    from landmarket.reports.exporters.pdf_report import PdfInput, render_pdf

    supply = (await service.supply(session, scope, "municipality", today)).table("supply")
    demand = (await service.demand(session, scope, "size_class")).table("demand")
    matching = (await service.matching(session, scope)).table("matching").rows[0]
    flows = (await service.flows(session, scope)).table("flows")
    unmet = (await service.unmet_demand(session, scope)).table("unmet_by_rule")
    areas = await exports.municipalities_table(session, scope, "geojson", today, SIMPLIFY_M)
    s = supply.total or {}
    u = unmet.total or {}
    key_figures = [
        ("Plots on offer", _fmt(s.get("plots"))),
        ("Listed area", _fmt(s.get("area_ha"), " ha")),
        ("of which brownfield / vacant buildings", _fmt(s.get("brownfield_vacant_area_ha"), " ha")),
        ("Available now", _fmt(s.get("available_now_area_ha"), " ha")),
        ("Available within 12 months", _fmt(s.get("available_12_months_area_ha"), " ha")),
        ("Open requirements", _fmt(matching["open_requirements"])),
        ("Companies searching", _fmt(matching["companies"])),
        ("Requirements with a match", _pct(matching["with_match_share"])),
        ("Requirements with a match scoring >= 70", _pct(matching["with_good_match_share"])),
        ("Best matches across a municipal border", _pct(matching["cross_border_share"])),
        ("Interest expressed", _fmt(matching["interest_expressed"])),
        ("Requirements without any match", _fmt(u.get("requirements"))),
    ]
    title = scope.region_name or scope.region or "All municipalities"
    data = PdfInput(
        title=title,
        generated=today.isoformat(),
        key_figures=key_figures,
        supply=supply,
        demand=demand,
        flows=flows,
        unmet=unmet,
        municipalities=areas,
        boundaries=scope.boundary_attribution,
    )
    return await asyncio.to_thread(render_pdf, data)
