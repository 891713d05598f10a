"""Matching rules 1-8 and the score formulas as SQL expressions over (requirement, plot).

One place builds the candidate select; the requirement, plot and full-rebuild paths only
differ in their WHERE. The formulas mirror ``matching.scoring`` term by term.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.sql.selectable import CTE

from landmarket.db.geo import WORLD
from landmarket.matching import scoring as sc
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.plots.models import Category, Contamination, Plot, PlotStatus, Servicing, Zoning
from landmarket.requirements.models import EmissionClass, Requirement, RequirementStatus

R, P = Requirement, Plot

_GENERAL = (Zoning.MU, Zoning.MI, Zoning.MK, Zoning.GE, Zoning.GI)
# DESIGN.md: emission class of the operation -> BauNVO zones it may use.
EMISSION_ZONES: dict[EmissionClass, tuple[Zoning, ...]] = {
    EmissionClass.non_disturbing: _GENERAL,
    EmissionClass.not_substantially_disturbing: _GENERAL,
    EmissionClass.not_substantially_annoying: (Zoning.GE, Zoning.GI),
    EmissionClass.substantially_annoying: (Zoning.GI,),
}


def _f(value: float) -> ColumnElement[float]:
    return literal(value, Float)


def policy_cte() -> CTE:
    """Per municipality, the region policy's default weights (``<criterion>_weight`` in
    Region.settings, clamped to 0-10; the highest when a municipality is in several regions)."""

    def weight(criterion: str) -> ColumnElement[Any]:
        raw = Region.settings[f"{criterion}_weight"]
        # greatest/least would turn a missing setting (NULL) into 0: clamp numbers only.
        clamped = case(
            (
                func.jsonb_typeof(raw) == "number",
                func.least(func.greatest(cast(raw.astext, Float), 0.0), 10.0),
            ),
            else_=null(),
        )
        return func.max(clamped).label(criterion)

    # Only regions that set a weight: without a policy the map stays empty, instead of one
    # entry per municipality (10,800 for Germany) built for every statement.
    keys = array([f"{c}_weight" for c in sc.CRITERIA], type_=Text)
    return (
        select(region_municipalities.c.ags, *(weight(c) for c in sc.CRITERIA))
        .join(Region, Region.slug == region_municipalities.c.region_slug)
        .where(Region.settings.has_any(keys))
        .group_by(region_municipalities.c.ags)
        .cte("policy")
    )


def _same_region(home_ags: Any, ags: Any) -> ColumnElement[bool]:
    """Whether ``ags`` shares a region with ``home_ags``: two index lookups
    (ix_region_municipalities_ags, the primary key). Only requirements without a location
    ask, and only for plots that passed the cheaper rules (the planner evaluates this last);
    a map of every municipality's regions built per statement cost ~50 ms at national scale,
    more than the whole search for one requirement."""
    member = region_municipalities.alias("member_rm")
    home = region_municipalities.alias("home_rm")
    shared = (
        select(literal(1))
        .select_from(member.join(home, home.c.region_slug == member.c.region_slug))
        .where(member.c.ags == ags, home.c.ags == home_ags)
        # Explicitly: the requirement may be two SELECTs out (a LATERAL over plots), where
        # auto-correlation does not reach.
        .correlate_except(member, home)
    )
    return shared.exists()


def has_location() -> ColumnElement[bool]:
    return or_(R.anchor.is_not(None), R.municipalities.is_not(None), R.area.is_not(None))


def _side_acceptable(buy: bool) -> ColumnElement[bool]:
    tenures = sc.BUY_TENURES if buy else sc.LEASE_TENURES
    own = "buy" if buy else "lease"
    in_side = P.tenure.in_(sorted(tenures))
    return or_(
        and_(R.tenure == own, in_side),
        and_(R.tenure == "either", or_(P.tenure.is_(None), in_side)),
    )


def _within(price: Any, maximum: Any) -> ColumnElement[bool]:
    return or_(price.is_(None), maximum.is_(None), price <= maximum)


def _side_score(price: Any, maximum: Any, typical: float) -> ColumnElement[float]:
    return case(
        (price.is_(None), _f(sc.UNKNOWN_PRICE_SCORE)),
        (maximum.is_not(None), 1.0 - 0.5 * price / maximum),
        else_=typical / (typical + price),
    )


def _buy_ok() -> ColumnElement[bool]:
    return and_(_side_acceptable(True), _within(P.price_eur_per_m2, R.max_price_eur_per_m2))


def _lease_ok() -> ColumnElement[bool]:
    return and_(
        _side_acceptable(False), _within(P.rent_eur_per_m2_month, R.max_rent_eur_per_m2_month)
    )


def match_rules(located: bool | None = None) -> ColumnElement[bool]:
    """Rules 1-8 of docs/matching.md (the GiST prefilter on search_box comes on top).

    ``located``: only for requirements where ``searches_box()`` is that value. Rule 7's parts
    that cannot apply to them are left out (a requirement with a location has no home-region
    search; one without has no anchor, listed municipalities or area), which saves their
    planning and evaluation."""
    in_range = and_(P.area_m2 >= R.area_min_m2, P.area_m2 <= R.area_max_m2)
    divisible = and_(
        P.divisible,
        P.area_m2 >= R.area_min_m2,
        func.coalesce(P.min_divisible_area_m2, 0.0) <= R.area_max_m2,
    )
    zoning = cast(P.zoning, String)
    derived = or_(
        *(and_(R.emission_class == ec, P.zoning.in_(zones)) for ec, zones in EMISSION_ZONES.items())
    )
    zones_ok = case(
        (R.zonings.is_not(None), func.coalesce(zoning == any_(R.zonings), false())),
        else_=func.coalesce(derived, false()),
    )
    location = [
        or_(R.anchor.is_(None), func.ST_DWithin(R.anchor, P.geom, R.max_distance_km * 1000.0)),
        or_(R.municipalities.is_(None), P.municipality_ags == any_(R.municipalities)),
        or_(R.area.is_(None), func.ST_Intersects(R.area, P.geom)),
    ]
    home_region = [
        or_(has_location(), R.home_ags.is_(None), _same_region(R.home_ags, P.municipality_ags))
    ]
    return and_(
        P.status == PlotStatus.published,
        R.status == RequirementStatus.open,
        or_(in_range, divisible),
        zones_ok,
        or_(_buy_ok(), _lease_ok()),
        or_(
            R.needed_by.is_(None),
            P.available_from.is_(None),
            P.available_from <= R.needed_by,
        ),
        *(location if located is not False else []),
        *(home_region if located is not True else []),
        or_(~R.must_fibre, P.fibre_available),
        or_(~R.must_rail_siding, P.rail_siding),
        or_(~R.must_developed, func.coalesce(P.servicing == Servicing.developed, false())),
        or_(
            ~R.must_no_contamination,
            func.coalesce(
                P.contamination.in_([Contamination.none, Contamination.remediated]), false()
            ),
        ),
        or_(
            R.must_max_transit_stop_distance_m.is_(None),
            P.transit_stop_distance_m <= R.must_max_transit_stop_distance_m,
        ),
        or_(
            R.must_max_motorway_distance_km.is_(None),
            P.motorway_distance_km <= R.must_max_motorway_distance_km,
        ),
    )


# Layout of the stored, compact explanation (``matches.explanation``): a JSON array of the six
# criterion scores, then the six effective weights (both in ``scoring.CRITERIA`` order), then
# the days of waiting the availability score was computed with. The full explanation (value,
# score, weight, reason per criterion) is rendered from it when matches are read.
SCORE_AT = {c: i for i, c in enumerate(sc.CRITERIA)}
WEIGHT_AT = {c: len(sc.CRITERIA) + i for i, c in enumerate(sc.CRITERIA)}
WAIT_AT = 2 * len(sc.CRITERIA)


def policy_weights() -> ColumnElement[Any]:
    """The region policy as one JSON object {ags: {criterion: weight}}: an uncorrelated
    subquery (evaluated once per statement) instead of a join repeated per matched pair."""
    policy = policy_cte()
    per_ags = func.jsonb_build_object(
        *(arg for c in sc.CRITERIA for arg in (literal(c), policy.c[c]))
    )
    agg = select(func.jsonb_object_agg(policy.c.ags, per_ags)).scalar_subquery()
    return type_coerce(agg, JSONB)


class Terms:
    """Per (requirement, plot) pair: the distance, the days of waiting, the per-criterion
    scores and the effective weights."""

    def __init__(self, today: date) -> None:
        day = bindparam("today", today, type_=Date)
        has_anchor = R.anchor.is_not(None)
        home_boundary = (
            select(Municipality.boundary)
            .where(Municipality.ags == R.home_ags)
            .correlate(R)
            .scalar_subquery()
        )
        self.distance_km: ColumnElement[float] = case(
            (has_anchor, func.ST_Distance(R.anchor, P.geom) / 1000.0),
            else_=func.ST_Distance(home_boundary, P.geom) / 1000.0,
        )
        self.wait: ColumnElement[int] = case(
            (and_(P.available_from.is_not(None), P.available_from > day), P.available_from - day),
            else_=0,
        )
        self.day = day

    def per_pair(
        self, distance_km: Any, wait: Any, policy: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Scores and weights, given the pair's distance, wait and region policy (computed
        once, in a LATERAL subquery, rather than once per reference)."""
        day = self.day
        has_anchor = R.anchor.is_not(None)
        scale = case((has_anchor, R.max_distance_km), else_=_f(sc.HOME_DISTANCE_SCALE_KM))
        horizon = cast(R.needed_by - day, Float)
        price_s = func.coalesce(
            func.greatest(
                case(
                    (
                        _buy_ok(),
                        _side_score(
                            P.price_eur_per_m2, R.max_price_eur_per_m2, sc.TYPICAL_PRICE_EUR_PER_M2
                        ),
                    )
                ),
                case(
                    (
                        _lease_ok(),
                        _side_score(
                            P.rent_eur_per_m2_month,
                            R.max_rent_eur_per_m2_month,
                            sc.TYPICAL_RENT_EUR_PER_M2_MONTH,
                        ),
                    )
                ),
            ),
            0.0,
        )
        infra = (
            case((P.fibre_available, 1.0), else_=0.0)
            + func.least(func.coalesce(P.broadband_mbps, 0) / sc.FULL_BROADBAND_MBPS, 1.0)
            + case(
                (P.transit_stop_distance_m.is_(None), 0.0),
                else_=sc.TRANSIT_HALF_SCORE_M
                / (sc.TRANSIT_HALF_SCORE_M + P.transit_stop_distance_m),
            )
            + case(
                (P.motorway_distance_km.is_(None), 0.0),
                else_=sc.MOTORWAY_HALF_SCORE_KM
                / (sc.MOTORWAY_HALF_SCORE_KM + P.motorway_distance_km),
            )
            + case((P.rail_siding, 1.0), else_=0.0)
        ) / 5.0
        reactivation = case(
            *((P.category == Category(name), _f(value)) for name, value in sc.REACTIVATION.items()),
            else_=0.0,
        )
        scores: dict[str, Any] = {
            "area": case(
                (P.area_m2 <= R.area_max_m2, 1.0),
                else_=sc.PARTIAL_AREA_FACTOR * R.area_max_m2 / P.area_m2,
            ),
            "distance": func.greatest(0.0, 1.0 - distance_km / scale),
            "price": price_s,
            "availability": case(
                (wait == 0, 1.0),
                (
                    and_(R.needed_by.is_not(None), R.needed_by > day),
                    1.0 - 0.5 * func.least(cast(wait, Float) / horizon, 1.0),
                ),
                else_=1.0 / (1.0 + cast(wait, Float) / sc.DAYS_HALF_SCORE),
            ),
            "infrastructure": infra,
            "reactivation": reactivation,
        }
        weights: dict[str, Any] = {
            c: func.coalesce(
                getattr(R, f"weight_{c}"),
                cast(policy[c].astext, Float),
                sc.DEFAULT_WEIGHTS[c],
            )
            for c in sc.CRITERIA
        }
        # No anchor and no home municipality: nothing to measure distance from.
        weights["distance"] = case((distance_km.is_(None), 0.0), else_=weights["distance"])
        return scores, weights


def total_score(scores: Any, weights: Any) -> ColumnElement[float]:
    """Weighted mean times 100 over columns ``scores[c]`` and ``weights[c]``."""
    total_w = sum((weights[c] for c in sc.CRITERIA), _f(0.0))
    weighted = sum(
        (weights[c] * func.coalesce(scores[c], 0.0) for c in sc.CRITERIA),
        _f(0.0),
    )
    mean = cast(100.0 * weighted / func.nullif(total_w, 0.0), Numeric)
    return cast(func.coalesce(func.round(mean, 2), 100.0), Float)


def compact_explanation(scores: Any, weights: Any, wait: Any) -> ColumnElement[Any]:
    """What is stored per match (see SCORE_AT / WEIGHT_AT / WAIT_AT)."""
    compact = func.jsonb_build_array(
        *(scores[c] for c in sc.CRITERIA), *(weights[c] for c in sc.CRITERIA), wait
    )
    return type_coerce(compact, JSONB)


def explanation(stored: Any, distance_km: Any, partial: Any) -> ColumnElement[Any]:
    """The full explanation of a stored match, rendered when it is read: value (from the
    plot and the stored distance), score and weight (stored), reason (from the requirement,
    the plot and the stored wait). Needs ``plots`` and ``requirements`` in the FROM."""
    wait = stored[WAIT_AT]
    waiting = cast(stored[WAIT_AT].astext, Integer)
    values: dict[str, Any] = {
        "area": P.area_m2,
        "distance": distance_km,
        "price": func.jsonb_build_object(
            literal("price_eur_per_m2"),
            P.price_eur_per_m2,
            literal("rent_eur_per_m2_month"),
            P.rent_eur_per_m2_month,
        ),
        "availability": P.available_from,
        "infrastructure": func.jsonb_build_object(
            literal("fibre_available"),
            P.fibre_available,
            literal("broadband_mbps"),
            P.broadband_mbps,
            literal("transit_stop_distance_m"),
            P.transit_stop_distance_m,
            literal("motorway_distance_km"),
            P.motorway_distance_km,
            literal("rail_siding"),
            P.rail_siding,
        ),
        "reactivation": P.category,
    }
    reasons: dict[str, ColumnElement[str]] = {
        "area": case(
            (~partial, literal("within the requested range")),
            else_=literal("larger than the maximum but divisible: a part fits"),
        ),
        "distance": case(
            (R.anchor.is_not(None), literal("distance from the anchor point")),
            (distance_km.is_not(None), literal("distance from the home municipality")),
            else_=literal("no anchor and no home municipality: not weighted"),
        ),
        "price": case(
            (
                and_(P.price_eur_per_m2.is_(None), P.rent_eur_per_m2_month.is_(None)),
                literal("price on request"),
            ),
            (
                or_(
                    R.max_price_eur_per_m2.is_not(None),
                    R.max_rent_eur_per_m2_month.is_not(None),
                ),
                literal("within the budget; cheaper scores higher"),
            ),
            else_=literal("no budget given: compared with typical regional prices"),
        ),
        "availability": case(
            (waiting == 0, literal("available now")),
            else_=func.concat(literal("available in "), wait.astext, literal(" days")),
        ),
        "infrastructure": literal(
            "fibre, broadband, transit stop, motorway and rail siding; unknown counts 0"
        ),
        "reactivation": case(
            (
                P.category.in_([Category.brownfield, Category.vacant_building]),
                literal("reactivates a brownfield or vacant building"),
            ),
            (P.category == Category.infill_gap, literal("infill gap: inner development")),
            else_=literal("not a reactivation site"),
        ),
    }
    # For people and clients: the unit of the value, the requirement's limit it was measured
    # against, and which variant of the reason applies (a stable code; ``explain_text``
    # words it in German or English).
    units: dict[str, Any] = {
        "area": literal("m2"),
        "distance": literal("km"),
        "price": literal("eur_m2"),
        "availability": literal("date"),
        "infrastructure": null(),
        "reactivation": null(),
    }
    limits: dict[str, Any] = {
        "area": func.jsonb_build_object(
            literal("area_min_m2"), R.area_min_m2, literal("area_max_m2"), R.area_max_m2
        ),
        "distance": case(
            (R.anchor.is_not(None), R.max_distance_km),
            (distance_km.is_not(None), _f(sc.HOME_DISTANCE_SCALE_KM)),
        ),
        "price": func.jsonb_build_object(
            literal("max_price_eur_per_m2"),
            R.max_price_eur_per_m2,
            literal("max_rent_eur_per_m2_month"),
            R.max_rent_eur_per_m2_month,
        ),
        "availability": R.needed_by,
        "infrastructure": null(),
        "reactivation": null(),
    }
    bases: dict[str, Any] = {
        "area": case((~partial, literal("in_range")), else_=literal("partial")),
        "distance": case(
            (R.anchor.is_not(None), literal("anchor")),
            (distance_km.is_not(None), literal("home")),
            else_=literal("none"),
        ),
        "price": case(
            (
                and_(P.price_eur_per_m2.is_(None), P.rent_eur_per_m2_month.is_(None)),
                literal("on_request"),
            ),
            (
                or_(
                    R.max_price_eur_per_m2.is_not(None),
                    R.max_rent_eur_per_m2_month.is_not(None),
                ),
                literal("budget"),
            ),
            else_=literal("typical"),
        ),
        "availability": case((waiting == 0, literal("now")), else_=literal("later")),
        "infrastructure": literal("infrastructure"),
        "reactivation": case(
            (P.category.in_([Category.brownfield, Category.vacant_building]), literal("reuse")),
            (P.category == Category.infill_gap, literal("infill")),
            else_=literal("none"),
        ),
    }
    return func.jsonb_build_array(
        *(
            func.jsonb_build_object(
                literal("criterion"),
                literal(c),
                literal("value"),
                values[c],
                literal("score"),
                stored[SCORE_AT[c]],
                literal("weight"),
                stored[WEIGHT_AT[c]],
                literal("reason"),
                reasons[c],
                literal("unit"),
                units[c],
                literal("limit"),
                limits[c],
                literal("basis"),
                bases[c],
            )
            for c in sc.CRITERIA
        )
    )


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
        return pick(_f(start), *(getattr(func, fn)(part) for part in parts))  # type: ignore[no-any-return]

    x0 = edge("ST_XMin", WORLD[0], func.greatest)
    y0 = edge("ST_YMin", WORLD[1], func.greatest)
    x1 = func.greatest(edge("ST_XMax", WORLD[2], func.least), x0)
    y1 = func.greatest(edge("ST_YMax", WORLD[3], func.least), y0)
    return func.ST_MakeEnvelope(x0, y0, x1, y1, 25832)
