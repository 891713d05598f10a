"""The full explanation rendered from the stored compact one when matches are read (value,
score, weight, reason per criterion), in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
)

from landmarket.matching import scoring as sc
from landmarket.matching.terms import SCORE_AT, WAIT_AT, WEIGHT_AT, num
from landmarket.plots.models import Category, Plot
from landmarket.requirements.models import Requirement

R, P = Requirement, Plot


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
            (distance_km.is_not(None), num(sc.HOME_DISTANCE_SCALE_KM)),
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
