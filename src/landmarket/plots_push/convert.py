"""Rows of a table → plot Features, and what was refused, named as the office knows it.

A refused value is reported with its row, the *source* column, the value and the form that
was expected, so it can be fixed in the GIS or the spreadsheet.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from landmarket.plots import models
from landmarket.plots_push.geometry import METRIC_SRIDS, point_of, square
from landmarket.plots_push.mapping import TARGETS, Mapping, Rule
from landmarket.plots_push.source import Table
from landmarket.plots_push.values import (
    Refused,
    blank,
    to_ags,
    to_bool,
    to_date,
    to_int,
    to_list,
    to_number,
    to_text,
    unit_factor,
)

_ENUMS: dict[str, type[enum.StrEnum]] = {
    "category": models.Category,
    "zoning": models.Zoning,
    "planning_status": models.PlanningStatus,
    "contamination": models.Contamination,
    "servicing": models.Servicing,
    "tenure": models.Tenure,
    "ownership": models.Ownership,
    "status": models.PlotStatus,
}
_BOOLS = frozenset({"fibre_available", "rail_siding", "divisible"})
_INTS = frozenset({"broadband_mbps", "transit_stop_distance_m"})
_FLOATS = frozenset(
    {
        "emission_quota_db",
        "motorway_distance_km",
        "price_eur_per_m2",
        "rent_eur_per_m2_month",
        "min_divisible_area_m2",
    }
)


@dataclass
class Failure:
    """One refused feature: where it is in the file and what to fix."""

    index: int  # position in the file, from 0
    row: int  # as the office sees it: feature number, or line in a table with a header
    external_id: str | None
    field: str  # the file's column ("geometry" for a layer's geometry)
    value: Any
    expected: str  # the form that would have been taken, or the API's reason
    status: int = 422

    def __post_init__(self) -> None:
        if blank(self.value):
            self.value = None  # NaN and "" are an empty cell, and NaN is not JSON

    @property
    def reason(self) -> str:
        """What groups failures in the summary: the column and the expected form."""
        return f"{self.field}: {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "row": self.row,
            "external_id": self.external_id,
            "field": self.field,
            "value": _jsonable(self.value),
            "detail": self.expected,
            "status": self.status,
        }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


@dataclass
class Converted:
    features: list[dict[str, Any]] = field(default_factory=list)
    # For each feature sent: its position in the file.
    positions: list[int] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    rules: dict[str, Rule] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    approximate: int = 0

    def source_of(self, target: str) -> str:
        """The file's column behind a property (the property itself when it came from none)."""
        rule = self.rules.get(target)
        return rule.source if rule and rule.source else target


def resolve_rules(table: Table, mapping: Mapping, renames: dict[str, Rule]) -> dict[str, Rule]:
    """Which column feeds which property: the mapping file's rules, else columns named like
    properties; ``--map`` and ``--id-field`` on top."""
    rules: dict[str, Rule] = dict(mapping.rules)
    if not mapping.explicit:
        for name in table.fields:
            target = name if name in TARGETS else name.lower()
            if target in TARGETS and target not in rules:
                rules[target] = Rule(target=target, source=name)
    rules.update(renames)
    if "external_id" not in mapping.rules:
        rules["external_id"] = Rule(target="external_id", source=mapping.id_field)
    return rules


def _convert(rule: Rule, raw: Any) -> Any:
    target = rule.target
    if rule.values:
        key = to_text(raw)
        if key in rule.values:
            return _convert(Rule(target=target), rule.values[key])
        folded = {k.casefold(): v for k, v in rule.values.items()}
        if key.casefold() in folded:
            return _convert(Rule(target=target), folded[key.casefold()])
        if target in _ENUMS and key not in set(_ENUMS[target]):
            keys = ", ".join(repr(k) for k in rule.values)
            raise Refused(f"one of {keys} (the values of the mapping)")
    factor = unit_factor(target, rule.unit) if rule.unit else 1.0
    if target in _ENUMS:
        allowed = [e.value for e in _ENUMS[target]]
        text = to_text(raw)
        for value in allowed:
            if value.casefold() == text.casefold():
                return value
        raise Refused(f"one of {', '.join(allowed)} (or a value map in the mapping file)")
    if target in _BOOLS:
        return to_bool(raw)
    if target in _INTS:
        if factor == 1.0:
            return to_int(raw, rule.decimal)
        return round(to_number(raw, rule.decimal) * factor)  # 0,35 km → 350 m
    if target in _FLOATS:
        return to_number(raw, rule.decimal) * factor
    if target == "available_from":
        return to_date(raw, rule.date_format)
    if target == "municipality_ags":
        return to_ags(raw)
    if target == "parcel_ids":
        return to_list(raw)
    if target == "contact":
        if isinstance(raw, dict):
            return raw
        try:
            return json.loads(str(raw))
        except ValueError as exc:
            raise Refused('a JSON object, e.g. {"name": "...", "email": "..."}') from exc
    return to_text(raw)


def _default(rule: Rule) -> Any:
    try:
        return _convert(Rule(target=rule.target, unit=rule.unit), rule.default)
    except Refused:
        return rule.default  # the API names the problem (with the mapping's key)


def convert(
    table: Table,
    mapping: Mapping,
    renames: dict[str, Rule],
    *,
    approximate_ok: bool,
    merge: bool = False,
    progress: Callable[[int], None] = lambda n: None,
) -> Converted:
    rules = resolve_rules(table, mapping, renames)
    for rule in rules.values():
        if rule.source is not None and rule.source not in table.fields:
            raise LookupError(
                f"no column {rule.source!r} (for {rule.target}); columns: {', '.join(table.fields)}"
            )
    # A merge of a few columns may leave the title out: existing plots keep theirs, and the
    # API refuses it per row for plots that do not exist yet.
    if "title" not in rules and not merge:
        raise LookupError(
            "no column for the plot's title: name it with --map COLUMN=title or in the "
            f"mapping file ([fields.title]); columns: {', '.join(table.fields)}"
        )
    area = mapping.point_area_field
    if area is not None and area not in table.fields:
        raise LookupError(
            f"no column {area!r} (for the area of points); columns: {', '.join(table.fields)}"
        )
    used = {r.source for r in rules.values()} | set(table.geometry_fields)
    used.add(mapping.point_area_field)
    out = Converted(rules=rules, ignored=[f for f in table.fields if f not in used])
    for i, row in enumerate(table.rows):
        feature = _feature(table, mapping, rules, i, row, out, approximate_ok)
        if feature is not None:
            out.features.append(feature)
            out.positions.append(i)
        if i % 1000 == 999:
            progress(1000)
    return out


def _feature(
    table: Table,
    mapping: Mapping,
    rules: dict[str, Rule],
    i: int,
    row: dict[str, Any],
    out: Converted,
    approximate_ok: bool,
) -> dict[str, Any] | None:
    properties: dict[str, Any] = {}
    failures: list[Failure] = []
    external_id = None
    id_source = rules["external_id"].source
    if id_source is not None and not blank(row.get(id_source)):
        external_id = to_text(row.get(id_source))

    def fail(column: str, value: Any, expected: str) -> None:
        failures.append(
            Failure(i, table.first_row + i, external_id, column, value, f"expected {expected}")
        )

    for target, rule in rules.items():
        raw = row.get(rule.source) if rule.source is not None else None
        if blank(raw):
            if rule.default is not None:
                properties[target] = _default(rule)
            elif target == "external_id":
                fail(rule.source or target, raw, "an id (the plot's id in the GIS)")
            continue
        try:
            properties[target] = _convert(rule, raw)
        except Refused as exc:
            fail(rule.source or target, raw, exc.expected)
    if mapping.municipality and "municipality_ags" not in properties:
        properties["municipality_ags"] = mapping.municipality
    geometry = _plot_geometry(table, mapping, i, row, fail)
    if failures:
        out.failures.extend(failures)
        return None
    assert geometry is not None
    if isinstance(geometry, _Approximate):
        out.approximate += 1
        if approximate_ok:
            properties["geometry_precision"] = "approximate"
        geometry = geometry.geometry
    return {"type": "Feature", "geometry": geometry, "properties": properties}


@dataclass
class _Approximate:
    geometry: dict[str, Any]


def _plot_geometry(
    table: Table,
    mapping: Mapping,
    i: int,
    row: dict[str, Any],
    fail: Callable[[str, Any, str], None],
) -> Any:
    geometry = table.geometries[i] if i < len(table.geometries) else None
    columns = "/".join(table.geometry_fields) or "geometry"
    if i in table.geometry_problems:
        fail(*table.geometry_problems[i])
        return None
    if geometry is None:
        fail(columns, None, "a geometry (the row has none)")
        return None
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon", "Point", "MultiPoint"):
        fail(columns, kind, "a polygon or multipolygon (the plot's outline)")
        return None
    point = point_of(geometry)
    if point is None and kind in ("Point", "MultiPoint"):
        fail(columns, geometry.get("type"), "one point per plot")
        return None
    if point is None:
        return geometry
    area_field = mapping.point_area_field
    if area_field is None:
        fail(
            columns,
            f"POINT ({point[0]:.10g} {point[1]:.10g})",
            "an area (polygon); this is a point: give --point-area-field with the column "
            "holding its area to push it as an approximate square",
        )
        return None
    if table.srid not in METRIC_SRIDS:
        fail(columns, f"POINT ({point[0]:.10g} {point[1]:.10g})", "a point in a metric CRS")
        return None
    raw = row.get(area_field)
    try:
        if blank(raw):
            raise Refused("the plot's area (a number > 0)")
        area = to_number(raw) * unit_factor("area_m2", mapping.point_area_unit)
        if area <= 0:
            raise Refused("the plot's area (a number > 0)")
    except Refused as exc:
        fail(area_field, raw, exc.expected)
        return None
    return _Approximate(square(point, area))
