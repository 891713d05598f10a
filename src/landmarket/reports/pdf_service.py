"""The regional PDF: the same (suppressed) report tables, drawn on a few pages."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from landmarket.core.i18n import Lang, fmt_number
from landmarket.labels import catalogue as cat
from landmarket.reports import service
from landmarket.reports.exporters.metadata import scope_sentence
from landmarket.reports.exports import service as exports
from landmarket.reports.matching_repository import GOOD_SCORE
from landmarket.reports.scope import Scope
from landmarket.reports.tables import Column, Table

# Boundaries are drawn a few cm wide: 25 m of detail is plenty for a region and keeps the PDF
# small; a national map (a pixel is ~1.5 km) needs far less, and each vertex costs time to
# fetch and draw.
SIMPLIFY_M = 25.0
SIMPLIFY_LARGE_M = 300.0
LARGE_SCOPE = 500


def _figures(
    lang: Lang, s: dict[str, Any], m: dict[str, Any], u: dict[str, Any]
) -> list[tuple[str, str]]:
    """The key figures, formatted for ``lang`` (``1.234,5 ha``; suppressed: ``geheim``)."""

    def n(value: Any, unit: str = "", digits: int = 0) -> str:
        if value is None:
            return cat.text("suppressed", lang)
        return fmt_number(value, digits, lang) + (f" {unit}" if unit else "")

    def pct(value: Any) -> str:
        return cat.text("suppressed", lang) if value is None else n(100 * value, "%")

    def k(key: str) -> str:
        return cat.text(key, lang, good=f"{GOOD_SCORE:g}")

    return [
        (k("kf.plots"), n(s.get("plots"))),
        (k("kf.area"), n(s.get("area_ha"), "ha", 1)),
        (k("kf.brownfield"), n(s.get("brownfield_vacant_area_ha"), "ha", 1)),
        (k("kf.now"), n(s.get("available_now_area_ha"), "ha", 1)),
        (k("kf.12_months"), n(s.get("available_12_months_area_ha"), "ha", 1)),
        (k("kf.open"), n(m["open_requirements"])),
        (k("kf.companies"), n(m["companies"])),
        (k("kf.with_match"), pct(m["with_match_share"])),
        (k("kf.good_match"), pct(m["with_good_match_share"])),
        (k("kf.cross_border"), pct(m["cross_border_share"])),
        (k("kf.interest"), n(m["interest_expressed"])),
        (k("kf.unmet"), n(u.get("requirements"))),
    ]


SUMMED = (
    ("plots", "supply_plots"),
    ("area_ha", "supply_area_ha"),
    ("brownfield_vacant_area_ha", "brownfield_vacant_area_ha"),
    ("available_now_area_ha", "available_now_area_ha"),
    ("available_12_months_area_ha", "available_12_months_area_ha"),
)


def supply_by_municipality(areas: Table) -> Table:
    """The supply figures of the municipality table, with their sums as the total."""
    rows = [
        {"ags": r["ags"], "municipality": r["name"], **{k: r[src] for k, src in SUMMED}}
        for r in areas.rows
    ]
    total = {k: sum(r[k] for r in rows) for k, _ in SUMMED}
    columns = [Column("ags", "text"), Column("municipality", "text")]
    columns += [Column(k, "int" if k == "plots" else "float") for k, _ in SUMMED]
    return Table("supply", columns, rows, {"ags": None, "municipality": None, **total})


async def _flows_and_unmet(session: AsyncSession, scope: Scope) -> tuple[Table, Table]:
    flows = (await service.flows(session, scope)).table("flows")
    unmet = (await service.unmet_demand(session, scope)).table("unmet_by_rule")
    return flows, unmet


async def _on_own_connection(
    maker: async_sessionmaker[AsyncSession], scope: Scope
) -> tuple[Table, Table]:
    async with maker() as other, other.begin():
        return await _flows_and_unmet(other, scope)


async def regional_pdf(
    session: AsyncSession,
    scope: Scope,
    today: date,
    lang: Lang,
    maker: async_sessionmaker[AsyncSession] | None = None,
) -> bytes:
    """``maker``: the flows and unmet-demand statements (the slowest two) then run on a
    second connection while this one runs the others: PostgreSQL works on both at once.
    Each connection reads its own snapshot; the figures of a report are read within the
    same fraction of a second."""
    # matplotlib costs ~50 MB of memory: only processes that draw a PDF load it.
    from landmarket.reports.exporters.pdf_report import PdfInput, render_pdf

    # Supply per municipality and its totals come from the map's table (one statement less:
    # the supply report would aggregate the same plots again).
    large = scope.ags is None or len(scope.ags) > LARGE_SCOPE
    tolerance = SIMPLIFY_LARGE_M if large else SIMPLIFY_M
    parallel = asyncio.create_task(_on_own_connection(maker, scope)) if maker else None
    try:
        areas = await exports.municipalities_table(session, scope, "wkb", today, tolerance)
        demand = (await service.demand(session, scope, "size_class")).table("demand")
        matching = (await service.matching(session, scope)).table("matching").rows[0]
        flows, unmet = await (parallel or _flows_and_unmet(session, scope))
    except BaseException:
        if parallel is not None:
            parallel.cancel()
        raise
    supply = supply_by_municipality(areas)
    figures = _figures(lang, supply.total or {}, matching, unmet.total or {})
    members = list(scope.ags) if scope.ags is not None else None
    data = PdfInput(
        lang=lang,
        region=scope.region_name or scope.region or cat.text("all_municipalities", lang),
        scope=scope_sentence(scope.region, scope.region_name, members, scope.chosen, lang),
        generated=today,
        key_figures=figures,
        # On the title page: supply, what is available now, demand and how well it is met.
        headline=[figures[i] for i in (0, 1, 3, 5, 6, 7)],
        supply=supply,
        demand=demand,
        flows=flows,
        unmet=unmet,
        municipalities=areas,
        boundaries=scope.boundary_attribution,
    )
    return await asyncio.to_thread(render_pdf, data)
