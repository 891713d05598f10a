"""Candidate planning: the one select of matching pairs with their scores, shared by the
requirement, plot and full-rebuild paths (they differ only in their WHERE), and the search box
that finds a requirement's plots through the GiST index."""

from __future__ import annotations

from datetime import date
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    case,
    cast,
    func,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.sql.selectable import CTE

from landmarket.db.geo import WORLD
from landmarket.matching import scoring as sc
from landmarket.matching.eligibility import EMISSION_ZONES, has_location, match_rules
from landmarket.matching.terms import (
    Terms,
    compact_explanation,
    num,
    policy_weights,
    total_score,
)
from landmarket.municipalities.models import Municipality, region_municipalities
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement, RequirementStatus

R, P = Requirement, Plot


def _pair_columns(today: date, policy: Any) -> tuple[list[ColumnElement[Any]], Any]:
    """The per-pair columns over (requirement, plot) and the LATERAL they need after ``P``;
    ``policy`` is ``policy_weights()``, shared by every branch of one statement."""
    terms = Terms(today)
    # Computed once per pair: OFFSET 0 keeps the planner from inlining the expressions into
    # every reference (the distance to the home boundary would be computed ~5 times).
    per_pair = (
        select(
            terms.distance_km.label("distance_km"),
            terms.wait.label("wait"),
            # One lookup per pair in the map built once per statement (policy_weights).
            policy[P.municipality_ags].label("policy"),
        )
        .correlate(R, P)
        .offset(0)
        .lateral("per_pair")
    )
    scores, weights = terms.per_pair(per_pair.c.distance_km, per_pair.c.wait, per_pair.c.policy)
    columns = [
        R.id.label("requirement_id"),
        P.id.label("plot_id"),
        (P.area_m2 > R.area_max_m2).label("partial"),
        and_(R.home_ags.is_not(None), R.home_ags != P.municipality_ags).label("cross_border"),
        per_pair.c.distance_km,
        per_pair.c.wait,
        *(scores[c].label(f"s_{c}") for c in sc.CRITERIA),
        *(weights[c].label(f"w_{c}") for c in sc.CRITERIA),
    ]
    return columns, per_pair


def _in_search_box() -> ColumnElement[bool]:
    return P.geom.op("&&", is_comparison=True, return_type=Boolean)(R.search_box)


def _allowed_zones() -> ColumnElement[Any]:
    """Rule 3's zones as one array (the listed zonings, else those of the emission class)."""
    derived = case(
        *(
            (R.emission_class == ec, array([z.value for z in zones], type_=String))
            for ec, zones in EMISSION_ZONES.items()
        ),
    )
    return func.coalesce(cast(R.zonings, ARRAY(String)), derived, type_=ARRAY(String))


def _home_region_prefilter() -> ColumnElement[bool]:
    """Rules 2 and 3 in a form the partial (zoning, area) indexes on published plots serve:
    a bitmap OR of ix_plots_published_zoning_area and ix_plots_published_divisible_zoning_area.
    Only a search of the whole home region uses it; a search box selects far fewer plots."""
    return and_(
        P.zoning == any_(_allowed_zones()),
        or_(
            and_(P.area_m2 >= R.area_min_m2, P.area_m2 <= R.area_max_m2),
            and_(P.divisible, P.area_m2 >= R.area_min_m2),
        ),
    )


def _per_requirement(
    today: date, policy: Any, scope: ColumnElement[bool], *, located: bool
) -> Select[Any]:
    """Pairs of the requirements in ``scope`` with (``located``) or without a location, each
    requirement probing the plots on its own: the search box (GiST) when it has a location,
    zoning and area (btree) when it searches its whole home region (a national region's box
    holds every plot). OFFSET 0 keeps the LATERAL from being flattened into a join the planner
    would drive from the plots side, probing every requirement's box per plot."""
    columns, per_pair = _pair_columns(today, policy)
    no_home_search = searches_box()
    prefilter = _in_search_box() if located else _home_region_prefilter()
    plot_side = (
        select(*columns)
        .select_from(P)
        .join(per_pair, true())
        .where(prefilter, match_rules(located))
        .correlate(R)
        .offset(0)
        .lateral("plot_side")
    )
    return (
        select(*plot_side.c)
        .select_from(R)
        .join(plot_side, true())
        .where(
            scope,
            R.status == RequirementStatus.open,
            no_home_search if located else ~no_home_search,
        )
    )


def searches_box() -> ColumnElement[bool]:
    """Whether a requirement's plots are found by its search box (``_per_requirement``)."""
    return or_(has_location(), R.home_ags.is_(None))


def candidates(
    today: date,
    scope: ColumnElement[bool],
    *,
    by_plot: bool = False,
    located: bool | None = None,
) -> Select[Any]:
    """Every (requirement, plot) pair within ``scope`` that matches, with its score and the
    compact explanation (see SCORE_AT).

    ``by_plot``: the scope is a few plots, so the plan starts from them and probes the
    requirements' search boxes; otherwise from each requirement in scope (one, or all for a
    rebuild), see ``_per_requirement``. ``located`` (``searches_box()`` of the one
    requirement in scope, when known) leaves out the other branch, which would only add
    planning time.
    """
    policy = policy_weights()
    if by_plot:
        columns, per_pair = _pair_columns(today, policy)
        pairs = (
            select(*columns)
            .select_from(R)
            .join(P, and_(_in_search_box(), match_rules()))
            .join(per_pair, true())
            .where(scope)
        )
        inner = pairs.offset(0).subquery("terms")
    else:
        branches = [located] if located is not None else [True, False]
        selects = [_per_requirement(today, policy, scope, located=b) for b in branches]
        inner = (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("terms")
    s = {c: inner.c[f"s_{c}"] for c in sc.CRITERIA}
    w = {c: inner.c[f"w_{c}"] for c in sc.CRITERIA}
    return select(
        inner.c.requirement_id,
        inner.c.plot_id,
        total_score(s, w).label("score"),
        inner.c.partial,
        inner.c.cross_border,
        inner.c.distance_km,
        compact_explanation(s, w, inner.c.wait).label("explanation"),
    )


def region_extents() -> CTE:
    """Each region's bounding box, once per statement (a requirement without a location
    searches its home regions; a national region has ~10,800 boundaries)."""
    rm = region_municipalities
    return (
        select(rm.c.region_slug, func.ST_Extent(Municipality.boundary).label("box"))
        .join(Municipality, Municipality.ags == rm.c.ags)
        .group_by(rm.c.region_slug)
        .cte("region_extents")
    )


def search_box(extents: CTE) -> ColumnElement[Any]:
    """The requirement's search box: the intersection of the boxes of its location parts
    (or of its home regions, ``extents`` from ``region_extents``, when it has none)."""
    anchor_box = func.ST_Expand(R.anchor, R.max_distance_km * 1000.0)
    listed = (
        select(func.ST_Extent(Municipality.boundary))
        .where(Municipality.ags == any_(R.municipalities))
        .scalar_subquery()
    )
    home_regions = (
        select(func.ST_Extent(cast(extents.c.box, Geometry)))
        .join_from(
            region_municipalities,
            extents,
            extents.c.region_slug == region_municipalities.c.region_slug,
        )
        .where(region_municipalities.c.ags == R.home_ags)
        .scalar_subquery()
    )
    default = case((and_(~has_location(), R.home_ags.is_not(None)), home_regions), else_=null())
    parts = [anchor_box, R.area, listed, default]

    def edge(fn: str, start: float, pick: Any) -> ColumnElement[float]:
        # greatest/least skip NULLs: absent parts do not narrow the box.
        return pick(num(start), *(getattr(func, fn)(part) for part in parts))  # type: ignore[no-any-return]

    x0 = edge("ST_XMin", WORLD[0], func.greatest)
    y0 = edge("ST_YMin", WORLD[1], func.greatest)
    x1 = func.greatest(edge("ST_XMax", WORLD[2], func.least), x0)
    y1 = func.greatest(edge("ST_YMax", WORLD[3], func.least), y0)
    return func.ST_MakeEnvelope(x0, y0, x1, y1, 25832)
