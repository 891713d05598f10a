"""Requirement schemas; field names are the public contract of issue 4."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.config import JsonDict

from landmarket.auth.schemas import Nace
from landmarket.core.schemas import (
    INT4_MAX,
    JSON_NUMBER,
    ApiModel,
    Integer,
    IsoDate,
    Number,
    ReadModel,
    Text,
    omit_not_null,
)
from landmarket.db.geo import polygon_schema
from landmarket.plots.models import Zoning
from landmarket.requirements.models import EmissionClass, RequirementStatus, RequirementTenure

Ags = Annotated[str, Text(pattern=r"^[0-9]{8}$")]
Title = Annotated[str, Text(strip=True, min_length=1, max_length=200)]
Description = Annotated[str, Text(max_length=5000)]
Area = Annotated[float, Number(gt=0, le=50_000_000)]
# Budgets are divided into plot prices when scoring: stated maximums (beyond any real budget)
# keep that in double precision's range.
Price = Annotated[float, Number(gt=0, le=1_000_000)]
Rent = Annotated[float, Number(gt=0, le=100_000)]
Weight = Annotated[float, Number(ge=0, le=10)]
Position = list[Annotated[float, JSON_NUMBER]]
# [longitude, latitude] as _check_position takes it.
LONLAT: JsonDict = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
    ],
    "minItems": 2,
    "maxItems": 2,
}


def _check_position(pos: Position) -> Position:
    if len(pos) != 2 or not all(math.isfinite(v) for v in pos):
        raise ValueError("a position is [longitude, latitude]")
    lon, lat = pos
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("longitude must be in -180..180 and latitude in -90..90 (lon, lat order)")
    return pos


def _check_ring(ring: list[Position]) -> None:
    if len(ring) < 4:
        raise ValueError("a ring needs at least 4 positions")
    for pos in ring:
        _check_position(pos)
    if ring[0] != ring[-1]:
        raise ValueError("a ring must be closed (first position = last position)")


class PointIn(ApiModel):
    """A GeoJSON Point in lon/lat (CRS84)."""

    type: Literal["Point"]
    coordinates: Annotated[Position, WithJsonSchema(LONLAT)]

    @field_validator("coordinates")
    @classmethod
    def _position(cls, value: Position) -> Position:
        return _check_position(value)


class AreaIn(ApiModel):
    """A GeoJSON Polygon or MultiPolygon in lon/lat (CRS84); validity is checked in PostGIS."""

    model_config = ConfigDict(json_schema_extra=polygon_schema(LONLAT))

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]

    @field_validator("coordinates")
    @classmethod
    def _rings(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        polygons = [value] if info.data.get("type") == "Polygon" else value
        if not polygons:
            raise ValueError("must not be empty")
        vertices = 0
        for rings in polygons:
            if not isinstance(rings, list) or not rings:
                raise ValueError("a polygon is a non-empty array of rings")
            for ring in rings:
                if not isinstance(ring, list) or not all(
                    isinstance(p, list)
                    and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
                    for p in ring
                ):
                    raise ValueError("a ring is an array of [longitude, latitude] positions")
                _check_ring(ring)
                vertices += len(ring)
        if vertices > 10_000:
            raise ValueError("at most 10000 vertices")
        return value


def _set(name: str) -> JsonDict:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


# A new requirement's anchor and radius come together (service._validate refuses one without
# the other; an update may send one of them, the other is then the stored one).
_ANCHOR_WITH_RADIUS: JsonDict = {
    "allOf": [
        {"if": _set("anchor"), "then": _set("max_distance_km")},
        {"if": _set("max_distance_km"), "then": _set("anchor")},
    ]
}


class Location(ApiModel):
    anchor: PointIn | None = Field(default=None, description="Comes with max_distance_km")
    max_distance_km: Annotated[float, Number(gt=0, le=500)] | None = None
    municipalities: Annotated[list[Ags], Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="AGS list"
    )
    area: AreaIn | None = None


class NewLocation(Location):
    model_config = ConfigDict(json_schema_extra=_ANCHOR_WITH_RADIUS)


class Must(ApiModel):
    fibre: StrictBool = False
    rail_siding: StrictBool = False
    developed: StrictBool = False
    no_contamination: StrictBool = False
    max_transit_stop_distance_m: Annotated[int, Integer(ge=0, le=INT4_MAX)] | None = None
    max_motorway_distance_km: Annotated[float, Number(ge=0, le=20_000)] | None = None


class Weights(ApiModel):
    """0-10 each; null or omitted = the default (docs/matching.md)."""

    area: Weight | None = None
    distance: Weight | None = None
    price: Weight | None = None
    availability: Weight | None = None
    infrastructure: Weight | None = None
    reactivation: Weight | None = None


class RequirementCreate(ApiModel):
    title: Title | None = None
    description: Description | None = None
    area_min_m2: Area
    area_max_m2: Area
    emission_class: EmissionClass
    zonings: Annotated[list[Zoning], Field(min_length=1)] | None = Field(
        default=None, description="Replaces the zones derived from emission_class"
    )
    tenure: RequirementTenure = RequirementTenure.either
    max_price_eur_per_m2: Price | None = None
    max_rent_eur_per_m2_month: Rent | None = None
    needed_by: IsoDate | None = None
    location: NewLocation = Field(default_factory=NewLocation)
    must: Must = Field(default_factory=Must)
    weights: Weights = Field(default_factory=Weights)
    sector_nace: Nace | None = None
    jobs: Annotated[int, Integer(ge=0, le=1_000_000)] | None = None
    share_identity: StrictBool = False
    status: RequirementStatus = RequirementStatus.open


_NOT_NULL = (
    "area_min_m2",
    "area_max_m2",
    "emission_class",
    "tenure",
    "location",
    "must",
    "weights",
    "share_identity",
    "status",
)


class RequirementUpdate(ApiModel):
    """Partial update: omitted fields stay; in ``location``, ``must`` and ``weights`` the
    members sent replace those stored; null clears a nullable field."""

    model_config = ConfigDict(json_schema_extra=omit_not_null(*_NOT_NULL))

    title: Title | None = None
    description: Description | None = None
    area_min_m2: Area | None = None
    area_max_m2: Area | None = None
    emission_class: EmissionClass | None = None
    zonings: Annotated[list[Zoning], Field(min_length=1)] | None = None
    tenure: RequirementTenure | None = None
    max_price_eur_per_m2: Price | None = None
    max_rent_eur_per_m2_month: Rent | None = None
    needed_by: IsoDate | None = None
    location: Location | None = None
    must: Must | None = None
    weights: Weights | None = None
    sector_nace: Nace | None = None
    jobs: Annotated[int, Integer(ge=0, le=1_000_000)] | None = None
    share_identity: StrictBool | None = None
    status: RequirementStatus | None = None

    @field_validator(*_NOT_NULL)
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class LocationRead(ReadModel):
    anchor: dict[str, Any] | None
    max_distance_km: float | None
    municipalities: list[str] | None
    area: dict[str, Any] | None


class MustRead(ReadModel):
    fibre: bool
    rail_siding: bool
    developed: bool
    no_contamination: bool
    max_transit_stop_distance_m: int | None
    max_motorway_distance_km: float | None


class WeightsRead(ReadModel):
    area: float | None
    distance: float | None
    price: float | None
    availability: float | None
    infrastructure: float | None
    reactivation: float | None


class RequirementRead(ReadModel):
    id: uuid.UUID
    company_id: uuid.UUID
    home_ags: str | None
    title: str | None
    description: str | None
    area_min_m2: float
    area_max_m2: float
    emission_class: EmissionClass
    zonings: list[Zoning] | None
    tenure: RequirementTenure
    max_price_eur_per_m2: float | None
    max_rent_eur_per_m2_month: float | None
    needed_by: date | None
    location: LocationRead
    must: MustRead
    weights: WeightsRead
    sector_nace: str | None
    jobs: int | None
    share_identity: bool
    status: RequirementStatus
    version: int
    created_at: datetime
    updated_at: datetime
