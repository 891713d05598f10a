"""CQL2 (text and JSON) -> SQLAlchemy expressions with bound parameters.

pygeofilter parses; this visitor maps its AST onto a collection's queryables. Only queryables
can be named (so internal columns stay unreachable), every literal becomes a bound parameter,
and types are checked here so a mismatch is a 400 with a reason rather than a database error.
Geometry literals are transformed to the storage CRS on the constant side, so spatial
predicates use the GiST index.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, true

from landmarket.core.errors import BadRequest, FieldError
from landmarket.db.geo import Crs
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


class FilterError(BadRequest):
    slug, title = "invalid-filter", "Invalid filter"


def _fail(detail: str) -> FilterError:
    return FilterError(detail, errors=[FieldError(pointer="/query/filter", detail=detail)])


def parse(text: str, lang: str) -> ast.Node:
    """Parse a filter; the parser's own message is the reason in the 400."""
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
    return node


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
        if isinstance(node, ast.And):
            return and_(self.predicate(node.lhs), self.predicate(node.rhs))
        if isinstance(node, ast.Or):
            return or_(self.predicate(node.lhs), self.predicate(node.rhs))
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
        return literal(value)

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
            text = json.dumps(value.geometry)
            return to_storage(func.ST_GeomFromGeoJSON(literal(text)), crs)
        if isinstance(value, values.Envelope):
            # pygeofilter builds Envelope(*bbox): its x1, x2, y1, y2 hold bbox[0..3] in order.
            return envelope(_box(crs, value.x1, value.x2, value.y1, value.y2), crs)
        if isinstance(value, ast.Function) and value.name.lower() == "bbox":
            numbers = [float(a) for a in value.arguments]
            if len(numbers) == 6:
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4:
                raise _fail("BBOX takes 4 or 6 numbers")
            return envelope(_box(crs, *numbers), crs)
        raise _fail(f"expected a geometry literal, got {value!r}")


def _box(crs: Crs, a: float, b: float, c: float, d: float) -> tuple[float, float, float, float]:
    return (b, a, d, c) if north_first(crs) else (a, b, c, d)


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
    return Translator(collection, filter_crs).predicate(parse(text, lang))
