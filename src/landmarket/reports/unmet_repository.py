"""Unmet demand: open requirements without any match, and which rule kept the plots away.

The rule predicates are the matching contract's own (``matching.rules.match_rules``), taken
apart clause by clause, so this report cannot drift from what matching does. Each clause is
evaluated separately over (unmet requirement x candidate plot) and the clause that fails for
the most candidates is the requirement's excluding rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from landmarket.matching.models import Match
from landmarket.matching.rules import match_rules
from landmarket.plots.models import Plot, PlotStatus
from landmarket.reports.repository import HA, SIZE_CLASSES, demand_conditions, in_ags, size_class
from landmarket.reports.scope import Scope
from landmarket.requirements.models import Requirement

R, P = Requirement, Plot

# match_rules() is and_(rule 1 plot status, rule 1 requirement status, rule 2, ..., rule 8
# parts); the names below follow its clause order. None: preconditions of this report
# (candidates are published, unmet requirements open), never an excluding rule.
RULE_NAMES: tuple[str | None, ...] = (
    None,
    None,
    "area",
    "zoning",
    "tenure_or_budget",
    "availability_date",
    "distance",
    "municipalities",
    "search_area",
    "home_region",
    "fibre",
    "rail_siding",
    "developed",
    "no_contamination",
    "transit_distance",
    "motorway_distance",
)
NO_PLOTS = "no_candidate_plots"
NONE_FAILS = "none"


def rule_predicates() -> dict[str, ColumnElement[bool]]:
    clauses = list(match_rules().clauses)
    if len(clauses) != len(RULE_NAMES):
        # Fail loudly: a new rule in matching needs a name here.
        raise RuntimeError(
            f"matching.rules has {len(clauses)} clauses, reports knows {len(RULE_NAMES)}"
        )
    return {name: c for name, c in zip(RULE_NAMES, clauses, strict=True) if name is not None}


def _per_requirement(scope: Scope) -> Any:
    """One row per unmet requirement: how many candidate plots each rule excludes."""
    matched = exists().where(Match.requirement_id == R.id, ~Match.stale)
    candidate = [P.status == PlotStatus.published]
    if scope.ags is not None:
        candidate.append(in_ags(P.municipality_ags, scope, "candidate_ags"))
    rules = rule_predicates()
    excluded = {
        name: func.count(P.id).filter(~func.coalesce(pred, false())).label(name)
        for name, pred in rules.items()
    }
    return (
        select(
            R.id,
            R.company_id,
            R.area_min_m2,
            R.area_max_m2,
            func.count(P.id).label("candidates"),
            *excluded.values(),
        )
        .select_from(R)
        .outerjoin(P, and_(*candidate))
        .where(*demand_conditions(scope), ~matched)
        .group_by(R.id)
        .subquery("per_req")
    )


def _top_rule(per_req: Any) -> ColumnElement[str]:
    names = [n for n in RULE_NAMES if n is not None]
    most = func.greatest(*(per_req.c[n] for n in names))
    # Ties go to the earlier rule in the contract's order.
    return case(
        (per_req.c.candidates == 0, literal(NO_PLOTS)),
        (most == 0, literal(NONE_FAILS)),
        *((per_req.c[n] == most, literal(n)) for n in names),
    )


async def unmet(
    session: AsyncSession, scope: Scope
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(by excluding rule, by size class, total)."""
    per_req = _per_requirement(scope)
    rule = _top_rule(per_req).label("rule")
    size = size_class(per_req.c.area_min_m2).label("size_class")
    stmt = select(
        rule,
        size,
        func.count().label("requirements"),
        func.count(per_req.c.company_id.distinct()).label("companies"),
        (func.coalesce(func.sum(per_req.c.area_min_m2), 0.0) / HA).label("area_min_ha"),
        (func.coalesce(func.sum(per_req.c.area_max_m2), 0.0) / HA).label("area_max_ha"),
        cast(func.grouping(rule), Integer).label("no_rule"),
        cast(func.grouping(size), Integer).label("no_size"),
    ).group_by(func.grouping_sets(tuple_(rule), tuple_(size), tuple_()))
    by_rule: list[dict[str, Any]] = []
    by_size: list[dict[str, Any]] = []
    total: dict[str, Any] = {}
    for row in await session.execute(stmt):
        data = dict(row._mapping)
        no_rule, no_size = data.pop("no_rule"), data.pop("no_size")
        if no_rule and no_size:
            total = data
        elif no_size:
            data.pop("size_class")
            by_rule.append(data)
        else:
            data.pop("rule")
            by_size.append(data)
    by_rule.sort(key=lambda r: (-r["requirements"], r["rule"]))
    order = {label: i for i, (label, _) in enumerate(SIZE_CLASSES)}
    by_size.sort(key=lambda r: order.get(r["size_class"], 99))
    return by_rule, by_size, total
