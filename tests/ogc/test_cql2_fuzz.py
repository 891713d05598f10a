"""Property-based CQL2 fuzz (issue 14 item 6): filters in the text and the JSON encoding, built
from the grammar with hostile literals (NUL, backslashes, integers past 64 bits, extreme and
non-finite numbers, timestamps at the ends of the calendar and beyond UTC, malformed and
out-of-range geometries, deep nesting), are answered 200 or refused 400 naming the filter, never
500.

Hypothesis generates a bounded, derandomised set of filters (``EXAMPLES`` per encoding); the
requests then go through the real app against the seeded OGC world, so the run stays well
under a minute and is the same every time.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.ogc.conftest import OgcWorld

# LANDMARKET_CQL2_FUZZ_EXAMPLES raises it for longer local runs.
EXAMPLES = int(os.environ.get("LANDMARKET_CQL2_FUZZ_EXAMPLES", "150"))
T = TypeVar("T")

# Queryables of the plots collection of every kind, the geometry, and names that are none.
STRINGS = ("title", "external_id", "zoning", "municipality_ags")
NUMBERS = ("price_eur_per_m2", "area_m2", "motorway_distance_km")
INTEGERS = ("broadband_mbps", "transit_stop_distance_m")
TIMES = ("updated_at", "published_at")
DATES = ("available_from",)
BOOLEANS = ("fibre_available",)
PROPERTIES = (*STRINGS, *NUMBERS, *INTEGERS, *TIMES, *DATES, *BOOLEANS, "nope", "geometry")

_hostile_text = st.text(
    alphabet=st.sampled_from(["a", "Z", "%", "_", "\\", "'", '"', "\x00", "\x01", "ü", " ", "\n"]),
    max_size=12,
)
_integers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30, 0]),
)
_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, 1.7976931348623157e308, 0.0]),
)
_offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))])
_datetimes = st.one_of(
    st.datetimes(timezones=_offsets),
    st.sampled_from(
        ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00Z"]
    ),
)
_dates = st.one_of(st.dates(), st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30"]))
_coordinates = st.one_of(_floats, _integers, st.sampled_from([8.6, 50.1, 180.0, -90.0, 1e8]))


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# --- cql2-text ---------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number_text(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(value)


_text_literal = st.one_of(
    _hostile_text.map(_quote),
    _integers.map(str),
    _floats.map(_number_text),
    st.sampled_from(["TRUE", "FALSE", "NULL"]),
    _datetimes.map(lambda v: f"TIMESTAMP('{_iso(v)}')"),
    _dates.map(lambda v: f"DATE('{v}')"),
)
_point = st.tuples(_coordinates, _coordinates).map(
    lambda p: f"POINT({_number_text(p[0])} {_number_text(p[1])})"
)
_bbox_text = st.lists(
    st.one_of(_coordinates.map(_number_text), _hostile_text.map(_quote)), min_size=3, max_size=7
).map(lambda args: f"BBOX({','.join(args)})")
_polygon = st.lists(st.tuples(_coordinates, _coordinates), min_size=1, max_size=5).map(
    lambda ring: (
        "POLYGON((" + ", ".join(f"{_number_text(x)} {_number_text(y)}" for x, y in ring) + "))"
    )
)
_property = st.sampled_from(PROPERTIES)


def _text_predicates() -> st.SearchStrategy[str]:
    comparison = st.builds(
        lambda p, op, v: f"{p} {op} {v}",
        _property,
        st.sampled_from(["=", "<>", "<", "<=", ">", ">="]),
        _text_literal,
    )
    like = st.builds(lambda p, v: f"{p} LIKE {_quote(v)}", _property, _hostile_text)
    within = st.builds(
        lambda p, vs: f"{p} IN ({', '.join(vs)})",
        _property,
        st.lists(_text_literal, min_size=1, max_size=4),
    )
    between = st.builds(
        lambda p, a, b: f"{p} BETWEEN {a} AND {b}", _property, _text_literal, _text_literal
    )
    null = st.builds(lambda p: f"{p} IS NULL", _property)
    spatial = st.builds(
        lambda op, p, g: f"{op}({p}, {g})",
        st.sampled_from(["S_INTERSECTS", "S_WITHIN", "S_CONTAINS", "S_DISJOINT"]),
        st.sampled_from(["geometry", "title"]),
        st.one_of(_point, _bbox_text, _polygon, _hostile_text.map(_quote)),
    )
    casei = st.builds(lambda p, v: f"CASEI({p}) = CASEI({_quote(v)})", _property, _hostile_text)
    leaf = st.one_of(comparison, like, within, between, null, spatial, casei, _bbox_text)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
            st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
            st.builds(lambda a: f"NOT {a}", inner),
        ),
        max_leaves=12,
    )


_long_chains = st.builds(
    lambda n, op, leaf: f" {op} ".join([leaf] * n),
    st.integers(1, 1200),
    st.sampled_from(["AND", "OR"]),
    st.sampled_from(
        ["broadband_mbps = 1", "title LIKE '%\\'", "S_INTERSECTS(geometry, POINT(1e308 1e308))"]
    ),
)
TEXT_FILTERS = st.one_of(_text_predicates(), _long_chains, _hostile_text)


# --- cql2-json ---------------------------------------------------------------------------------

_json_scalar = st.one_of(
    _hostile_text,
    _integers,
    _floats,
    st.booleans(),
    st.none(),
    _datetimes.map(lambda v: {"timestamp": _iso(v)}),
    _dates.map(lambda v: {"date": str(v)}),
    st.lists(st.one_of(_coordinates, _hostile_text), min_size=3, max_size=7).map(
        lambda b: {"bbox": b}
    ),
    st.builds(
        lambda kind, coords: {"type": kind, "coordinates": coords},
        st.sampled_from(["Point", "Polygon", "LineString", "Nope"]),
        st.recursive(
            st.one_of(_coordinates, _hostile_text), lambda c: st.lists(c, max_size=4), max_leaves=10
        ),
    ),
)
_json_property = _property.map(lambda p: {"property": p})


def _json_predicates() -> st.SearchStrategy[Any]:
    comparison = st.builds(
        lambda op, p, v: {"op": op, "args": [p, v]},
        st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "like"]),
        _json_property,
        _json_scalar,
    )
    spatial = st.builds(
        lambda op, g: {"op": op, "args": [{"property": "geometry"}, g]},
        st.sampled_from(["s_intersects", "s_within", "s_disjoint"]),
        _json_scalar,
    )
    shaped = st.builds(
        lambda op, args: {"op": op, "args": args},
        st.sampled_from(
            ["=", "<>", "<", ">=", "like", "in", "between", "isNull", "s_intersects", "casei"]
        ),
        st.lists(
            st.one_of(_json_property, _json_scalar, st.lists(_json_scalar, max_size=3)), max_size=4
        ),
    )
    return st.recursive(
        st.one_of(comparison, comparison, spatial, shaped),
        lambda inner: st.builds(
            lambda op, args: {"op": op, "args": args},
            st.sampled_from(["and", "or", "not"]),
            st.lists(inner, min_size=1, max_size=4),
        ),
        max_leaves=12,
    )


_junk_json = st.recursive(
    st.one_of(_json_scalar, _json_property),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["op", "args", "x"]), inner, max_size=3),
    ),
    max_leaves=10,
)
JSON_FILTERS = st.one_of(_json_predicates(), _junk_json).map(json.dumps)


def _examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` derandomised draws: hypothesis generates, the async test sends them."""
    drawn: list[T] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn


async def _assert_never_500(client: httpx.AsyncClient, lang: str, filters: list[str]) -> None:
    failures = []
    answered = 0
    for text in filters:
        params = {"filter": text, "filter-lang": lang}
        try:
            response = await client.get("/ogc/collections/plots/items", params=params)
        except httpx.InvalidURL:
            continue  # longer than a URL can be: never reaches the server
        if response.status_code == 200:
            answered += 1
            continue
        body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
        named = [e.get("pointer") for e in body.get("errors") or []]
        if response.status_code != 400 or named != ["/query/filter"]:
            failures.append(
                f"{response.status_code} {named} for {text[:300]!r}: {response.text[:300]}"
            )
    assert not failures, f"{len(failures)} of {len(filters)}:\n" + "\n".join(failures[:20])
    assert answered > 0, "no generated filter was valid: the generator lost its grammar"


async def test_cql2_text_fuzz_never_500(client: httpx.AsyncClient, ogc_world: OgcWorld) -> None:
    await _assert_never_500(client, "cql2-text", _examples(TEXT_FILTERS, EXAMPLES))


async def test_cql2_json_fuzz_never_500(client: httpx.AsyncClient, ogc_world: OgcWorld) -> None:
    await _assert_never_500(client, "cql2-json", _examples(JSON_FILTERS, EXAMPLES))
