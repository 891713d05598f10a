"""Reports: run the aggregate SQL, shape it into tables, apply the confidentiality rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.reports import columns as cols
from landmarket.reports import matching_repository as mrepo
from landmarket.reports import repository as repo
from landmarket.reports import timeseries_repository as trepo
from landmarket.reports.scope import Scope
from landmarket.reports.suppression import suppress
from landmarket.reports.tables import Column, Report, Table
from landmarket.reports.unmet_repository import unmet as unmet_rows

DECIMALS = 4
MAX_SERIES_DAYS = 50 * 366
REPORTS = ("supply", "demand", "matching", "unmet-demand", "flows", "timeseries")
SUPPLY_NOTE = "Supply: plots published, reserved or under negotiation. Areas in hectares."
DEMAND_NOTE = (
    "Demand: open requirements of companies based in the scope or matching a plot in it. "
    "Cells built from fewer than 3 companies are suppressed."
)


def _tidy(columns: list[Column], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the public columns, in their order; floats rounded for people, not for sums."""
    out = []
    for row in rows:
        clean: dict[str, Any] = {}
        for c in columns:
            value = row.get(c.name)
            if c.kind == "float" and value is not None:
                value = round(float(value), DECIMALS)
            clean[c.name] = value
        out.append(clean)
    return out


def _table(
    name: str,
    columns: list[Column],
    rows: list[dict[str, Any]],
    total: dict[str, Any] | None = None,
) -> Table:
    tidy_total = _tidy(columns, [total])[0] if total is not None else None
    return suppress(Table(name, columns, _tidy(columns, rows), tidy_total))


def _report(name: str, scope: Scope, tables: list[Table], notes: list[str], **extra: Any) -> Report:
    return Report(
        name=name,
        region=scope.region,
        region_name=scope.region_name,
        filters={**scope.filters(), **extra},
        generated_at=datetime.now(UTC),
        tables=tables,
        notes=notes,
        boundary_attribution=scope.boundary_attribution,
    )


async def supply(session: AsyncSession, scope: Scope, group_by: str, today: date) -> Report:
    await repo.without_jit(session)
    rows, total = await repo.supply(session, scope, group_by, today)
    columns = [*cols.SUPPLY_KEYS[group_by], *cols.SUPPLY]
    table = _table("supply", columns, rows, total)
    return _report("supply", scope, [table], [SUPPLY_NOTE], group_by=group_by)


async def demand(session: AsyncSession, scope: Scope, group_by: str) -> Report:
    await repo.without_jit(session)
    rows, total = await repo.demand(session, scope, group_by)
    columns = [*cols.DEMAND_KEYS[group_by], *cols.DEMAND]
    table = _table("demand", columns, rows, total)
    return _report("demand", scope, [table], [DEMAND_NOTE], group_by=group_by)


async def matching(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    row = await mrepo.matching(session, scope)
    note = (
        f"Good match: score >= {mrepo.GOOD_SCORE:g}. Best match: a requirement's highest "
        "scoring current match. Interest expressed counts matches in interest_expressed, "
        "in_contact or closed; agreed: closed with outcome agreed."
    )
    return _report(
        "matching", scope, [_table("matching", cols.MATCHING, [row])], [DEMAND_NOTE, note]
    )


async def unmet_demand(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    by_rule, by_size, total = await unmet_rows(session, scope)
    totals = {k: v for k, v in total.items() if k not in ("rule", "size_class")}
    note = (
        "Open requirements without any current match, counted by the matching rule that "
        "excluded the most published plots of the scope (no_candidate_plots: the scope has "
        "none; none: no single rule excludes any plot)."
    )
    return _report(
        "unmet-demand",
        scope,
        [
            _table("unmet_by_rule", cols.UNMET_BY_RULE, by_rule, {**totals, "rule": None}),
            _table(
                "unmet_by_size_class", cols.UNMET_BY_SIZE, by_size, {**totals, "size_class": None}
            ),
        ],
        [DEMAND_NOTE, note],
    )


async def flows(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    pairs = await mrepo.flows(session, scope)
    balance = await mrepo.balance(session, scope)
    note = (
        "Flows: home municipality of the company -> municipality of the plot, for each "
        "requirement's best match (kind best_match) and for every expressed interest "
        "(kind interest). Balance: best matches exported, imported and local; net = "
        "imported - exported."
    )
    return _report(
        "flows",
        scope,
        [_table("flows", cols.FLOWS, pairs), _table("balance", cols.BALANCE, balance)],
        [DEMAND_NOTE, note],
    )


def _period_bounds(scope: Scope, today: date) -> tuple[datetime, datetime]:
    end_day = scope.date_to or today
    start_day = scope.date_from or date(end_day.year - 1, end_day.month, 1) + timedelta(days=31)
    if (end_day - start_day).days > MAX_SERIES_DAYS:
        raise ValidationFailed(
            "A time series spans at most 50 years",
            errors=[FieldError(pointer="/query/from", detail="at most 50 years before `to`")],
        )
    start = datetime.combine(start_day, time(), UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(), UTC)
    return start, end


async def timeseries(session: AsyncSession, scope: Scope, interval: str, today: date) -> Report:
    await repo.without_jit(session)
    start, end = _period_bounds(scope, today)
    # The first period starts at its unit's beginning, like every other.
    start = _truncate(start, interval)
    rows = await trepo.timeseries(session, scope, interval, start, end)
    note = (
        "Reconstructed from the audit log: the state at the end of each period (the last "
        "period: now). Supply counts plots in a supply status, demand open requirements of "
        "companies based in the scope."
    )
    table = _table("timeseries", cols.TIMESERIES, rows)
    return _report("timeseries", scope, [table], [note], interval=interval)


def _truncate(moment: datetime, interval: str) -> datetime:
    month = moment.month
    if interval == "quarter":
        month = 3 * ((month - 1) // 3) + 1
    elif interval == "year":
        month = 1
    return moment.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
