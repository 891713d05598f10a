"""Report and export endpoints: thin; access in ``scope``, SQL in the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from landmarket.auth.deps import Principal
from landmarket.auth.schemas import Ags
from landmarket.core.errors import problem_responses
from landmarket.core.i18n import Lang, LangDep
from landmarket.core.schemas import IsoDate, NulFreeStr
from landmarket.db.session import SessionDep, get_sessionmaker
from landmarket.reports import scope as scopes
from landmarket.reports import service
from landmarket.reports.columns import DEMAND_KEYS, SUPPLY_KEYS
from landmarket.reports.exports.router import router as export_router
from landmarket.reports.pdf_service import regional_pdf
from landmarket.reports.render import Delimiter, Format, language_headers, render
from landmarket.reports.scope import Scope
from landmarket.reports.tables import Report

router = APIRouter(tags=["reports"])

ERRORS = problem_responses(401, 403, 404, 422)
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {},
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        }
    }
}
SupplyGroup = Literal["municipality", "district", "zoning", "category", "status", "ownership"]
DemandGroup = Literal["size_class", "emission_class", "sector", "home_municipality"]
assert set(SupplyGroup.__args__) == set(SUPPLY_KEYS)  # type: ignore[attr-defined]
assert set(DemandGroup.__args__) == set(DEMAND_KEYS)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ScopeQuery:
    region: str | None
    municipalities: list[str] | None
    date_from: date | None
    date_to: date | None


def scope_query(
    region: Annotated[
        NulFreeStr | None, Query(description="Region slug; required for agency keys")
    ] = None,
    municipalities: Annotated[
        list[Ags] | None, Query(description="Only these AGS (repeat the parameter)")
    ] = None,
    date_from: Annotated[
        IsoDate | None, Query(alias="from", description="Created on or after (plots, requirements)")
    ] = None,
    date_to: Annotated[
        IsoDate | None, Query(alias="to", description="Created on or before")
    ] = None,
) -> ScopeQuery:
    return ScopeQuery(region, municipalities, date_from, date_to)


@dataclass(frozen=True)
class FormatQuery:
    format: Format
    delimiter: Delimiter
    table: str | None
    lang: Lang


def format_query(
    lang: LangDep,
    format: Annotated[Format, Query(description="json, csv (one table) or xlsx")] = Format.json,
    delimiter: Annotated[
        Delimiter, Query(description="CSV: semicolon also switches to decimal commas")
    ] = Delimiter.comma,
    table: Annotated[
        NulFreeStr | None, Query(description="CSV: which table (default: the first)")
    ] = None,
) -> FormatQuery:
    return FormatQuery(format, delimiter, table, lang)


IncludeEmpty = Annotated[
    bool,
    Query(
        description="Grouped by municipality: list every municipality of the scope, with "
        "zeros where it has no rows"
    ),
]
ScopeParams = Annotated[ScopeQuery, Depends(scope_query)]
FormatParams = Annotated[FormatQuery, Depends(format_query)]


async def _scope(session: SessionDep, principal: Principal, q: ScopeQuery) -> Scope:
    return await scopes.resolve(
        session, principal, q.region, q.municipalities, q.date_from, q.date_to
    )


def _out(report: Report, f: FormatQuery) -> Response:
    return render(report, f.format, f.delimiter, f.table, f.lang)


@router.get("/reports/supply", summary="Plots on offer, grouped", responses={**FILES, **ERRORS})
async def report_supply(
    principal: Principal,
    session: SessionDep,
    q: ScopeParams,
    f: FormatParams,
    group_by: SupplyGroup = "municipality",
    include_empty: IncludeEmpty = False,
) -> Response:
    scope = await _scope(session, principal, q)
    report = await service.supply(session, scope, group_by, date.today(), include_empty)
    return _out(report, f)


@router.get("/reports/demand", summary="Open requirements, grouped", responses={**FILES, **ERRORS})
async def report_demand(
    principal: Principal,
    session: SessionDep,
    q: ScopeParams,
    f: FormatParams,
    group_by: DemandGroup = "size_class",
    include_empty: IncludeEmpty = False,
) -> Response:
    scope = await _scope(session, principal, q)
    return _out(await service.demand(session, scope, group_by, include_empty), f)


@router.get(
    "/reports/matching", summary="How well demand is matched", responses={**FILES, **ERRORS}
)
async def report_matching(
    principal: Principal, session: SessionDep, q: ScopeParams, f: FormatParams
) -> Response:
    scope = await _scope(session, principal, q)
    return _out(await service.matching(session, scope), f)


@router.get(
    "/reports/unmet-demand",
    summary="Requirements without a match and the rule that excluded most plots",
    responses={**FILES, **ERRORS},
)
async def report_unmet_demand(
    principal: Principal, session: SessionDep, q: ScopeParams, f: FormatParams
) -> Response:
    scope = await _scope(session, principal, q)
    return _out(await service.unmet_demand(session, scope), f)


@router.get(
    "/reports/flows",
    summary="Home municipality -> plot municipality of best matches and interest; balance",
    responses={**FILES, **ERRORS},
)
async def report_flows(
    principal: Principal, session: SessionDep, q: ScopeParams, f: FormatParams
) -> Response:
    scope = await _scope(session, principal, q)
    return _out(await service.flows(session, scope), f)


@router.get(
    "/reports/timeseries",
    summary="Supply and demand over time, from the audit log",
    responses={**FILES, **ERRORS},
)
async def report_timeseries(
    principal: Principal,
    session: SessionDep,
    q: ScopeParams,
    f: FormatParams,
    interval: Literal["month", "quarter", "year"] = "month",
) -> Response:
    scope = await _scope(session, principal, q)
    return _out(await service.timeseries(session, scope, interval, date.today()), f)


@router.get(
    "/reports/regional.pdf",
    summary="The regional report as a PDF: key figures, charts, map, flows, unmet demand",
    responses={200: {"content": {"application/pdf": {}}}, **ERRORS},
)
async def report_regional_pdf(
    request: Request, principal: Principal, session: SessionDep, q: ScopeParams, lang: LangDep
) -> Response:
    scope = await _scope(session, principal, q)
    body = await regional_pdf(session, scope, date.today(), lang, get_sessionmaker(request))
    name = f"report-{scope.region or 'all'}-{date.today():%Y%m%d}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            **language_headers(lang),
        },
    )


# The exports share the access rules and scope parameters; one router for main.py.
router.include_router(export_router)
