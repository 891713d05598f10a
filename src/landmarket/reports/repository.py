"""Aggregate SQL for supply and demand, and the scope conditions every report shares.

Each report is one statement; totals come from ``GROUPING SETS ((keys), ())`` in the same
pass, so a total is computed from exactly the rows its groups are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Date,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from landmarket.matching.models import Match
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Category, Plot, PlotStatus
from landmarket.reports.scope import Scope
from landmarket.requirements.models import Requirement, RequirementStatus

# What counts as supply: listed and not gone (drafts are not public, transferred/withdrawn
# plots are no longer on the market). Demand: open requirements.
SUPPLY_STATUSES = (PlotStatus.published, PlotStatus.reserved, PlotStatus.under_negotiation)
REACTIVATION = (Category.brownfield, Category.vacant_building)
TRANSIT_NEAR_M = 500
# Lower bounds (m²) of the demand size classes, by requested minimum area.
SIZE_CLASSES: tuple[tuple[str, float], ...] = (
    ("<1k", 0.0),
    ("1k-5k", 1_000.0),
    ("5k-10k", 5_000.0),
    ("10k-50k", 10_000.0),
    (">=50k", 50_000.0),
)
HA = 10_000.0


async def without_jit(session: AsyncSession | AsyncConnection) -> None:
    """Report statements run once and are cheap to plan; PostgreSQL's JIT would compile them
    for ~0.7 s (measured) to save a few ms. Off for this transaction only."""
    await session.execute(text("SET LOCAL jit = off"))


def in_ags(column: Any, scope: Scope, name: str) -> ColumnElement[bool]:
    """``column`` is one of the scope's municipalities. ``IN (SELECT unnest(...))`` so the
    planner hashes the list: ``= ANY(:array)`` with a bound array compares one by one, and a
    national region holds 10,997 municipalities (the time series took 6 s that way)."""
    ags = bindparam(name, list(scope.ags or ()), type_=ARRAY(String))
    cond: ColumnElement[bool] = column.in_(select(func.unnest(ags)).scalar_subquery())
    return cond


def _period(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if scope.date_from is not None:
        start = datetime.combine(scope.date_from, time(), UTC)
        conds.append(column >= bindparam("period_from", start))
    if scope.date_to is not None:
        end = datetime.combine(scope.date_to + timedelta(days=1), time(), UTC)
        conds.append(column < bindparam("period_to", end))
    return conds


def supply_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    conds = [Plot.status.in_(SUPPLY_STATUSES), *_period(Plot.created_at, scope)]
    if scope.ags is not None:
        conds.append(in_ags(Plot.municipality_ags, scope, "supply_ags"))
    return conds


def demand_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Open requirements of companies based in scope, or matching a plot in scope (demand from
    elsewhere the region can serve)."""
    conds = [Requirement.status == RequirementStatus.open, *_period(Requirement.created_at, scope)]
    if scope.ags is not None:
        served_here = exists().where(
            Match.requirement_id == Requirement.id,
            ~Match.stale,
            Plot.id == Match.plot_id,
            in_ags(Plot.municipality_ags, scope, "demand_plot_ags"),
        )
        conds.append(or_(in_ags(Requirement.home_ags, scope, "demand_home_ags"), served_here))
    return conds


def size_class(area: Any) -> ColumnElement[str]:
    whens = [(area >= lower, literal(label)) for label, lower in reversed(SIZE_CLASSES[1:])]
    return case(*whens, else_=literal(SIZE_CLASSES[0][0]))


def ha(expr: Any, where: ColumnElement[bool] | None = None) -> ColumnElement[float]:
    total = func.sum(expr) if where is None else func.sum(expr).filter(where)
    return cast(func.coalesce(total, 0.0) / HA, Float)


def share(cond: Any) -> ColumnElement[float]:
    return func.avg(case((cond, 1.0), else_=0.0))


def _split(rows: Sequence[Any], key_names: Sequence[str]) -> tuple[list[dict[str, Any]], Any]:
    groups: list[dict[str, Any]] = []
    total: dict[str, Any] = {}
    for row in rows:
        data = dict(row._mapping)
        is_total = bool(data.pop("is_total"))
        data.pop("sort_key", None)
        if is_total:
            total = {**data, **dict.fromkeys(key_names)}
        else:
            groups.append(data)
    return groups, total


def available_by(day: Any) -> ColumnElement[bool]:
    """Published (not reserved or under negotiation) and available on ``day``."""
    return and_(
        Plot.status == PlotStatus.published,
        or_(Plot.available_from.is_(None), Plot.available_from <= day),
    )


SUPPLY_GROUPS = ("municipality", "district", "zoning", "category", "status", "ownership")


def _supply_keys(group_by: str) -> list[ColumnElement[Any]]:
    if group_by == "municipality":
        return [Plot.municipality_ags.label("ags"), Municipality.name.label("municipality")]
    if group_by == "district":
        return [Municipality.district_ags.label("district_ags")]
    return [cast(getattr(Plot, group_by), String).label(group_by)]


async def supply(
    session: AsyncSession, scope: Scope, group_by: str, today: date
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    keys = _supply_keys(group_by)
    a = Plot.area_m2
    now = bindparam("today", today, Date)
    year = bindparam("in_a_year", in_a_year(today), Date)

    stmt = (
        select(
            *keys,
            func.count().label("plots"),
            ha(a).label("area_ha"),
            ha(a, Plot.category.in_(REACTIVATION)).label("brownfield_vacant_area_ha"),
            ha(a, available_by(now)).label("available_now_area_ha"),
            ha(a, available_by(year)).label("available_12_months_area_ha"),
            func.percentile_cont(0.5)
            .within_group(Plot.price_eur_per_m2)
            .label("median_price_eur_per_m2"),
            share(Plot.fibre_available).label("fibre_share"),
            share(func.coalesce(Plot.transit_stop_distance_m <= TRANSIT_NEAR_M, False)).label(
                "transit_500m_share"
            ),
            func.grouping(*keys).label("is_total"),
        )
        .select_from(Plot)
        .join(Municipality, Municipality.ags == Plot.municipality_ags)
        .where(*supply_conditions(scope))
        .group_by(func.grouping_sets(tuple_(*keys), tuple_()))
        .order_by(*keys)
    )
    rows = (await session.execute(stmt)).all()
    return _split(rows, [k.name for k in keys])


def in_a_year(today: date) -> date:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


DEMAND_GROUPS = ("size_class", "emission_class", "sector", "home_municipality")


def _demand_keys(group_by: str) -> list[ColumnElement[Any]]:
    if group_by == "size_class":
        return [size_class(Requirement.area_min_m2).label("size_class")]
    if group_by == "emission_class":
        return [cast(Requirement.emission_class, String).label("emission_class")]
    if group_by == "sector":
        # NACE division (2 digits) where given, else the section letter.
        digits = func.substring(Requirement.sector_nace, r"\d{2}")
        return [func.coalesce(digits, Requirement.sector_nace).label("sector")]
    return [Requirement.home_ags.label("ags"), Municipality.name.label("municipality")]


async def demand(
    session: AsyncSession, scope: Scope, group_by: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    keys = _demand_keys(group_by)
    order: list[Any] = (
        [func.min(Requirement.area_min_m2)] if group_by == "size_class" else list(keys)
    )
    stmt = (
        select(
            *keys,
            func.count().label("requirements"),
            func.count(Requirement.company_id.distinct()).label("companies"),
            ha(Requirement.area_min_m2).label("area_min_ha"),
            ha(Requirement.area_max_m2).label("area_max_ha"),
            cast(func.coalesce(func.sum(Requirement.jobs), 0), Integer).label("jobs"),
            func.grouping(*keys).label("is_total"),
        )
        .select_from(Requirement)
        .outerjoin(Municipality, Municipality.ags == Requirement.home_ags)
        .where(*demand_conditions(scope))
        .group_by(func.grouping_sets(tuple_(*keys), tuple_()))
        .order_by(*order)
    )
    rows = (await session.execute(stmt)).all()
    return _split(rows, [k.name for k in keys])


async def municipality_names(session: AsyncSession, scope: Scope) -> list[tuple[str, str]]:
    """(AGS, name) of every municipality of the scope, in AGS order."""
    stmt = select(Municipality.ags, Municipality.name).order_by(Municipality.ags)
    if scope.ags is not None:
        stmt = stmt.where(in_ags(Municipality.ags, scope, "names_ags"))
    return [(r.ags, r.name) for r in await session.execute(stmt)]
