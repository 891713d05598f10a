"""Aggregate SQL over stored matches: the matching report and the origin-destination flows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Uuid, case, cast, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from landmarket.audit.models import Event
from landmarket.matching.models import InquiryOutcome, Match, MatchState
from landmarket.matching.repository import INQUIRY_STATES
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot
from landmarket.reports.repository import demand_conditions, in_ags
from landmarket.reports.scope import Scope
from landmarket.requirements.models import Requirement

GOOD_SCORE = 70.0
MATCH_ENTITY = "match"  # entity_type of match events (matching.service)


def scoped_requirements(scope: Scope) -> CTE:
    return (
        select(Requirement.id, Requirement.company_id, Requirement.home_ags)
        .where(*demand_conditions(scope))
        .cte("req")
    )


def best_matches(req: CTE) -> CTE:
    """Each requirement's best current match (score desc, then plot id, as ranked for it):
    one probe of ``ix_matches_requirement_rank`` per requirement. The matches table is large
    (millions of rows with their explanations), so no report ever scans it."""
    top = (
        select(Match.score, Match.cross_border, Match.plot_id)
        .where(Match.requirement_id == req.c.id, ~Match.stale)
        .order_by(Match.score.desc(), Match.plot_id)
        .limit(1)
        .lateral("top")
    )
    return (
        select(
            req.c.id.label("requirement_id"),
            top.c.score,
            top.c.cross_border,
            Plot.municipality_ags.label("plot_ags"),
        )
        .select_from(req)
        .join(top, true())
        .join(Plot, Plot.id == top.c.plot_id)
        .cte("best")
    )


def inquiries(req: CTE) -> CTE:
    """Matches of ``req`` in which interest was expressed (states interest_expressed,
    in_contact, closed), found through their ``interest`` events: every match gets exactly
    one when the company expresses interest and can never go back, and the event log is
    indexed by entity type while the matches table would have to be scanned."""
    return (
        select(
            Match.requirement_id,
            Match.plot_id,
            Match.state,
            Match.outcome,
        )
        .select_from(Event)
        .join(Match, Match.id == cast(Event.entity_id, Uuid))
        .join(req, req.c.id == Match.requirement_id)
        .where(
            Event.entity_type == MATCH_ENTITY,
            Event.action == "interest",
            Match.state.in_(INQUIRY_STATES),
        )
        .distinct()
        .cte("inquiries")
    )


async def matching(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    req = scoped_requirements(scope)
    best = best_matches(req)
    asked = inquiries(req)
    acted = (
        select(
            asked.c.requirement_id,
            func.count().label("interest"),
            func.count()
            .filter(asked.c.state == MatchState.closed, asked.c.outcome == InquiryOutcome.agreed)
            .label("agreed"),
        )
        .group_by(asked.c.requirement_id)
        .cte("acted")
    )
    matched = best.c.requirement_id.is_not(None)
    stmt = (
        select(
            func.count().label("open_requirements"),
            func.count(req.c.company_id.distinct()).label("companies"),
            func.count().filter(matched).label("with_match"),
            func.count().filter(best.c.score >= GOOD_SCORE).label("with_good_match"),
            func.percentile_cont(0.5).within_group(best.c.score).label("median_best_score"),
            func.avg(case((best.c.cross_border, 1.0), else_=0.0))
            .filter(matched)
            .label("cross_border_share"),
            cast(func.coalesce(func.sum(acted.c.interest), 0), Integer).label("interest_expressed"),
            cast(func.coalesce(func.sum(acted.c.agreed), 0), Integer).label("inquiries_agreed"),
        )
        .select_from(req)
        .outerjoin(best, best.c.requirement_id == req.c.id)
        .outerjoin(acted, acted.c.requirement_id == req.c.id)
    )
    row = dict((await session.execute(stmt)).one()._mapping)
    n = row["open_requirements"]
    row["with_match_share"] = row["with_match"] / n if n else None
    row["with_good_match_share"] = row["with_good_match"] / n if n else None
    return row


def _pairs(scope: Scope) -> CTE:
    """(kind, requirement, company, origin, destination) for best matches and expressed
    interest; both ends known, at least one in scope."""
    req = scoped_requirements(scope)
    best = best_matches(req)
    best_rows = select(
        literal("best_match").label("kind"),
        req.c.company_id,
        req.c.home_ags.label("origin"),
        best.c.plot_ags.label("destination"),
    ).join(best, best.c.requirement_id == req.c.id)
    asked = inquiries(req)
    interest_rows = (
        select(
            literal("interest").label("kind"),
            req.c.company_id,
            req.c.home_ags.label("origin"),
            Plot.municipality_ags.label("destination"),
        )
        .join(asked, asked.c.requirement_id == req.c.id)
        .join(Plot, Plot.id == asked.c.plot_id)
    )
    pairs = union_all(best_rows, interest_rows).subquery("pairs")
    conds: list[ColumnElement[bool]] = [pairs.c.origin.is_not(None)]
    if scope.ags is not None:
        conds.append(
            or_(
                in_ags(pairs.c.origin, scope, "flow_origin_ags"),
                in_ags(pairs.c.destination, scope, "flow_destination_ags"),
            )
        )
    return select(pairs).where(*conds).cte("flows")


async def flows(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    pairs = _pairs(scope)
    origin = aliased(Municipality, name="origin_m")
    destination = aliased(Municipality, name="destination_m")
    stmt = (
        select(
            pairs.c.kind,
            pairs.c.origin.label("origin_ags"),
            origin.name.label("origin"),
            pairs.c.destination.label("destination_ags"),
            destination.name.label("destination"),
            func.count().label("requirements"),
            func.count(pairs.c.company_id.distinct()).label("companies"),
        )
        .join(origin, origin.ags == pairs.c.origin)
        .join(destination, destination.ags == pairs.c.destination)
        .group_by(pairs.c.kind, pairs.c.origin, origin.name, pairs.c.destination, destination.name)
        .order_by(pairs.c.kind, func.count().desc(), pairs.c.origin, pairs.c.destination)
    )
    return [dict(r._mapping) for r in await session.execute(stmt)]


async def balance(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    """Per municipality: best matches of its companies elsewhere (exported), of other
    municipalities' companies here (imported) and at home (local)."""
    pairs = _pairs(scope)
    best = select(pairs).where(pairs.c.kind == "best_match").subquery("b")
    sides = union_all(
        select(
            best.c.origin.label("ags"),
            best.c.company_id,
            case((best.c.origin == best.c.destination, "local"), else_="exported").label("dir"),
        ),
        select(
            best.c.destination.label("ags"), best.c.company_id, literal("imported").label("dir")
        ).where(best.c.origin != best.c.destination),
    ).subquery("sides")
    in_scope = in_ags(sides.c.ags, scope, "balance_ags") if scope.ags is not None else true()

    def counts(direction: str) -> list[Any]:
        hit = sides.c.dir == direction
        return [
            func.count().filter(hit).label(direction),
            func.count(sides.c.company_id.distinct()).filter(hit).label(f"{direction}_companies"),
        ]

    stmt = (
        select(
            sides.c.ags,
            Municipality.name.label("municipality"),
            *counts("exported"),
            *counts("imported"),
            *counts("local"),
        )
        .join(Municipality, Municipality.ags == sides.c.ags)
        .where(in_scope)
        .group_by(sides.c.ags, Municipality.name)
        .order_by(sides.c.ags)
    )
    rows = [dict(r._mapping) for r in await session.execute(stmt)]
    for row in rows:
        row["net"] = row["imported"] - row["exported"]
    return rows
