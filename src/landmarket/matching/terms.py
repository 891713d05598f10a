"""The score terms as SQL over (requirement, plot): per-criterion scores, effective weights (the
region policy's defaults filled in), the total and the compact stored explanation. The
formulas mirror ``matching.scoring`` term by term."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Numeric,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.sql.selectable import CTE

from landmarket.matching import scoring as sc
from landmarket.matching.eligibility import buy_ok, lease_ok
from landmarket.municipalities.models import Municipality, Region, region_municipalities
from landmarket.plots.models import Category, Plot
from landmarket.requirements.models import Requirement

R, P = Requirement, Plot


def num(value: float) -> ColumnElement[float]:
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


def _side_score(price: Any, maximum: Any, typical: float) -> ColumnElement[float]:
    return case(
        (price.is_(None), num(sc.UNKNOWN_PRICE_SCORE)),
        (maximum.is_not(None), 1.0 - 0.5 * price / maximum),
        else_=typical / (typical + price),
    )


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
        scale = case((has_anchor, R.max_distance_km), else_=num(sc.HOME_DISTANCE_SCALE_KM))
        horizon = cast(R.needed_by - day, Float)
        price_s = func.coalesce(
            func.greatest(
                case(
                    (
                        buy_ok(),
                        _side_score(
                            P.price_eur_per_m2, R.max_price_eur_per_m2, sc.TYPICAL_PRICE_EUR_PER_M2
                        ),
                    )
                ),
                case(
                    (
                        lease_ok(),
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
            *(
                (P.category == Category(name), num(value))
                for name, value in sc.REACTIVATION.items()
            ),
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
    total_w = sum((weights[c] for c in sc.CRITERIA), num(0.0))
    weighted = sum(
        (weights[c] * func.coalesce(scores[c], 0.0) for c in sc.CRITERIA),
        num(0.0),
    )
    mean = cast(100.0 * weighted / func.nullif(total_w, 0.0), Numeric)
    return cast(func.coalesce(func.round(mean, 2), 100.0), Float)


def compact_explanation(scores: Any, weights: Any, wait: Any) -> ColumnElement[Any]:
    """What is stored per match (see SCORE_AT / WEIGHT_AT / WAIT_AT)."""
    compact = func.jsonb_build_array(
        *(scores[c] for c in sc.CRITERIA), *(weights[c] for c in sc.CRITERIA), wait
    )
    return type_coerce(compact, JSONB)
