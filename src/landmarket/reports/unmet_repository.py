"""Unmet demand: open requirements without any match, and which rule kept the plots away.

The rule predicates are the matching contract's own (``matching.eligibility.match_rules``), taken
apart clause by clause, so this report cannot drift from what matching does. Each clause is
evaluated separately over (unmet requirement x candidate plot) and the clause that fails for
the most candidates is the requirement's excluding rule.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    Float,
    Integer,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    select,
    tablesample,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from landmarket.matching.eligibility import match_rules
from landmarket.matching.models import Match
from landmarket.plots.models import Plot, PlotStatus
from landmarket.reports.repository import HA, SIZE_CLASSES, demand_conditions, in_ags, size_class
from landmarket.reports.scope import Scope
from landmarket.requirements.models import Requirement

R = Requirement

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
# Evaluating every rule costs ~1.5 µs per (requirement, plot) pair; this bounds the report to
# well under a second whatever the data size.
PAIR_BUDGET = 200_000
MIN_SAMPLE = 40
SAMPLE_SEED = 20261126
NONE_FAILS = "none"


def rule_predicates() -> dict[str, ColumnElement[bool]]:
    clauses = list(match_rules().clauses)
    if len(clauses) != len(RULE_NAMES):
        # Fail loudly: a new rule in matching needs a name here.
        raise RuntimeError(
            f"matching.eligibility has {len(clauses)} clauses, reports knows {len(RULE_NAMES)}"
        )
    return {name: c for name, c in zip(RULE_NAMES, clauses, strict=True) if name is not None}


def _unmet_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    matched = exists().where(Match.requirement_id == R.id, ~Match.stale)
    return [*demand_conditions(scope), ~matched]


def _candidate_conditions(plots: Any, scope: Scope) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [plots.c.status == PlotStatus.published]
    if scope.ags is not None:
        conds.append(in_ags(plots.c.municipality_ags, scope, "candidate_ags"))
    return conds


async def _unmet_ids(session: AsyncSession, scope: Scope) -> list[uuid.UUID]:
    """The unmet requirements, found once: the anti-join probes the large matches table for
    every open requirement, too dear to repeat in the main statement."""
    stmt = select(R.id).where(*_unmet_conditions(scope))
    return list(await session.scalars(stmt))


async def _candidates(session: AsyncSession, scope: Scope, unmet_n: int) -> Any:
    """The plots to evaluate the rules on: all published plots of the scope, or, when
    (unmet requirements x plots) exceeds ``PAIR_BUDGET``, a seeded Bernoulli sample of them
    (at least ``MIN_SAMPLE`` plots per requirement). Only the attribution to a rule is
    estimated from the sample; which requirements are unmet is always exact."""
    table = Plot.__table__
    plots_n = int(
        await session.scalar(
            select(func.count()).select_from(table).where(*_candidate_conditions(table, scope))
        )
        or 0
    )
    if unmet_n * plots_n <= PAIR_BUDGET:
        return table
    per_requirement = max(PAIR_BUDGET // max(unmet_n, 1), MIN_SAMPLE)
    percent = min(100.0, 100.0 * per_requirement / plots_n)
    return tablesample(
        table,
        func.bernoulli(bindparam("sample_percent", percent, Float)),
        name="candidate",
        seed=bindparam("sample_seed", SAMPLE_SEED, Integer),
    )


def _per_requirement(scope: Scope, plots: Any, unmet_ids: list[uuid.UUID]) -> Any:
    """One row per unmet requirement: how many candidate plots each rule excludes."""
    adapter = ClauseAdapter(plots) if plots is not Plot.__table__ else None

    def adapt(pred: ColumnElement[bool]) -> ColumnElement[bool]:
        # The rules name the plots table; a sample is an alias of it.
        return pred if adapter is None else adapter.traverse(pred)

    excluded = {
        name: func.count(plots.c.id).filter(~func.coalesce(adapt(pred), false())).label(name)
        for name, pred in rule_predicates().items()
    }
    return (
        select(
            R.id,
            R.company_id,
            R.area_min_m2,
            R.area_max_m2,
            func.count(plots.c.id).label("candidates"),
            *excluded.values(),
        )
        .select_from(R)
        .outerjoin(plots, and_(*_candidate_conditions(plots, scope)))
        .where(R.id == any_(bindparam("unmet_ids", unmet_ids, ARRAY(Uuid))))
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
    unmet_ids = await _unmet_ids(session, scope)
    plots = await _candidates(session, scope, len(unmet_ids))
    per_req = _per_requirement(scope, plots, unmet_ids)
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
