"""API schemas for regions and municipalities."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from landmarket.core.schemas import ReadModel


class RegionRead(ReadModel):
    slug: str = Field(examples=["frm"])
    name: str = Field(examples=["FrankfurtRheinMain"])
    settings: dict[str, Any] = Field(description="Policy settings, e.g. matching weights")
    municipality_count: int


class RegionDetail(RegionRead):
    municipalities: list[str] = Field(description="Member AGS, sorted")


class MunicipalityRead(ReadModel):
    ags: str = Field(description="Amtlicher Gemeindeschlüssel (8 digits)", examples=["06412000"])
    name: str = Field(examples=["Frankfurt am Main"])
    kind: str = Field(description="BKG designation (BEZ): Stadt, Gemeinde, ...")
    district_ags: str = Field(description="Land + Regierungsbezirk + Kreis (5 digits)")
    area_km2: float
    # Only present with `include=geometry`: boundaries make a list heavy.
    geometry: dict[str, Any] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="GeoJSON MultiPolygon in the requested CRS (only with include=geometry)",
    )


class MunicipalityProperties(ReadModel):
    ags: str
    name: str
    kind: str
    district_ags: str
    area_km2: float
    regions: list[str] = Field(description="Slugs of the regions the municipality belongs to")


class MunicipalityFeature(ReadModel):
    """A GeoJSON Feature (RFC 7946) with the municipality's boundary."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: MunicipalityProperties
