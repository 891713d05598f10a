"""Plot schemas: GeoJSON Features whose properties use the public names of issue 3."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator

from landmarket.core.schemas import (
    ApiModel,
    Integer,
    IsoDate,
    Number,
    ReadModel,
    Text,
    omit_not_null,
)
from landmarket.db.geo import polygon_schema
from landmarket.plots.models import (
    Category,
    Contamination,
    GeometryPrecision,
    Ownership,
    PlanningStatus,
    PlotStatus,
    Servicing,
    Tenure,
    Zoning,
)

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:/-]+$"

ExternalId = Annotated[str, Text(min_length=1, max_length=128, pattern=EXTERNAL_ID_PATTERN)]
Ags = Annotated[str, Text(pattern=r"^[0-9]{8}$")]
Title = Annotated[str, Text(strip=True, min_length=1, max_length=200)]
Description = Annotated[str, Text(max_length=5000)]
ParcelId = Annotated[str, Text(strip=True, min_length=1, max_length=64)]
# Prices, rents, distances and areas are never negative; each has a stated maximum (beyond
# any real plot) that keeps matching's arithmetic with it in double precision's range.
EmissionQuota = Annotated[float, Number(ge=-100, le=200)]
Count = Annotated[int, Integer(ge=0)]  # an `integer` column
DistanceKm = Annotated[float, Number(ge=0, le=20_000)]
Price = Annotated[float, Number(ge=0, le=1_000_000)]
Rent = Annotated[float, Number(ge=0, le=100_000)]
AreaM2 = Annotated[float, Number(ge=0, le=1_000_000_000)]


class Contact(ApiModel):
    name: Annotated[str, Text(max_length=200)] | None = None
    email: Annotated[str, Text(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")] | None = None
    phone: Annotated[str, Text(max_length=50)] | None = None


class GeometryIn(ApiModel):
    """A GeoJSON Polygon or MultiPolygon; coordinates are checked by plots.geometry."""

    # Positions of 2 or 3 numbers; their range depends on the Content-Crs header (checked by
    # plots.geometry), and is within +-1e8 in every supported CRS.
    model_config = ConfigDict(
        json_schema_extra=polygon_schema(
            {
                "type": "array",
                "items": {"type": "number", "minimum": -1e8, "maximum": 1e8},
                "minItems": 2,
                "maxItems": 3,
            }
        )
    )

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class PlotAttributes(ApiModel):
    """Properties of a plot as sent by a GIS system, except its id."""

    municipality_ags: Ags | None = Field(
        default=None,
        description="Optional when the key edits one municipality only or the plot lies in one",
    )
    title: Title
    description: Description | None = None
    category: Category | None = None
    zoning: Zoning | None = None
    planning_status: PlanningStatus | None = None
    emission_quota_db: EmissionQuota | None = Field(default=None, description="DIN 45691, dB(A)")
    contamination: Contamination | None = None
    servicing: Servicing | None = None
    fibre_available: StrictBool = False
    broadband_mbps: Count | None = None
    transit_stop_distance_m: Count | None = None
    motorway_distance_km: DistanceKm | None = None
    rail_siding: StrictBool = False
    tenure: Tenure | None = None
    price_eur_per_m2: Price | None = None
    rent_eur_per_m2_month: Rent | None = None
    ownership: Ownership | None = None
    divisible: StrictBool = False
    min_divisible_area_m2: AreaM2 | None = None
    available_from: IsoDate | None = Field(default=None, description="null = available now")
    parcel_ids: Annotated[list[ParcelId], Field(max_length=1000)] = Field(default_factory=list)
    contact: Contact | None = None
    geometry_precision: GeometryPrecision = Field(
        default=GeometryPrecision.exact,
        description="`approximate`: a square of the registered area around a point, to be "
        "replaced by the real outline",
    )
    status: PlotStatus | None = Field(
        default=None,
        description="On create `draft` (default) or `published`; on replace omitted = unchanged",
    )


class PlotProperties(PlotAttributes):
    """Properties for a create."""

    external_id: ExternalId


class PlotReplaceProperties(PlotAttributes):
    """Properties for a replace by the GIS id: the path names the plot."""

    external_id: ExternalId | None = Field(default=None, description="If sent, must match the path")


_NOT_NULL = (
    "external_id",
    "title",
    "fibre_available",
    "rail_siding",
    "divisible",
    "parcel_ids",
    "geometry_precision",
)


class PlotPropertiesUpdate(ApiModel):
    """Partial update: omitted properties stay as they are; null clears a nullable one."""

    model_config = ConfigDict(json_schema_extra=omit_not_null(*_NOT_NULL, "status"))

    external_id: ExternalId | None = None
    municipality_ags: Ags | None = None
    title: Title | None = None
    description: Description | None = None
    category: Category | None = None
    zoning: Zoning | None = None
    planning_status: PlanningStatus | None = None
    emission_quota_db: EmissionQuota | None = None
    contamination: Contamination | None = None
    servicing: Servicing | None = None
    fibre_available: StrictBool | None = None
    broadband_mbps: Count | None = None
    transit_stop_distance_m: Count | None = None
    motorway_distance_km: DistanceKm | None = None
    rail_siding: StrictBool | None = None
    tenure: Tenure | None = None
    price_eur_per_m2: Price | None = None
    rent_eur_per_m2_month: Rent | None = None
    ownership: Ownership | None = None
    divisible: StrictBool | None = None
    min_divisible_area_m2: AreaM2 | None = None
    available_from: IsoDate | None = None
    parcel_ids: Annotated[list[ParcelId], Field(max_length=1000)] | None = None
    contact: Contact | None = None
    geometry_precision: GeometryPrecision | None = None
    status: PlotStatus | None = None

    @field_validator(*_NOT_NULL, "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only runs for values the client sent: an explicit null of a required property.
        if value is None:
            raise ValueError("may not be null")
        return value


class PlotCreate(ApiModel):
    """A GeoJSON Feature."""

    type: Literal["Feature"]
    geometry: GeometryIn
    properties: PlotProperties


class PlotReplace(ApiModel):
    """A GeoJSON Feature that replaces the plot's geometry and properties."""

    type: Literal["Feature"]
    geometry: GeometryIn
    properties: PlotReplaceProperties


class PlotUpdate(ApiModel):
    """A partial GeoJSON Feature: geometry and any subset of the properties."""

    type: Literal["Feature"] = "Feature"
    geometry: GeometryIn | None = None
    properties: PlotPropertiesUpdate = Field(default_factory=PlotPropertiesUpdate)


class StatusChange(ApiModel):
    status: PlotStatus


class ContactRead(ReadModel):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class PlotPropertiesRead(ReadModel):
    id: uuid.UUID
    external_id: str
    municipality_ags: str
    title: str
    description: str | None
    category: Category | None
    zoning: Zoning | None
    planning_status: PlanningStatus | None
    emission_quota_db: float | None
    contamination: Contamination | None
    servicing: Servicing | None
    fibre_available: bool
    broadband_mbps: int | None
    transit_stop_distance_m: int | None
    motorway_distance_km: float | None
    rail_siding: bool
    tenure: Tenure | None
    price_eur_per_m2: float | None
    rent_eur_per_m2_month: float | None
    ownership: Ownership | None
    divisible: bool
    min_divisible_area_m2: float | None
    available_from: date | None
    parcel_ids: list[str]
    contact: ContactRead | None = Field(
        default=None,
        description="Names, e-mail addresses and phone numbers of people: present only for "
        "the plot's municipality and admins",
    )
    geometry_precision: GeometryPrecision
    status: PlotStatus
    area_m2: float = Field(description="Computed in PostGIS from the stored geometry (EPSG:25832)")
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    last_confirmed_at: datetime


class GeometryRead(ReadModel):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[list[float]]]]


class PlotRead(ReadModel):
    type: Literal["Feature"]
    id: uuid.UUID
    geometry: GeometryRead
    properties: PlotPropertiesRead


class Link(ReadModel):
    href: str
    rel: str
    type: str | None = None


class PlotCollection(ReadModel):
    type: Literal["FeatureCollection"]
    features: list[PlotRead]
    numberReturned: int  # noqa: N815 - the OGC API Features member name
    links: list[Link]


class EventRead(ReadModel):
    id: int
    occurred_at: datetime
    action: str
    actor_organization_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
