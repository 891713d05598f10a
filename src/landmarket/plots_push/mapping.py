"""Mapping files: how a GIS office's columns become plot properties.

TOML (``tomllib``), or YAML when PyYAML is installed. Per target property: ``source`` (the
file's column), ``values`` (a value map, e.g. "Brachfläche" → "brownfield"), ``unit``
(``ha``, ``km``, ...), ``decimal`` ("," or "."), ``date_format`` (strptime, e.g. "%d.%m.%Y")
and ``default`` (used when the column is empty, or alone as a constant). A ``[source]``
table names the id column, layer, geometry columns and CRS. docs/plots.md and
docs/examples/ show complete files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from landmarket.plots.schemas import PlotProperties

TARGETS = frozenset(PlotProperties.model_fields)
_RULE_KEYS = frozenset({"source", "values", "unit", "decimal", "date_format", "default"})
_SOURCE_KEYS = frozenset(
    {
        "layer",
        "id_field",
        "municipality",
        "x",
        "y",
        "wkt",
        "crs",
        "point_area_field",
        "point_area_unit",
        "merge",
    }
)


class MappingError(Exception):
    """The mapping file (or a command-line option) cannot be used; names the key."""


@dataclass(frozen=True)
class Rule:
    target: str
    source: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    unit: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    default: Any = None


@dataclass(frozen=True)
class Mapping:
    rules: dict[str, Rule] = field(default_factory=dict)
    id_field: str = "external_id"
    municipality: str | None = None
    layer: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    crs: str | None = None
    point_area_field: str | None = None
    point_area_unit: str = "m2"
    # Only the mapped properties change on existing plots (the others keep their values).
    merge: bool = False
    # True when a mapping file says which columns to take (then no column is taken by name).
    explicit: bool = False

    def with_options(self, **options: Any) -> Mapping:
        """Command-line options override the file; None means 'not given'."""
        given = {k: v for k, v in options.items() if v is not None}
        return replace(self, **given)


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"{path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]  # optional: only for YAML mappings
        except ImportError as exc:
            raise MappingError(
                f"{path}: YAML mappings need PyYAML (pip install pyyaml); or write it as TOML"
            ) from exc
        try:
            data = yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    else:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise MappingError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"{path}: expected a table with [source] and [fields.<property>]")
    return data


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise MappingError(f"{path}: {key} must be a non-empty string, not {value!r}")
    return value


def _rule(path: Path, target: str, spec: Any) -> Rule:
    where = f"fields.{target}"
    if target not in TARGETS:
        raise MappingError(
            f"{path}: [{where}]: {target!r} is not a plot property; one of "
            f"{', '.join(sorted(TARGETS))}"
        )
    if isinstance(spec, str):
        return Rule(target=target, source=spec)  # short form: title = "BEZEICHNUNG"
    if not isinstance(spec, dict):
        raise MappingError(f"{path}: [{where}] must be a table or a column name")
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise MappingError(
            f"{path}: [{where}]: unknown key(s) {unknown}; allowed: {sorted(_RULE_KEYS)}"
        )
    values = spec.get("values", {})
    if not isinstance(values, dict):
        raise MappingError(f"{path}: [{where}].values must be a table of source → target")
    decimal = spec.get("decimal")
    if decimal not in (None, ",", "."):
        raise MappingError(f'{path}: [{where}].decimal must be "," or ".", not {decimal!r}')
    source = spec.get("source")
    if source is None and "default" not in spec:
        raise MappingError(f"{path}: [{where}] needs a source column or a default")
    return Rule(
        target=target,
        source=None if source is None else _text(path, f"[{where}].source", source),
        values={str(k): v for k, v in values.items()},
        unit=None if spec.get("unit") is None else _text(path, f"[{where}].unit", spec["unit"]),
        decimal=decimal,
        date_format=spec.get("date_format"),
        default=spec.get("default"),
    )


def load_mapping(path: Path) -> Mapping:
    data = _load(path)
    unknown = sorted(set(data) - {"source", "fields"})
    if unknown:
        raise MappingError(f"{path}: unknown table(s) {unknown}; expected [source], [fields]")
    source = data.get("source", {})
    if not isinstance(source, dict):
        raise MappingError(f"{path}: [source] must be a table")
    bad = sorted(set(source) - _SOURCE_KEYS)
    if bad:
        raise MappingError(
            f"{path}: [source]: unknown key(s) {bad}; allowed: {sorted(_SOURCE_KEYS)}"
        )
    options: dict[str, Any] = {}
    for key, value in source.items():
        if key == "merge":
            if not isinstance(value, bool):
                raise MappingError(f"{path}: [source].merge must be true or false")
            options[key] = value
        else:
            options[key] = _text(path, f"[source].{key}", value)
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise MappingError(f"{path}: [fields] must be a table of [fields.<property>]")
    rules = {target: _rule(path, target, spec) for target, spec in fields.items()}
    return Mapping(rules=rules, explicit=True, **options)


def from_renames(pairs: dict[str, str]) -> dict[str, Rule]:
    """``--map SOURCE=TARGET`` pairs as rules."""
    rules = {}
    for source, target in pairs.items():
        if target not in TARGETS:
            raise MappingError(
                f"--map {source}={target}: {target!r} is not a plot property; one of "
                f"{', '.join(sorted(TARGETS))}"
            )
        rules[target] = Rule(target=target, source=source)
    return rules
