"""Matching rules 1-8 as one SQL predicate over (requirement, plot): which pairs match at all
(zones for the emission class, area, tenure and price, location, must-haves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    any_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)

from landmarket.matching import scoring as sc
from landmarket.municipalities.models import region_municipalities
from landmarket.plots.models import Contamination, Plot, PlotStatus, Servicing, Zoning
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


def same_region(home_ags: Any, ags: Any) -> ColumnElement[bool]:
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


def buy_ok() -> ColumnElement[bool]:
    return and_(_side_acceptable(True), _within(P.price_eur_per_m2, R.max_price_eur_per_m2))


def lease_ok() -> ColumnElement[bool]:
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
        or_(has_location(), R.home_ags.is_(None), same_region(R.home_ags, P.municipality_ags))
    ]
    return and_(
        P.status == PlotStatus.published,
        R.status == RequirementStatus.open,
        or_(in_range, divisible),
        zones_ok,
        or_(buy_ok(), lease_ok()),
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
