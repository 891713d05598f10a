"""Supply and demand over time, reconstructed from the audit log.

Set-based and linear in the number of events: every event contributes the change it made
(e.g. +1 plot and +area when a plot enters a supply status, -1 when it leaves), the
changes are summed per period and accumulated with a window sum. Events before the first
period fold into it, so the first value is the state at its end, not a delta.

Distinct companies cannot be summed that way directly, so demand first accumulates the open
requirements per company in event order; a company counts from the event that gives it its
first open requirement until the one that closes its last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    DateTime,
    Float,
    Integer,
    Interval,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from landmarket.audit.models import Event
from landmarket.reports.repository import HA, SUPPLY_STATUSES, in_ags
from landmarket.reports.scope import Scope
from landmarket.requirements.models import RequirementStatus

UNITS = {"month": "1 month", "quarter": "3 months", "year": "1 year"}


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return case((cond, 1), else_=0)


def _scoped(ags: ColumnElement[Any], scope: Scope, name: str) -> list[ColumnElement[bool]]:
    return [] if scope.ags is None else [in_ags(ags, scope, name)]


class Window:
    """The bound parameters of one time series, created once: SQLAlchemy wants one object
    per bound name even when several subqueries use it."""

    def __init__(self, unit: str, start: datetime, end: datetime) -> None:
        self.unit: BindParameter[str] = bindparam("unit", unit, String)
        self.step: BindParameter[str] = bindparam("step", UNITS[unit], String)
        self.start: BindParameter[datetime] = bindparam("start", start, DateTime(timezone=True))
        self.end: BindParameter[datetime] = bindparam("end", end, DateTime(timezone=True))

    def bucket(self) -> ColumnElement[Any]:
        trunc = func.date_trunc(self.unit, Event.occurred_at, literal("UTC"))
        return func.greatest(trunc, self.start).label("bucket")


def _plot_deltas(scope: Scope, w: Window) -> Any:
    def supply(snap: Any) -> ColumnElement[int]:
        return _flag(snap["properties"]["status"].astext.in_([s.value for s in SUPPLY_STATUSES]))

    def area(snap: Any) -> ColumnElement[float]:
        return func.coalesce(cast(snap["properties"]["area_m2"].astext, Float), 0.0)

    ags = func.coalesce(
        Event.after["properties"]["municipality_ags"].astext,
        Event.before["properties"]["municipality_ags"].astext,
    )
    bucket = w.bucket()
    return (
        select(
            bucket,
            func.sum(supply(Event.after) - supply(Event.before)).label("d_plots"),
            func.sum(
                supply(Event.after) * area(Event.after) - supply(Event.before) * area(Event.before)
            ).label("d_area"),
        )
        .where(
            Event.entity_type == "plot",
            Event.occurred_at < w.end,
            *_scoped(ags, scope, "ts_plot_ags"),
        )
        .group_by(bucket)
        .subquery("plot_d")
    )


def _demand_deltas(scope: Scope, w: Window) -> Any:
    def is_open(snap: Any) -> ColumnElement[int]:
        return _flag(snap["status"].astext == RequirementStatus.open.value)

    def area(snap: Any) -> ColumnElement[float]:
        return func.coalesce(cast(snap["area_min_m2"].astext, Float), 0.0)

    company = func.coalesce(Event.after["company_id"].astext, Event.before["company_id"].astext)
    ags = func.coalesce(Event.after["home_ags"].astext, Event.before["home_ags"].astext)
    d_open = is_open(Event.after) - is_open(Event.before)
    events = (
        select(
            w.bucket(),
            d_open.label("d_open"),
            (
                is_open(Event.after) * area(Event.after)
                - is_open(Event.before) * area(Event.before)
            ).label("d_area"),
            func.sum(d_open)
            .over(partition_by=company, order_by=(Event.occurred_at, Event.id))
            .label("open_after"),
        )
        .where(
            Event.entity_type == "requirement",
            Event.occurred_at < w.end,
            *_scoped(ags, scope, "ts_demand_ags"),
        )
        .subquery("req_ev")
    )
    before = events.c.open_after - events.c.d_open
    return (
        select(
            events.c.bucket,
            func.sum(events.c.d_open).label("d_open"),
            func.sum(events.c.d_area).label("d_area"),
            func.sum(_flag(events.c.open_after > 0) - _flag(before > 0)).label("d_companies"),
        )
        .group_by(events.c.bucket)
        .subquery("req_d")
    )


async def timeseries(
    session: AsyncSession, scope: Scope, unit: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One row per period starting at ``start`` (truncated to ``unit``) up to ``end``
    (exclusive): the state at the end of each period."""
    w = Window(unit, start, end)
    last = w.end - cast(literal("1 microsecond"), Interval)
    series = func.generate_series(
        w.start, func.date_trunc(w.unit, last, literal("UTC")), cast(w.step, Interval)
    )
    periods = select(series.column_valued("period")).subquery("periods")
    plots = _plot_deltas(scope, w)
    reqs = _demand_deltas(scope, w)

    def running(col: Any) -> ColumnElement[Any]:
        return func.sum(func.coalesce(col, 0)).over(order_by=periods.c.period)

    stmt = (
        select(
            func.date(func.timezone(literal("UTC"), periods.c.period)).label("period"),
            cast(running(plots.c.d_plots), Integer).label("supply_plots"),
            (running(plots.c.d_area) / HA).label("supply_area_ha"),
            cast(running(reqs.c.d_open), Integer).label("open_requirements"),
            cast(running(reqs.c.d_companies), Integer).label("companies"),
            (running(reqs.c.d_area) / HA).label("demand_area_min_ha"),
        )
        .select_from(periods)
        .outerjoin(plots, plots.c.bucket == periods.c.period)
        .outerjoin(reqs, reqs.c.bucket == periods.c.period)
        .order_by(periods.c.period)
    )
    return [dict(r._mapping) for r in await session.execute(stmt)]
