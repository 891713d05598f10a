"""The collections the OGC API serves: which rows, which columns, under which public names.

A collection is a read-only view: ``base`` restricts the rows (plots: published only) and
``properties`` lists the columns that anyone may read. Internal columns never appear here, so
no filter, tile or feature can reach them.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    String,
    Table,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from landmarket.core.schemas import INT4_MAX, INT8_MAX, NUL_FREE_PATTERN
from landmarket.municipalities.models import Municipality
from landmarket.plots.models import Plot, PlotStatus

_plots: Table = Plot.__table__  # type: ignore[assignment]
_municipalities: Table = Municipality.__table__  # type: ignore[assignment]

# Plot columns left out on purpose: contact (names, e-mail addresses and phone numbers of
# people), status (always "published" here), version, created_at and last_confirmed_at
# (bookkeeping of the municipality's office). See docs/ogc.md.
PLOT_PROPERTIES = (
    "external_id",
    "municipality_ags",
    "title",
    "description",
    "category",
    "zoning",
    "planning_status",
    "emission_quota_db",
    "contamination",
    "servicing",
    "fibre_available",
    "broadband_mbps",
    "transit_stop_distance_m",
    "motorway_distance_km",
    "rail_siding",
    "tenure",
    "price_eur_per_m2",
    "rent_eur_per_m2_month",
    "ownership",
    "divisible",
    "min_divisible_area_m2",
    "available_from",
    "parcel_ids",
    "geometry_precision",
    "area_m2",
    "published_at",
    "updated_at",
)
# What a vector tile carries: enough to style and label a map, small enough for z14 tiles.
PLOT_TILE_PROPERTIES = (
    "title",
    "municipality_ags",
    "category",
    "zoning",
    "tenure",
    "area_m2",
    "price_eur_per_m2",
    "fibre_available",
    "rail_siding",
)
MUNICIPALITY_PROPERTIES = (
    "name",
    "kind",
    "district_ags",
    "area_m2",
    "updated_at",
    "attribution",
)


@dataclass(frozen=True)
class Queryable:
    """A property usable in filters, with its JSON type (``kind``) and JSON Schema."""

    name: str
    expr: ColumnElement[Any]
    kind: str  # string | number | integer | boolean | date | timestamp
    schema: dict[str, Any]


def _queryable(column: KeyedColumnElement[Any]) -> Queryable | None:
    kind: str
    schema: dict[str, Any]
    expr: ColumnElement[Any] = column
    column_type = column.type
    if isinstance(column_type, Enum):
        # Compare as plain text: an unknown value then simply matches nothing.
        expr = type_coerce(column, String())
        kind, schema = "string", {"type": "string", "enum": list(column_type.enums)}
    elif isinstance(column_type, String):
        kind, schema = "string", {"type": "string", "pattern": NUL_FREE_PATTERN}
        if column_type.length:
            schema["maxLength"] = column_type.length
    elif isinstance(column_type, Boolean):
        kind, schema = "boolean", {"type": "boolean"}
    elif isinstance(column_type, Integer):
        # What the column type holds, so a larger value is a 400 naming the parameter.
        high = INT8_MAX if isinstance(column_type, BigInteger) else INT4_MAX
        kind, schema = "integer", {"type": "integer", "minimum": -high - 1, "maximum": high}
    elif isinstance(column_type, Float):
        # double precision holds every finite JSON number: these bounds are its own.
        top = sys.float_info.max
        kind, schema = "number", {"type": "number", "minimum": -top, "maximum": top}
    elif isinstance(column_type, DateTime):
        kind, schema = "timestamp", {"type": "string", "format": "date-time"}
    elif isinstance(column_type, Date):
        kind, schema = "date", {"type": "string", "format": "date"}
    else:
        return None  # arrays and JSON are returned, not filtered on
    schema["title"] = column.name
    return Queryable(column.name, expr, kind, schema)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: Table
    id_column: str
    geometry_column: str
    properties: tuple[str, ...]
    base: ColumnElement[bool]
    temporal: str
    tile_properties: tuple[str, ...] = ()
    # A column holding the properties as one JSON object (kept by a trigger), if any.
    stored_properties: str | None = None
    queryables: dict[str, Queryable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.properties:
            q = _queryable(self.table.c[name])
            if q is not None:
                self.queryables[name] = q

    @property
    def geometry(self) -> ColumnElement[Any]:
        return self.table.c[self.geometry_column]

    @property
    def id_expr(self) -> ColumnElement[Any]:
        return self.table.c[self.id_column]

    def parse_id(self, value: str) -> Any | None:
        """The key for a feature id from a URL or cursor; None when it cannot exist."""
        if self.id_column == "id":
            try:
                return uuid.UUID(value)
            except ValueError:
                return None
        return value if len(value) <= 64 else None

    @property
    def has_tiles(self) -> bool:
        return bool(self.tile_properties)


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            id="plots",
            title="Plots",
            description="Published commercial plots (brownfields, vacant sites, infill gaps) "
            "of the region's municipalities, with their public properties.",
            table=_plots,
            id_column="id",
            geometry_column="geom",
            properties=PLOT_PROPERTIES,
            base=_plots.c.status == PlotStatus.published,
            temporal="updated_at",
            tile_properties=PLOT_TILE_PROPERTIES,
            stored_properties="public_properties",  # migration 0009
        ),
        Collection(
            id="municipalities",
            title="Municipalities",
            description="Municipal boundaries, each with the licence line of the boundary set "
            "it came from (`attribution`); the id is the AGS (Amtlicher Gemeindeschlüssel).",
            table=_municipalities,
            id_column="ags",
            geometry_column="boundary",
            properties=MUNICIPALITY_PROPERTIES,
            base=true(),
            temporal="updated_at",
        ),
    )
}
