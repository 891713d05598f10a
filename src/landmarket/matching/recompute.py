"""Recomputing stored matches: the one thing the write paths of plots and requirements call,
in their own transaction (services only flush, so matches commit or roll back with the write).

Set-based SQL over models only: this module imports no other domain's repository or service,
so the sanctioned edge plots/requirements -> matching closes no cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    ColumnElement,
    Float,
    MetaData,
    Table,
    Uuid,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from landmarket.matching import outbox
from landmarket.matching.candidates import candidates, region_extents, search_box, searches_box
from landmarket.matching.models import Match, MatchState
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement


def today() -> date:
    """The day availability is scored against (stored scores are as of their computed_at)."""
    return date.today()


async def refresh_requirement(session: AsyncSession, requirement_id: uuid.UUID) -> None:
    """Recompute one requirement against all plots (after it was created or changed)."""
    scope = Scope(requirement_id=requirement_id)
    located = await update_search_boxes(session, scope)
    await recompute(session, replace(scope, located=located), today())


async def refresh_plots(session: AsyncSession, plot_ids: Sequence[uuid.UUID]) -> None:
    """Recompute these plots against all open requirements, in the caller's transaction.

    Call it after any write that may change whether or how a plot matches (publish, change,
    status change, withdrawal, bulk import). One statement, however many plots.
    """
    if plot_ids:
        await recompute(session, Scope(plot_ids=list(dict.fromkeys(plot_ids))), today())


async def rebuild(session: AsyncSession) -> tuple[int, int, int]:
    """Everything: search boxes (boundaries or regions may have changed), then all pairs."""
    scope = Scope()
    await update_search_boxes(session, scope)
    return await recompute(session, scope, today())


COLUMNS = (
    "requirement_id",
    "plot_id",
    "score",
    "partial",
    "cross_border",
    "distance_km",
    "explanation",
)


@dataclass(frozen=True)
class Scope:
    """Which pairs a recomputation covers: one requirement, some plots, or everything."""

    requirement_id: uuid.UUID | None = None
    plot_ids: Sequence[uuid.UUID] | None = None
    # For one requirement: whether it searches by its search box (candidates.searches_box).
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
    ``candidates.searches_box`` of it (how its plots are found; None when it does not exist),
    from the same statement."""
    extents = region_extents()
    stmt = update(Requirement).values(search_box=search_box(extents)).add_cte(extents)
    stmt = stmt.execution_options(synchronize_session=False)
    if scope.requirement_id is None:
        await session.execute(stmt)
        return None
    one = stmt.where(Requirement.id == scope.requirement_id).returning(searches_box())
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
    upserted = ins.returning(Match.plot_id, *outbox.UPSERT_RETURNING).cte("upserted")
    gone = ~exists().where(
        cand.c.requirement_id == Match.requirement_id, cand.c.plot_id == Match.plot_id
    )
    in_scope = scope.on(Match.requirement_id, Match.plot_id)
    removed = (
        delete(Match)
        .where(in_scope, Match.state == MatchState.suggested, gone)
        .returning(Match.plot_id, *outbox.GONE_RETURNING)
        .cte("removed")
    )
    staled = (
        update(Match)
        .where(in_scope, Match.state != MatchState.suggested, ~Match.stale, gone)
        .values(stale=True, computed_at=func.now())
        .returning(Match.plot_id, *outbox.GONE_RETURNING)
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
    events = outbox.match_changes(upserted, removed, staled)
    stmt = stmt.add_columns(select(func.count()).select_from(events).scalar_subquery())
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
