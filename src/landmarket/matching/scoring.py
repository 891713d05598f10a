"""Match scores: pure functions, the reference for the SQL in ``matching.repository``.

Each criterion scores a plot in [0, 1]; the match score is the weighted mean times 100.
The SQL computes the same formulas set-based; tests compare both on random data, and the
property tests here check that every criterion is monotone in the plot's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

CRITERIA = ("area", "distance", "price", "availability", "infrastructure", "reactivation")
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "area": 5.0,
    "distance": 5.0,
    "price": 5.0,
    "availability": 3.0,
    "infrastructure": 3.0,
    "reactivation": 2.0,
}
# Without max_distance_km, distance from the home municipality is scored on this scale.
HOME_DISTANCE_SCALE_KM = 30.0
# Without a budget, a price scores 0.5 at these typical FrankfurtRheinMain levels.
TYPICAL_PRICE_EUR_PER_M2 = 100.0
TYPICAL_RENT_EUR_PER_M2_MONTH = 8.0
UNKNOWN_PRICE_SCORE = 0.5
# A part of a divisible plot is worth less than a plot of the right size: it must be split.
PARTIAL_AREA_FACTOR = 0.75
FULL_BROADBAND_MBPS = 1000.0
TRANSIT_HALF_SCORE_M = 300.0
MOTORWAY_HALF_SCORE_KM = 5.0
DAYS_HALF_SCORE = 365.0
REACTIVATION = {"brownfield": 1.0, "vacant_building": 1.0, "infill_gap": 0.5}

BUY_TENURES = frozenset({"sale", "sale_or_lease"})
LEASE_TENURES = frozenset({"lease", "sale_or_lease", "hereditary_lease"})


def area_score(area_m2: float, area_max_m2: float) -> float:
    """1 for a plot inside the range; a divisible larger plot less the more it must be split."""
    if area_m2 <= area_max_m2:
        return 1.0
    return PARTIAL_AREA_FACTOR * area_max_m2 / area_m2


def distance_score(distance_km: float, scale_km: float) -> float:
    """Linear from 1 at the reference to 0 at ``scale_km`` (max_distance_km or 30 km)."""
    return max(0.0, 1.0 - distance_km / scale_km)


def side_price_score(price: float | None, maximum: float | None, typical: float) -> float:
    """One side (sale or rent): unknown 0.5; under a budget 1 (free) to 0.5 (at the maximum);
    without a budget typical/(typical + price)."""
    if price is None:
        return UNKNOWN_PRICE_SCORE
    if maximum is not None:
        return 1.0 - 0.5 * price / maximum
    return typical / (typical + price)


def acceptable_sides(requirement_tenure: str, plot_tenure: str | None) -> tuple[bool, bool]:
    """Rule 4 per side: may the plot be bought, may it be leased, for this requirement?"""
    if requirement_tenure == "buy":
        return plot_tenure in BUY_TENURES, False
    if requirement_tenure == "lease":
        return False, plot_tenure in LEASE_TENURES
    # either: unknown tenure leaves both sides open
    return (plot_tenure is None or plot_tenure in BUY_TENURES), (
        plot_tenure is None or plot_tenure in LEASE_TENURES
    )


def within_budget(price: float | None, maximum: float | None) -> bool:
    """Rule 5 per side: only a known price above a given maximum excludes."""
    return price is None or maximum is None or price <= maximum


def price_score(
    requirement_tenure: str,
    plot_tenure: str | None,
    price: float | None,
    rent: float | None,
    max_price: float | None,
    max_rent: float | None,
) -> float:
    """The better of the acceptable sides within budget (0 when none is: not a match)."""
    buy, lease = acceptable_sides(requirement_tenure, plot_tenure)
    scores = []
    if buy and within_budget(price, max_price):
        scores.append(side_price_score(price, max_price, TYPICAL_PRICE_EUR_PER_M2))
    if lease and within_budget(rent, max_rent):
        scores.append(side_price_score(rent, max_rent, TYPICAL_RENT_EUR_PER_M2_MONTH))
    return max(scores, default=0.0)


def availability_score(available_from: date | None, needed_by: date | None, today: date) -> float:
    """1 when available now; a later date loses up to half by ``needed_by``, or without
    ``needed_by`` scores 365/(365 + days of waiting)."""
    wait = max(0, (available_from - today).days) if available_from else 0
    if wait == 0:
        return 1.0
    if needed_by is not None and needed_by > today:
        return 1.0 - 0.5 * min(wait / (needed_by - today).days, 1.0)
    return 1.0 / (1.0 + wait / DAYS_HALF_SCORE)


def infrastructure_score(
    fibre: bool,
    broadband_mbps: int | None,
    transit_stop_distance_m: int | None,
    motorway_distance_km: float | None,
    rail_siding: bool,
) -> float:
    """Mean of five parts; an unknown value scores 0 (a municipality should say it)."""
    broadband = min((broadband_mbps or 0) / FULL_BROADBAND_MBPS, 1.0)
    transit = (
        0.0
        if transit_stop_distance_m is None
        else TRANSIT_HALF_SCORE_M / (TRANSIT_HALF_SCORE_M + transit_stop_distance_m)
    )
    motorway = (
        0.0
        if motorway_distance_km is None
        else MOTORWAY_HALF_SCORE_KM / (MOTORWAY_HALF_SCORE_KM + motorway_distance_km)
    )
    return (float(fibre) + broadband + transit + motorway + float(rail_siding)) / 5.0


def reactivation_score(category: str | None) -> float:
    """Inner before outer development: brownfields and vacant buildings 1, infill gaps 0.5."""
    return REACTIVATION.get(category or "", 0.0)


def total_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted mean times 100, rounded to 2 decimals; all weights 0 → 100 (no preference)."""
    weight_sum = sum(weights[c] for c in scores)
    if weight_sum == 0:
        return 100.0
    return round(100.0 * sum(weights[c] * s for c, s in scores.items()) / weight_sum, 2)
