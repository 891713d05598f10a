"""SQL for stored matches: the read paths (JSON built in PostGIS). Recomputation is in
``matching.recompute``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Select,
    Text,
    Uuid,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from landmarket.auth.models import Organization
from landmarket.auth.principal import AuthPrincipal
from landmarket.db.geo import DEFAULT_CRS, geojson_out
from landmarket.matching.explanation import explanation
from landmarket.matching.models import Match, MatchState
from landmarket.municipalities.models import Municipality
from landmarket.plots import models as plots
from landmarket.plots.models import Plot
from landmarket.requirements import models as requirements
from landmarket.requirements.models import Requirement, RequirementStatus

INQUIRY_STATES = (MatchState.interest_expressed, MatchState.in_contact, MatchState.closed)


async def visible_requirement(
    session: AsyncSession, principal: AuthPrincipal, rid: uuid.UUID
) -> Requirement | None:
    """The requirement if ``principal`` may see it (requirements' own row-level rule)."""
    stmt = (
        select(Requirement)
        .where(Requirement.id == rid, requirements.visible_to(principal))
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def visible_plot(
    session: AsyncSession, principal: AuthPrincipal, plot_id: uuid.UUID
) -> Plot | None:
    """The plot if ``principal`` may see it (plots' own row-level rule)."""
    stmt = (
        select(Plot)
        .options(defer(Plot.geom))
        .where(Plot.id == plot_id, plots.visible_to(principal))
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


# --- reads -----------------------------------------------------------------------------------


def _plot_summary() -> ColumnElement[Any]:
    return func.jsonb_build_object(
        literal("id"),
        Plot.id,
        literal("title"),
        Plot.title,
        literal("municipality_ags"),
        Plot.municipality_ags,
        literal("municipality_name"),
        Municipality.name,
        literal("area_m2"),
        Plot.area_m2,
        literal("category"),
        Plot.category,
        literal("zoning"),
        Plot.zoning,
        literal("tenure"),
        Plot.tenure,
        literal("price_eur_per_m2"),
        Plot.price_eur_per_m2,
        literal("rent_eur_per_m2_month"),
        Plot.rent_eur_per_m2_month,
        literal("available_from"),
        Plot.available_from,
        literal("status"),
        Plot.status,
    )


def _match_members() -> list[Any]:
    return [
        literal("score"),
        Match.score,
        literal("partial"),
        Match.partial,
        literal("cross_border"),
        Match.cross_border,
        literal("distance_km"),
        Match.distance_km,
        literal("explanation"),
        explanation(Match.explanation, Match.distance_km, Match.partial),
        literal("state"),
        Match.state,
        literal("stale"),
        Match.stale,
    ]


@dataclass(frozen=True)
class MatchFilter:
    min_score: float | None = None
    cross_border: bool | None = None
    include_stale: bool = False


@dataclass(frozen=True)
class JsonPage:
    items_json: str  # a JSON array aggregated in PostGIS
    count: int
    more: bool
    last: tuple[float, uuid.UUID] | None


async def list_matches(
    session: AsyncSession,
    requirement_id: uuid.UUID,
    f: MatchFilter,
    *,
    geojson: bool,
    after: tuple[float, uuid.UUID] | None,
    limit: int,
) -> JsonPage:
    """Ranked by score desc, then plot id; one JSON array (items or GeoJSON Features)."""
    stmt = _list_statement(
        geojson=geojson,
        include_stale=f.include_stale,
        min_score=f.min_score is not None,
        cross_border=f.cross_border is not None,
        after=after is not None,
    )
    params: dict[str, Any] = {
        "requirement_id": requirement_id,
        "min_score": f.min_score,
        "cross_border": f.cross_border,
        "after_score": after[0] if after else None,
        "after_plot": after[1] if after else None,
        "limit": limit,
        "limit_probe": limit + 1,
    }
    row = (await session.execute(stmt, params)).one()
    n = int(row.n)
    last = (float(row.last_score), row.last_plot) if row.last_plot is not None else None
    return JsonPage(items_json=row.items, count=min(n, limit), more=n > limit, last=last)


@lru_cache(maxsize=64)
def _list_statement(
    *, geojson: bool, include_stale: bool, min_score: bool, cross_border: bool, after: bool
) -> Select[Any]:
    """The page query of one shape, with bound parameters (see ``list_matches``).

    Built once per shape and reused: building the explanation's expression tree and its
    cache key was a third of a request's time; a reused statement's key is memoized.
    """
    conds: list[ColumnElement[bool]] = [
        Match.requirement_id == bindparam("requirement_id", type_=Uuid)
    ]
    if not include_stale:
        conds.append(~Match.stale)
    if min_score:
        conds.append(Match.score >= bindparam("min_score", type_=Float))
    if cross_border:
        conds.append(Match.cross_border == bindparam("cross_border", type_=Boolean))
    if after:
        score = bindparam("after_score", type_=Float)
        plot_id = bindparam("after_plot", type_=Uuid)
        conds.append(or_(Match.score < score, and_(Match.score == score, Match.plot_id > plot_id)))
    if geojson:
        item = func.jsonb_build_object(
            literal("type"),
            literal("Feature"),
            literal("id"),
            Plot.id,
            literal("geometry"),
            geojson_out(Plot.geom, DEFAULT_CRS),
            literal("properties"),
            func.jsonb_build_object(*_match_members()).op("||")(_plot_summary()),
        )
    else:
        item = func.jsonb_build_object(literal("plot"), _plot_summary(), *_match_members())
    page = (
        select(Match.score, Match.plot_id, item.label("item"))
        .join(Plot, Plot.id == Match.plot_id)
        .join(Municipality, Municipality.ags == Plot.municipality_ags)
        # One row: the requirement's side of the explanation's reasons.
        .join(Requirement, Requirement.id == Match.requirement_id)
        .where(*conds)
        .order_by(Match.score.desc(), Match.plot_id)
        .limit(bindparam("limit_probe", type_=Integer))
        .subquery("page")
    )
    numbered = select(
        page,
        func.row_number().over(order_by=(page.c.score.desc(), page.c.plot_id)).label("rn"),
    ).subquery("numbered")
    in_page = numbered.c.rn <= bindparam("limit", type_=Integer)
    items = func.coalesce(
        func.jsonb_agg(aggregate_order_by(numbered.c.item, numbered.c.rn)).filter(in_page),
        cast(literal("[]"), JSONB),
    )
    return select(
        cast(items, Text).label("items"),
        func.count().label("n"),
        # The last row of the page: its key continues the next page.
        type_coerce(
            func.array_agg(aggregate_order_by(numbered.c.plot_id, numbered.c.rn.desc())).filter(
                in_page
            ),
            ARRAY(Uuid),
        )[1].label("last_plot"),
        type_coerce(
            func.array_agg(aggregate_order_by(numbered.c.score, numbered.c.rn.desc())).filter(
                in_page
            ),
            ARRAY(Match.score.type),
        )[1].label("last_score"),
    ).select_from(numbered)


async def get_match(
    session: AsyncSession, requirement_id: uuid.UUID, plot_id: uuid.UUID
) -> Match | None:
    stmt = (
        select(Match)
        .where(Match.requirement_id == requirement_id, Match.plot_id == plot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def set_state(session: AsyncSession, match_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(
        update(Match)
        .where(Match.id == match_id)
        .values(**values, state_changed_at=func.now())
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class DemandRow:
    match: Match
    requirement: Requirement
    company_name: str


async def demand(
    session: AsyncSession,
    plot_id: uuid.UUID,
    *,
    after: tuple[float, uuid.UUID] | None,
    limit: int,
) -> Sequence[DemandRow]:
    """Open requirements currently matching the plot, best first (limit + 1 rows)."""
    stmt = (
        select(Match, Requirement, Organization.name)
        .join(Requirement, Requirement.id == Match.requirement_id)
        .join(Organization, Organization.id == Requirement.company_id)
        .where(
            Match.plot_id == plot_id,
            ~Match.stale,
            Requirement.status == RequirementStatus.open,
        )
        .order_by(Match.score.desc(), Match.id)
        .limit(limit + 1)
    )
    if after is not None:
        score, match_id = after
        stmt = stmt.where(or_(Match.score < score, and_(Match.score == score, Match.id > match_id)))
    rows = (await session.execute(stmt)).all()
    return [DemandRow(match=m, requirement=r, company_name=name) for m, r, name in rows]


@dataclass(frozen=True)
class InquiryRow:
    match: Match
    requirement: Requirement
    plot: Plot
    company_name: str


def _inquiries_select(editable_ags: frozenset[str] | None) -> Any:
    stmt = (
        select(Match, Requirement, Plot, Organization.name)
        .join(Requirement, Requirement.id == Match.requirement_id)
        .join(Plot, Plot.id == Match.plot_id)
        .join(Organization, Organization.id == Requirement.company_id)
        .where(Match.state.in_(INQUIRY_STATES))
    )
    if editable_ags is not None:
        stmt = stmt.where(Plot.municipality_ags.in_(sorted(editable_ags)))
    return stmt


async def inquiries(
    session: AsyncSession,
    editable_ags: frozenset[str] | None,
    *,
    states: Sequence[MatchState],
    after: uuid.UUID | None,
    limit: int,
) -> Sequence[InquiryRow]:
    """Inquiries on plots of ``editable_ags`` (None: all), by id (limit + 1 rows)."""
    stmt = _inquiries_select(editable_ags)
    if states:
        stmt = stmt.where(Match.state.in_(list(states)))
    if after is not None:
        stmt = stmt.where(Match.id > after)
    rows = (await session.execute(stmt.order_by(Match.id).limit(limit + 1))).all()
    return [InquiryRow(match=m, requirement=r, plot=p, company_name=n) for m, r, p, n in rows]


async def inquiry(
    session: AsyncSession, editable_ags: frozenset[str] | None, match_id: uuid.UUID
) -> InquiryRow | None:
    stmt = _inquiries_select(editable_ags).where(Match.id == match_id).with_for_update(of=Match)
    row = (await session.execute(stmt.execution_options(populate_existing=True))).one_or_none()
    if row is None:
        return None
    m, r, p, n = row
    return InquiryRow(match=m, requirement=r, plot=p, company_name=n)
