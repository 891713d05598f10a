"""Values as GIS and office files hold them: converted when unambiguous, refused with the
expected form otherwise, and never an exception other than Refused, whatever the input."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landmarket.plots_push.convert import convert
from landmarket.plots_push.mapping import TARGETS, Mapping, Rule
from landmarket.plots_push.source import Table
from landmarket.plots_push.values import Refused, to_bool, to_date, to_int, to_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, True), (0, False), (1.0, True), (0.0, False), (True, True), ("ja", True),
        ("Nein", False), ("x", True), ("X", True), ("j", True), ("1", True), ("0,0", False),
        ("wahr", True), ("FALSE", False),
    ],
)  # fmt: skip
def test_booleans(raw: Any, expected: bool) -> None:
    assert to_bool(raw) is expected


@pytest.mark.parametrize("raw", [2, 0.5, "vielleicht", "-", dt.date(2020, 1, 1)])
def test_booleans_refused(raw: Any) -> None:
    with pytest.raises(Refused, match="1/0, ja/nein"):
        to_bool(raw)


@pytest.mark.parametrize(
    ("raw", "decimal", "expected"),
    [
        ("136", None, 136.0), ("136,0", None, 136.0), ("1.234,5", None, 1234.5),
        ("1,234.5", None, 1234.5), (" 12 ", None, 12.0), ("0.125", None, 0.125),
        ("1.234", ",", 1234.0), ("1,234", ",", 1.234), ("1,234", ".", 1234.0),
        ("1.234.567,89", None, 1234567.89), (42, None, 42.0), ("-3,5", None, -3.5),
    ],
)  # fmt: skip
def test_numbers(raw: Any, decimal: str | None, expected: float) -> None:
    assert to_number(raw, decimal) == expected


@pytest.mark.parametrize("raw", ["1,234", "1.234", "12a", "", "nan", "inf", math.nan, True])
def test_numbers_refused(raw: Any) -> None:
    with pytest.raises(Refused):
        to_number(raw)


def test_whole_numbers_and_dates() -> None:
    assert to_int("136,0") == 136
    with pytest.raises(Refused, match="whole"):
        to_int("136,5")
    assert to_date("01.03.2027") == "2027-03-01"
    assert to_date("2027-03-01") == "2027-03-01"
    assert to_date(dt.datetime(2027, 3, 1, 12, 0)) == "2027-03-01"
    assert to_date("03/01/2027", "%m/%d/%Y") == "2027-03-01"
    for bad in ("31.02.2027", "next year", "2027-13-01"):
        with pytest.raises(Refused, match="date"):
            to_date(bad)


_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({t: _cells for t in sorted(TARGETS)}), max_size=5))
def test_any_cell_values_never_crash_the_conversion(rows: list[dict[str, Any]]) -> None:
    """Every row is either a feature or refused rows naming a column; nothing raises."""
    ring = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    table = Table(
        fields=sorted(TARGETS),
        rows=rows,
        geometries=[{"type": "Polygon", "coordinates": [ring]} for _ in rows],
        srid=25832,
    )
    rules = {"category": Rule("category", "category", values={"Brache": "brownfield"})}
    out = convert(table, Mapping(), rules, approximate_ok=True)
    assert len(set(out.positions)) + len({f.index for f in out.failures}) == len(rows)
    for failure in out.failures:
        assert failure.field in TARGETS and failure.expected.startswith("expected ")
