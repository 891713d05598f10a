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
# Notes are keys of the message catalogue, rendered in the reader's language.
SUPPLY_NOTE = "note.supply"
DEMAND_NOTE = "note.demand"


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
        chosen=scope.chosen,
        boundary_attribution=scope.boundary_attribution,
    )


# Figures of a municipality without any row: counts and sums are 0, medians and shares have
# nothing to be computed from (null).
_EMPTY_SUPPLY = {c.name: (0 if c.kind == "int" else 0.0) for c in cols.SUPPLY} | {
    "median_price_eur_per_m2": None,
    "fibre_share": None,
    "transit_500m_share": None,
}
_EMPTY_DEMAND = {c.name: (0 if c.kind == "int" else 0.0) for c in cols.DEMAND}


def _check_empty(include_empty: bool, group_by: str, municipal: str) -> None:
    """Zero rows exist for municipalities only; asked for with another grouping it is a
    mistake worth saying (zoning has no list of "every" value of the scope)."""
    if include_empty and group_by != municipal:
        raise ValidationFailed(
            f"include_empty lists every municipality: only with group_by={municipal}",
            errors=[
                FieldError(pointer="/query/include_empty", detail=f"only with group_by={municipal}")
            ],
        )


async def _with_empty(
    session: AsyncSession, scope: Scope, rows: list[dict[str, Any]], zero: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every municipality of the scope, in AGS order: the grouped rows, and a zero row for
    each municipality without one (a regional overview lists every member)."""
    names = await repo.municipality_names(session, scope)
    have = {r["ags"]: r for r in rows}
    out = []
    for ags, name in names:
        row = have.pop(ags, None)
        out.append(row if row is not None else {"ags": ags, "municipality": name, **zero})
    # Rows outside the name list (none expected; e.g. a requirement's unknown home) stay.
    return out + list(have.values())


async def supply(
    session: AsyncSession, scope: Scope, group_by: str, today: date, include_empty: bool = False
) -> Report:
    """``include_empty`` (grouped by municipality): every municipality of the scope, with
    zeros where it lists no plot."""
    _check_empty(include_empty, group_by, "municipality")
    await repo.without_jit(session)
    rows, total = await repo.supply(session, scope, group_by, today)
    if include_empty:
        rows = await _with_empty(session, scope, rows, _EMPTY_SUPPLY)
    columns = [*cols.SUPPLY_KEYS[group_by], *cols.SUPPLY]
    table = _table("supply", columns, rows, total)
    extra: dict[str, Any] = {"include_empty": True} if include_empty else {}
    return _report("supply", scope, [table], [SUPPLY_NOTE], group_by=group_by, **extra)


async def demand(
    session: AsyncSession, scope: Scope, group_by: str, include_empty: bool = False
) -> Report:
    """``include_empty`` (grouped by home municipality): every municipality of the scope."""
    _check_empty(include_empty, group_by, "home_municipality")
    await repo.without_jit(session)
    rows, total = await repo.demand(session, scope, group_by)
    if include_empty:
        rows = await _with_empty(session, scope, rows, _EMPTY_DEMAND)
    columns = [*cols.DEMAND_KEYS[group_by], *cols.DEMAND]
    table = _table("demand", columns, rows, total)
    extra: dict[str, Any] = {"include_empty": True} if include_empty else {}
    return _report("demand", scope, [table], [DEMAND_NOTE], group_by=group_by, **extra)


async def matching(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    row = await mrepo.matching(session, scope)
    return _report(
        "matching",
        scope,
        [_table("matching", cols.MATCHING, [row])],
        [DEMAND_NOTE, "note.matching"],
    )


async def unmet_demand(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    by_rule, by_size, total = await unmet_rows(session, scope)
    totals = {k: v for k, v in total.items() if k not in ("rule", "size_class")}
    return _report(
        "unmet-demand",
        scope,
        [
            _table("unmet_by_rule", cols.UNMET_BY_RULE, by_rule, {**totals, "rule": None}),
            _table(
                "unmet_by_size_class", cols.UNMET_BY_SIZE, by_size, {**totals, "size_class": None}
            ),
        ],
        [DEMAND_NOTE, "note.unmet"],
    )


async def flows(session: AsyncSession, scope: Scope) -> Report:
    await repo.without_jit(session)
    pairs = await mrepo.flows(session, scope)
    balance = await mrepo.balance(session, scope)
    return _report(
        "flows",
        scope,
        [_table("flows", cols.FLOWS, pairs), _table("balance", cols.BALANCE, balance)],
        [DEMAND_NOTE, "note.flows"],
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
    table = _table("timeseries", cols.TIMESERIES, rows)
    return _report("timeseries", scope, [table], ["note.timeseries"], interval=interval)


def _truncate(moment: datetime, interval: str) -> datetime:
    month = moment.month
    if interval == "quarter":
        month = 3 * ((month - 1) // 3) + 1
    elif interval == "year":
        month = 1
    return moment.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
