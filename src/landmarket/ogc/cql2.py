"""CQL2 (text and JSON) -> SQLAlchemy expressions with bound parameters.

pygeofilter parses; this visitor maps its AST onto a collection's queryables. Only queryables
can be named (so internal columns stay unreachable), every literal becomes a bound parameter,
and types are checked here so a mismatch is a 400 with a reason rather than a database error.
Geometry literals are transformed to the storage CRS on the constant side, so spatial
predicates use the GiST index.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, true

from landmarket.core.errors import BadRequest, FieldError
from landmarket.core.schemas import INT8_MAX, NUL_MESSAGE, has_nul
from landmarket.db.geo import Crs, crs_bounds
from landmarket.ogc.collections import Collection, Queryable
from landmarket.ogc.crs import envelope, north_first, once, to_storage

TEXT, JSON_LANG = "cql2-text", "cql2-json"
GEOMETRY = "geometry"

_COMPARISONS: dict[type[ast.Node], Callable[[Any, Any], ColumnElement[bool]]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_SPATIAL: dict[type[ast.Node], Callable[[Any, Any], ColumnElement[bool]]] = {
    ast.GeometryIntersects: func.ST_Intersects,
    ast.GeometryDisjoint: func.ST_Disjoint,
    ast.GeometryContains: func.ST_Contains,
    ast.GeometryWithin: func.ST_Within,
    ast.GeometryTouches: func.ST_Touches,
    ast.GeometryCrosses: func.ST_Crosses,
    ast.GeometryOverlaps: func.ST_Overlaps,
    ast.GeometryEquals: func.ST_Equals,
}
# Which literal kinds each queryable kind accepts.
_ACCEPTS = {
    "string": {"string"},
    "number": {"number", "integer"},
    "integer": {"number", "integer"},
    "boolean": {"boolean"},
    "date": {"date"},
    "timestamp": {"timestamp", "date"},
}


# Bounds of a filter, so a hostile one costs little and cannot exhaust the interpreter's stack
# (translating and compiling an expression recurse once per nesting level): the text's
# length, the number of nodes, and the nesting depth (a chain of one operator, e.g. 100
# predicates ANDed, is one level).
MAX_FILTER_LENGTH = 20_000
MAX_NODES = 1_000
MAX_DEPTH = 30
# Geometry literals: at most this many positions.
MAX_POSITIONS = 10_000
_GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)


class FilterError(BadRequest):
    slug, title = "invalid-filter", "Invalid filter"


def _fail(detail: str) -> FilterError:
    return FilterError(detail, errors=[FieldError(pointer="/query/filter", detail=detail)])


def parse(text: str, lang: str) -> ast.Node:
    """Parse a filter; the parser's own message is the reason in the 400."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _fail(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if has_nul(text):
        raise _fail(NUL_MESSAGE)
    try:
        node = parse_text(text) if lang == TEXT else parse_json(_normalise_json(json.loads(text)))
    except FilterError:
        raise
    except Exception as exc:  # lark and pygeofilter raise many types; all mean "malformed"
        # Lark appends every token it would have accepted; the first line is the reason.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _fail(f"{lang} filter could not be parsed: {reason}") from exc
    if not isinstance(node, ast.Node):
        raise _fail("the filter is not a predicate")
    _check_size(node)
    return node


def _operands(node: Any) -> list[Any]:
    """The operands of a chain of one operator (a AND b AND c: [a, b, c]), without recursion."""
    kind, out, stack = type(node), [], [node]
    while stack:
        current = stack.pop()
        if type(current) is kind:
            stack += [current.rhs, current.lhs]
        else:
            out.append(current)
    return out


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.And | ast.Or):
        yield from _operands(node)
    elif isinstance(node, ast.Node):
        try:
            children = list(node.get_sub_nodes())
        except Exception as exc:  # the JSON parser builds nodes from any shape of 'args'
            raise _fail(f"malformed {type(node).__name__} arguments") from exc
        yield from children
    elif isinstance(node, list):
        yield from node


def _check_size(root: ast.Node) -> None:
    """Refuse a filter of more than MAX_NODES nodes or MAX_DEPTH levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _fail(f"the filter has more than {MAX_NODES} terms")
        if depth > MAX_DEPTH:
            raise _fail(f"the filter nests deeper than {MAX_DEPTH} levels")
        stack += [(child, depth + 1) for child in _children(node)]


def _normalise_json(node: Any) -> Any:
    """CQL2 1.0 JSON forms that pygeofilter 0.4 reads differently.

    BETWEEN is ``[value, low, high]`` in the standard; pygeofilter expects ``[value, [low,
    high]]``.
    """
    if isinstance(node, list):
        return [_normalise_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _normalise_json(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], [args[1], args[2]]]
    if "op" in out and not isinstance(args, list):
        raise _fail(f"operator {out['op']!r} needs an 'args' array")
    return out


class Translator:
    def __init__(self, collection: Collection, filter_crs: Crs) -> None:
        self.collection = collection
        self.filter_crs = filter_crs

    def predicate(self, node: Any) -> ColumnElement[bool]:
        # A chain of ANDs (ORs) is one flat clause: its nesting is not the SQL's.
        if isinstance(node, ast.And):
            return and_(*(self.predicate(n) for n in _operands(node)))
        if isinstance(node, ast.Or):
            return or_(*(self.predicate(n) for n in _operands(node)))
        if isinstance(node, ast.Not):
            return not_(self.predicate(node.sub_node))
        if isinstance(node, ast.Include):
            return false() if node.not_ else true()
        compare = _COMPARISONS.get(type(node))
        if compare is not None:
            lhs, rhs = self._pair(node.lhs, node.rhs)
            return compare(lhs, rhs)
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            column, kind = self._attribute(node.lhs)
            items = [self._literal(v, kind) for v in node.sub_nodes]
            return column.not_in(items) if node.not_ else column.in_(items)
        if isinstance(node, ast.Between):
            column, kind = self._attribute(node.lhs)
            clause = column.between(self._literal(node.low, kind), self._literal(node.high, kind))
            return not_(clause) if node.not_ else clause
        if isinstance(node, ast.IsNull):
            column, _ = self._attribute(node.lhs)
            return column.is_not(None) if node.not_ else column.is_(None)
        spatial = _SPATIAL.get(type(node))
        if spatial is not None:
            return self._spatial(spatial, node.lhs, node.rhs)
        raise _fail(f"{type(node).__name__} is not supported; see the conformance classes")

    def _queryable(self, name: str) -> Queryable:
        q = self.collection.queryables.get(name)
        if q is None:
            known = ", ".join([GEOMETRY, *self.collection.queryables])
            raise _fail(f"unknown queryable {name!r}; queryables: {known}")
        return q

    def _attribute(self, node: Any) -> tuple[ColumnElement[Any], str]:
        if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            column, kind = self._attribute(node.arguments[0])
            if kind != "string":
                raise _fail("CASEI applies to strings only")
            return func.lower(column), kind
        if not isinstance(node, ast.Attribute):
            raise _fail(f"expected a property, got {node!r}")
        if node.name == GEOMETRY:
            raise _fail("geometry can only be used in spatial functions")
        q = self._queryable(node.name)
        return q.expr, q.kind

    def _pair(self, lhs: Any, rhs: Any) -> tuple[Any, Any]:
        """Operands of a comparison: property op literal, literal op property or two properties."""
        if _is_property(lhs) and _is_property(rhs):
            (a, ka), (b, kb) = self._attribute(lhs), self._attribute(rhs)
            if kb not in _ACCEPTS[ka]:
                raise _fail(f"cannot compare {ka} with {kb}")
            return a, b
        if _is_property(lhs):
            column, kind = self._attribute(lhs)
            return column, self._literal(rhs, kind)
        if _is_property(rhs):
            column, kind = self._attribute(rhs)
            return self._literal(lhs, kind), column
        raise _fail("a comparison needs at least one property")

    def _literal(self, value: Any, kind: str) -> ColumnElement[Any]:
        if isinstance(value, ast.Function) and value.name == "lower" and value.arguments:
            return func.lower(self._literal(value.arguments[0], kind))
        got = _literal_kind(value)
        if got not in _ACCEPTS[kind]:
            raise _fail(f"{value!r} is not a valid {kind} value")
        return literal(_representable(value))

    def _like(self, node: ast.Like) -> ColumnElement[bool]:
        column, kind = self._attribute(node.lhs)
        if kind != "string":
            raise _fail("LIKE applies to strings only")
        pattern: Any = node.pattern
        lowered = isinstance(pattern, ast.Function) and pattern.name == "lower"
        if lowered:
            pattern = pattern.arguments[0]
        if not isinstance(pattern, str):
            raise _fail("the LIKE pattern must be a string")
        _representable(pattern)
        trailing = len(pattern) - len(pattern.rstrip("\\"))
        if trailing % 2:
            raise _fail("the LIKE pattern ends with an escape character (a lone backslash)")
        # CQL2 wildcards are % and _ with backslash escapes, exactly PostgreSQL's LIKE.
        bound: ColumnElement[Any] = literal(pattern)
        if lowered:
            bound = func.lower(bound)
        clause = column.like(bound, escape="\\")
        return not_(clause) if node.not_ else clause

    def _spatial(
        self, op: Callable[[Any, Any], ColumnElement[bool]], lhs: Any, rhs: Any
    ) -> ColumnElement[bool]:
        swapped = _is_geometry_property(rhs) and not _is_geometry_property(lhs)
        prop, other = (rhs, lhs) if swapped else (lhs, rhs)
        if not _is_geometry_property(prop):
            raise _fail(f"spatial functions compare the {GEOMETRY!r} property with a geometry")
        constant = once(self._geometry(other))
        column = self.collection.geometry
        # Swapped arguments keep their meaning for the asymmetric predicates.
        return op(constant, column) if swapped else op(column, constant)

    def _geometry(self, value: Any) -> ColumnElement[Any]:
        crs = self.filter_crs
        if isinstance(value, values.Geometry):
            _check_geometry(value.geometry, crs)
            text = json.dumps(value.geometry)
            return to_storage(func.ST_GeomFromGeoJSON(literal(text)), crs)
        if isinstance(value, values.Envelope):
            # pygeofilter builds Envelope(*bbox): its x1, x2, y1, y2 hold bbox[0..3] in order.
            numbers = _bbox_numbers([value.x1, value.x2, value.y1, value.y2])
            return envelope(_checked_box(crs, *numbers), crs)
        if isinstance(value, ast.Function) and value.name.lower() == "bbox":
            numbers = _bbox_numbers(value.arguments)
            return envelope(_checked_box(crs, *numbers), crs)
        raise _fail(f"expected a geometry literal, got {value!r}")


def _box(crs: Crs, a: float, b: float, c: float, d: float) -> tuple[float, float, float, float]:
    return (b, a, d, c) if north_first(crs) else (a, b, c, d)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coordinate(value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise _fail(f"a coordinate must be a finite number, got {value!r}")
    return float(value)


def _bbox_numbers(args: Any) -> tuple[float, float, float, float]:
    numbers = [_coordinate(a) for a in args] if isinstance(args, list | tuple) else []
    if len(numbers) == 6:  # heights are ignored: plots are 2D
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise _fail("BBOX takes 4 or 6 numbers")
    a, b, c, d = numbers
    return a, b, c, d


def _checked_box(
    crs: Crs, a: float, b: float, c: float, d: float
) -> tuple[float, float, float, float]:
    box = _box(crs, a, b, c, d)
    min_x, min_y, max_x, max_y = box
    if min_x > max_x or min_y > max_y:
        raise _fail("a BBOX's lower corner must not exceed its upper corner")
    _within_crs(crs, [(min_x, min_y), (max_x, max_y)])
    return box


def _within_crs(crs: Crs, positions: list[tuple[float, float]]) -> None:
    """Coordinates (x/y order) outside the CRS's bounds cannot be transformed; refused here
    rather than failing in PostGIS."""
    lo_x, lo_y, hi_x, hi_y = crs_bounds(crs)
    for x, y in positions:
        if not (lo_x <= x <= hi_x and lo_y <= y <= hi_y):
            raise _fail(
                f"coordinates must lie within x {lo_x:g}..{hi_x:g}, y {lo_y:g}..{hi_y:g} "
                f"({crs.label})"
            )


def _check_geometry(geometry: Any, crs: Crs) -> None:
    """A geometry literal: a known type whose positions are 2 or 3 finite numbers inside the
    filter CRS (in its axis order)."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise _fail("a GeometryCollection needs a non-empty 'geometries' array")
        for part in parts:
            _check_geometry(part, crs)
        return
    if kind not in _GEOMETRY_TYPES:
        raise _fail(f"unsupported geometry type {kind!r}")
    positions: list[tuple[float, float]] = []
    stack = [geometry.get("coordinates")]
    while stack:
        item = stack.pop()
        if not isinstance(item, list | tuple) or not item:
            raise _fail(f"malformed {kind} coordinates")
        if all(not isinstance(v, list | tuple) for v in item):
            if len(item) not in (2, 3):
                raise _fail("a position has 2 or 3 numbers")
            x, y = (_coordinate(v) for v in item[:2])
            positions.append((y, x) if north_first(crs) else (x, y))
            if len(item) == 3:
                _coordinate(item[2])
            if len(positions) > MAX_POSITIONS:
                raise _fail(f"a geometry has at most {MAX_POSITIONS} positions")
        else:
            stack.extend(item)
    _within_crs(crs, positions)


def _representable(value: Any) -> Any:
    """A literal the database can hold: text without NUL, an integer within bigint, a
    finite number, a timestamp that exists in UTC (year 1-9999 after its offset)."""
    if isinstance(value, str) and has_nul(value):
        raise _fail(NUL_MESSAGE)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT8_MAX:
        raise _fail(f"the integer {value} is out of range (at most {INT8_MAX} in magnitude)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail("numbers must be finite")
    if isinstance(value, datetime):
        try:
            value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise _fail(f"the timestamp {value.isoformat()} is out of range") from None
    return value


def _is_property(node: Any) -> bool:
    if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
        return _is_property(node.arguments[0])
    return isinstance(node, ast.Attribute)


def _is_geometry_property(node: Any) -> bool:
    return isinstance(node, ast.Attribute) and node.name == GEOMETRY


def _literal_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def to_sql(text: str, lang: str, collection: Collection, filter_crs: Crs) -> ColumnElement[bool]:
    node = parse(text, lang)
    try:
        return Translator(collection, filter_crs).predicate(node)
    except FilterError:
        raise
    except (TypeError, ValueError, AttributeError, LookupError) as exc:
        # pygeofilter's JSON parser takes operators with arguments of any shape and count
        # (e.g. IN with a number for its list): a node the translator cannot read is malformed.
        raise _fail(f"malformed filter: {type(exc).__name__}") from exc
