"""SQL for stored matches: set-based recomputation and the read paths (JSON built in PostGIS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from landmarket.auth.models import Organization
from landmarket.db.geo import DEFAULT_CRS, geojson_out
from landmarket.matching import rules
from landmarket.matching.models import Match, MatchState
from landmarket.matching.rules import candidates, explanation, region_extents, search_box
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement, RequirementStatus
from landmarket.webhooks import emit as webhook_emit

COLUMNS = (
    "requirement_id",
    "plot_id",
    "score",
    "partial",
    "cross_border",
    "distance_km",
    "explanation",
)
INQUIRY_STATES = (MatchState.interest_expressed, MatchState.in_contact, MatchState.closed)


@dataclass(frozen=True)
class Scope:
    """Which pairs a recomputation covers: one requirement, some plots, or everything."""

    requirement_id: uuid.UUID | None = None
    plot_ids: Sequence[uuid.UUID] | None = None
    # For one requirement: whether it searches by its search box (rules.searches_box).
    located: bool | None = None

    def on(self, requirement_id: Any, plot_id: Any) -> ColumnElement[bool]:
        cond: ColumnElement[bool]
        if self.requirement_id is not None:
            cond = requirement_id == bindparam("scope_requirement", self.requirement_id, Uuid)
            return cond
        if self.plot_ids is not None:
            ids = bindparam("scope_plots", list(self.plot_ids), type_=ARRAY(Uuid))
            cond = plot_id == any_(ids)
            return cond
        return true()


async def update_search_boxes(session: AsyncSession, scope: Scope) -> bool | None:
    """Recompute the search boxes in ``scope``. For one requirement, also return
    ``rules.searches_box`` of it (how its plots are found; None when it does not exist),
    from the same statement."""
    extents = region_extents()
    stmt = update(Requirement).values(search_box=search_box(extents)).add_cte(extents)
    stmt = stmt.execution_options(synchronize_session=False)
    if scope.requirement_id is None:
        await session.execute(stmt)
        return None
    one = stmt.where(Requirement.id == scope.requirement_id).returning(rules.searches_box())
    located: bool | None = (await session.execute(one)).scalar_one_or_none()
    return located


async def recompute(session: AsyncSession, scope: Scope, today: date) -> tuple[int, int, int]:
    """Bring the stored matches in ``scope`` in line with the rules, in one statement.

    Matching pairs are upserted (state kept, stale cleared); pairs that stopped matching are
    deleted while merely ``suggested``, and kept but flagged ``stale`` when someone acted on
    them. Returns (matching, removed, newly stale).
    """
    cand: Any
    if scope.requirement_id is None and scope.plot_ids is None:
        cand = await _materialized_candidates(session, today)
    else:
        cond = scope.on(Requirement.id, Plot.id)
        by_plot = scope.plot_ids is not None
        cand = candidates(today, cond, by_plot=by_plot, located=scope.located).cte("cand")
    # Only pairs whose stored values changed (or that were stale) are written: a nightly
    # rebuild leaves unchanged rows alone, not even locking them (computed_at is when the
    # values last changed). The anti-join is read-only; ON CONFLICT below still guards
    # against a concurrent writer.
    same = aliased(Match, name="same")
    unchanged = exists().where(
        same.requirement_id == cand.c.requirement_id,
        same.plot_id == cand.c.plot_id,
        ~same.stale,
        *(getattr(same, name).is_not_distinct_from(cand.c[name]) for name in COLUMNS[2:]),
    )
    ins = insert(Match).from_select(
        list(COLUMNS),
        select(*(cand.c[name] for name in COLUMNS)).where(~unchanged),
    )
    changed = or_(
        Match.stale,
        *(Match.__table__.c[name].is_distinct_from(ins.excluded[name]) for name in COLUMNS[2:]),
    )
    ins = ins.on_conflict_do_update(
        index_elements=[Match.requirement_id, Match.plot_id],
        set_={
            "score": ins.excluded.score,
            "partial": ins.excluded.partial,
            "cross_border": ins.excluded.cross_border,
            "distance_km": ins.excluded.distance_km,
            "explanation": ins.excluded.explanation,
            "stale": False,
            "computed_at": func.now(),
        },
        where=changed,
    )
    upserted = ins.returning(Match.plot_id, *webhook_emit.UPSERT_RETURNING).cte("upserted")
    gone = ~exists().where(
        cand.c.requirement_id == Match.requirement_id, cand.c.plot_id == Match.plot_id
    )
    in_scope = scope.on(Match.requirement_id, Match.plot_id)
    removed = (
        delete(Match)
        .where(in_scope, Match.state == MatchState.suggested, gone)
        .returning(Match.plot_id, *webhook_emit.GONE_RETURNING)
        .cte("removed")
    )
    staled = (
        update(Match)
        .where(in_scope, Match.state != MatchState.suggested, ~Match.stale, gone)
        .values(stale=True, computed_at=func.now())
        .returning(Match.plot_id, *webhook_emit.GONE_RETURNING)
        .cte("staled")
    )
    # The three data-modifying CTEs touch disjoint rows (in cand / not in cand), so one
    # statement with one snapshot suffices.
    # Unchanged pairs are not returned by the upsert: count the candidates themselves.
    stmt = select(
        select(func.count()).select_from(cand).scalar_subquery(),
        select(func.count()).select_from(removed).scalar_subquery(),
        select(func.count()).select_from(staled).scalar_subquery(),
    )
    # Webhook events for what changed, in this statement: the old rows are still visible here.
    outbox = webhook_emit.match_changes(upserted, removed, staled)
    stmt = stmt.add_columns(select(func.count()).select_from(outbox).scalar_subquery())
    row = (await session.execute(stmt)).one()
    return int(row[0]), int(row[1]), int(row[2])


# A full rebuild first writes every candidate pair to this temporary table (dropped at
# commit): CREATE TABLE AS may run the spatial join in parallel (a statement with
# data-modifying CTEs never does), and ANALYZE gives the planner the real row count (the
# join's estimate is ~20 rows against millions) for the anti-joins and the upsert.
_CANDIDATES = Table(
    "match_candidates",
    MetaData(),
    Column("requirement_id", Uuid),
    Column("plot_id", Uuid),
    Column("score", Float),
    Column("partial", Boolean),
    Column("cross_border", Boolean),
    Column("distance_km", Float),
    Column("explanation", JSONB),
    prefixes=["TEMPORARY"],
)


async def _materialized_candidates(session: AsyncSession, today: date) -> Table:
    conn = await session.connection()
    select_sql = candidates(today, true()).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
    )
    await session.execute(text(f"DROP TABLE IF EXISTS {_CANDIDATES.name}"))
    await session.execute(
        text(f"CREATE TEMPORARY TABLE {_CANDIDATES.name} ON COMMIT DROP AS {select_sql}")
    )
    await session.execute(text(f"ANALYZE {_CANDIDATES.name}"))
    return _CANDIDATES


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
