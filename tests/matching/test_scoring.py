"""Property tests of matching.scoring: every criterion and the total are monotone, in [0, 1]
(resp. 0-100), and region policy only changes weights."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from landmarket.matching import scoring as sc

TODAY = date(2026, 6, 1)
pos = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
money = st.floats(min_value=0.01, max_value=1e4, allow_nan=False, allow_infinity=False)
maybe_money = st.none() | money
weights = st.fixed_dictionaries(
    {c: st.floats(min_value=0, max_value=10, allow_nan=False) for c in sc.CRITERIA}
)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
tenures = st.sampled_from(["buy", "lease", "either"])
plot_tenures = st.none() | st.sampled_from(sorted(sc.BUY_TENURES | sc.LEASE_TENURES))
days = st.integers(min_value=-1000, max_value=3000)


@given(pos, pos, st.floats(min_value=0.1, max_value=500))
def test_closer_never_scores_lower(a: float, b: float, scale: float) -> None:
    near, far = sorted((a / 1000, b / 1000))
    assert sc.distance_score(near, scale) >= sc.distance_score(far, scale)
    assert 0 <= sc.distance_score(far, scale) <= 1


@given(tenures, plot_tenures, pos, pos, maybe_money, maybe_money, st.booleans())
def test_cheaper_never_scores_lower(
    tenure: str,
    plot_tenure: str | None,
    a: float,
    b: float,
    max_price: float | None,
    max_rent: float | None,
    rent_side: bool,
) -> None:
    cheap, dear = sorted((a, b))
    other = 100.0
    if rent_side:
        low = sc.price_score(tenure, plot_tenure, other, cheap, max_price, max_rent)
        high = sc.price_score(tenure, plot_tenure, other, dear, max_price, max_rent)
    else:
        low = sc.price_score(tenure, plot_tenure, cheap, other, max_price, max_rent)
        high = sc.price_score(tenure, plot_tenure, dear, other, max_price, max_rent)
    assert low >= high
    assert 0 <= high <= low <= 1


@given(days, days, st.none() | days)
def test_sooner_never_scores_lower(a: int, b: int, needed_in: int | None) -> None:
    soon, late = sorted((a, b))
    needed_by = None if needed_in is None else TODAY + timedelta(days=needed_in)
    # Rule 6 only lets plots available by needed_by through; score those.
    if needed_by is not None and TODAY + timedelta(days=late) > max(needed_by, TODAY):
        return
    s_soon = sc.availability_score(TODAY + timedelta(days=soon), needed_by, TODAY)
    s_late = sc.availability_score(TODAY + timedelta(days=late), needed_by, TODAY)
    assert s_soon >= s_late
    assert 0 <= s_late <= s_soon <= 1
    assert sc.availability_score(None, needed_by, TODAY) == 1


connections = st.tuples(
    st.booleans(),
    st.none() | st.integers(min_value=0, max_value=100_000),
    st.none() | st.integers(min_value=0, max_value=50_000),
    st.none() | st.floats(min_value=0, max_value=500, allow_nan=False),
    st.booleans(),
)


@given(connections, connections)
def test_better_connected_never_scores_lower(
    a: tuple[bool, int | None, int | None, float | None, bool],
    b: tuple[bool, int | None, int | None, float | None, bool],
) -> None:
    """Take the better value of each part from a and b: that plot never scores lower."""

    def best_int(x: int | None, y: int | None, *, low: bool) -> int | None:
        known = [v for v in (x, y) if v is not None]
        return (min(known) if low else max(known)) if known else None

    better = (
        a[0] or b[0],
        best_int(a[1], b[1], low=False),
        best_int(a[2], b[2], low=True),
        min((v for v in (a[3], b[3]) if v is not None), default=None),
        a[4] or b[4],
    )
    top = sc.infrastructure_score(*better)
    assert top >= sc.infrastructure_score(*a)
    assert top >= sc.infrastructure_score(*b)
    assert 0 <= top <= 1


@given(pos, pos)
def test_area_score_prefers_the_range(area: float, area_max: float) -> None:
    area_max = max(area_max, 1.0)
    s = sc.area_score(area, area_max)
    assert 0 < s <= 1
    assert (s == 1) == (area <= area_max)


@given(
    st.fixed_dictionaries({c: unit for c in sc.CRITERIA}),
    weights,
    st.sampled_from(sc.CRITERIA),
    unit,
)
def test_total_is_monotone_in_every_criterion(
    scores: dict[str, float], w: dict[str, float], criterion: str, bump: float
) -> None:
    better = {**scores, criterion: max(scores[criterion], bump)}
    total = sc.total_score(scores, w)
    assert sc.total_score(better, w) >= total - 0.005  # rounding to 2 decimals
    assert 0 <= total <= 100


@given(st.fixed_dictionaries({c: unit for c in sc.CRITERIA}), weights)
def test_total_without_a_criterion_ignores_its_weight(
    scores: dict[str, float], w: dict[str, float]
) -> None:
    without = {c: s for c, s in scores.items() if c != "distance"}
    assert sc.total_score(without, w) == sc.total_score(without, {**w, "distance": 7.0})


def test_reactivation_bonus() -> None:
    assert sc.reactivation_score("brownfield") == sc.reactivation_score("vacant_building") == 1
    assert sc.reactivation_score("infill_gap") == 0.5
    assert sc.reactivation_score("greenfield_reserve") == sc.reactivation_score(None) == 0
