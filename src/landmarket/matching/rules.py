"""Matching rules 1-8 and the score formulas as SQL expressions over (requirement, plot).

One place builds the candidate select; the requirement, plot and full-rebuild paths only
differ in their WHERE. The formulas mirror ``matching.scoring`` term by term.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Float,
    Numeric,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import CTE

from landmarket.matching import scoring as sc
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.plots.models import Category, Contamination, Plot, PlotStatus, Servicing, Zoning
from landmarket.requirements.models import EmissionClass, Requirement, RequirementStatus

R, P = Requirement, Plot
Home = aliased(Municipality, name="home")

_GENERAL = (Zoning.MU, Zoning.MI, Zoning.MK, Zoning.GE, Zoning.GI)
# DESIGN.md: emission class of the operation -> BauNVO zones it may use.
EMISSION_ZONES: dict[EmissionClass, tuple[Zoning, ...]] = {
    EmissionClass.non_disturbing: _GENERAL,
    EmissionClass.not_substantially_disturbing: _GENERAL,
    EmissionClass.not_substantially_annoying: (Zoning.GE, Zoning.GI),
    EmissionClass.substantially_annoying: (Zoning.GI,),
}
# A box in EPSG:25832 containing everything: the search box when the location limits nothing.
WORLD = (-2.0e7, -2.0e7, 2.0e7, 2.0e7)


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

    return (
        select(region_municipalities.c.ags, *(weight(c) for c in sc.CRITERIA))
        .join(Region, Region.slug == region_municipalities.c.region_slug)
        .group_by(region_municipalities.c.ags)
        .cte("policy")
    )


def _same_region(home_ags: Any, ags: Any) -> ColumnElement[bool]:
    a = region_municipalities.alias("home_rm")
    b = region_municipalities.alias("plot_rm")
    return exists().where(a.c.ags == home_ags, b.c.region_slug == a.c.region_slug, b.c.ags == ags)


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


def match_rules() -> ColumnElement[bool]:
    """Rules 1-8 of docs/matching.md (the GiST prefilter on search_box comes on top)."""
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
    no_location = ~has_location()
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
        or_(R.anchor.is_(None), func.ST_DWithin(R.anchor, P.geom, R.max_distance_km * 1000.0)),
        or_(R.municipalities.is_(None), P.municipality_ags == any_(R.municipalities)),
        or_(R.area.is_(None), func.ST_Intersects(R.area, P.geom)),
        or_(~no_location, R.home_ags.is_(None), _same_region(R.home_ags, P.municipality_ags)),
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


class Terms:
    """The per-criterion values, scores and weights of one (requirement, plot) pair."""

    def __init__(self, policy: CTE, today: date) -> None:
        day = bindparam("today", today, type_=Date)
        has_anchor = R.anchor.is_not(None)
        self.distance_km: ColumnElement[float] = case(
            (has_anchor, func.ST_Distance(R.anchor, P.geom) / 1000.0),
            else_=func.ST_Distance(Home.boundary, P.geom) / 1000.0,
        )
        scale = case((has_anchor, R.max_distance_km), else_=_f(sc.HOME_DISTANCE_SCALE_KM))
        wait = case(
            (and_(P.available_from.is_not(None), P.available_from > day), P.available_from - day),
            else_=0,
        )
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
        self.scores: dict[str, ColumnElement[Any]] = {
            "area": case(
                (P.area_m2 <= R.area_max_m2, 1.0),
                else_=sc.PARTIAL_AREA_FACTOR * R.area_max_m2 / P.area_m2,
            ),
            "distance": func.greatest(0.0, 1.0 - self.distance_km / scale),
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
        self.weights: dict[str, ColumnElement[float]] = {
            c: func.coalesce(getattr(R, f"weight_{c}"), policy.c[c], sc.DEFAULT_WEIGHTS[c])
            for c in sc.CRITERIA
        }
        # No anchor and no home municipality: nothing to measure distance from.
        self.weights["distance"] = case(
            (self.distance_km.is_(None), 0.0), else_=self.weights["distance"]
        )
        self.values: dict[str, Any] = {
            "area": P.area_m2,
            "distance": self.distance_km,
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
        self.reasons: dict[str, ColumnElement[str]] = {
            "area": case(
                (P.area_m2 <= R.area_max_m2, literal("within the requested range")),
                else_=literal("larger than the maximum but divisible: a part fits"),
            ),
            "distance": case(
                (has_anchor, literal("distance from the anchor point")),
                (self.distance_km.is_not(None), literal("distance from the home municipality")),
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
                (wait == 0, literal("available now")),
                else_=func.concat(literal("available in "), wait, literal(" days")),
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

    def score(self) -> ColumnElement[float]:
        total_w = sum((self.weights[c] for c in sc.CRITERIA), _f(0.0))
        weighted = sum(
            (self.weights[c] * func.coalesce(self.scores[c], 0.0) for c in sc.CRITERIA),
            _f(0.0),
        )
        mean = cast(100.0 * weighted / func.nullif(total_w, 0.0), Numeric)
        return cast(func.coalesce(func.round(mean, 2), 100.0), Float)

    def explanation(self) -> ColumnElement[Any]:
        return func.jsonb_build_array(
            *(
                func.jsonb_build_object(
                    literal("criterion"),
                    literal(c),
                    literal("value"),
                    self.values[c],
                    literal("score"),
                    self.scores[c],
                    literal("weight"),
                    self.weights[c],
                    literal("reason"),
                    self.reasons[c],
                )
                for c in sc.CRITERIA
            )
        )


def candidates(today: date, scope: ColumnElement[bool]) -> Select[Any]:
    """Every (requirement, plot) pair within ``scope`` that matches, with its score."""
    policy = policy_cte()
    terms = Terms(policy, today)
    prefilter = P.geom.op("&&", is_comparison=True, return_type=Boolean)(R.search_box)
    return (
        select(
            R.id.label("requirement_id"),
            P.id.label("plot_id"),
            terms.score().label("score"),
            (P.area_m2 > R.area_max_m2).label("partial"),
            and_(R.home_ags.is_not(None), R.home_ags != P.municipality_ags).label("cross_border"),
            terms.distance_km.label("distance_km"),
            terms.explanation().label("explanation"),
        )
        .select_from(R)
        .join(P, and_(prefilter, match_rules()))
        .outerjoin(Home, Home.ags == R.home_ags)
        .outerjoin(policy, policy.c.ags == P.municipality_ags)
        .where(scope)
    )


def search_box() -> ColumnElement[Any]:
    """The requirement's search box: the intersection of the boxes of its location parts
    (or of its home regions when it has none)."""
    anchor_box = func.ST_Expand(R.anchor, R.max_distance_km * 1000.0)
    listed = (
        select(func.ST_Extent(Municipality.boundary))
        .where(Municipality.ags == any_(R.municipalities))
        .scalar_subquery()
    )
    a = region_municipalities.alias("home_rm")
    b = region_municipalities.alias("member_rm")
    home_regions = (
        select(func.ST_Extent(Municipality.boundary))
        .select_from(a)
        .join(b, b.c.region_slug == a.c.region_slug)
        .join(Municipality, Municipality.ags == b.c.ags)
        .where(a.c.ags == R.home_ags)
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
