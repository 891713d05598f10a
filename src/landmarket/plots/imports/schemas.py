"""Bulk import schemas: a FeatureCollection in, a report out."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import Field, create_model, field_validator

from landmarket.core.errors import FieldError
from landmarket.core.schemas import JSON_NUMBER, ApiModel, ReadModel, Text
from landmarket.plots.schemas import Ags, ExternalId, GeometryIn, PlotAttributes, PlotProperties

# A bbox member is ignored; beyond this it lies outside every supported CRS.
Coordinate = Annotated[float, Field(ge=-1e8, le=1e8), JSON_NUMBER]


class ImportMode(enum.StrEnum):
    atomic = "atomic"
    partial = "partial"


class PlotImportFeature(ApiModel):
    """One feature, validated per feature so one bad feature does not hide the others."""

    type: Literal["Feature"]
    geometry: GeometryIn
    properties: PlotProperties
    # GIS exports often carry a feature id and a bbox; the plot is named by external_id.
    id: Annotated[str, Text(max_length=1000)] | int | None = None
    bbox: list[Coordinate] | None = None


# Properties a new plot needs (title): a merge may leave them out for plots that exist.
REQUIRED_FOR_NEW: tuple[str, ...] = tuple(
    n for n, f in PlotAttributes.model_fields.items() if f.is_required()
)


def _not_null(value: object) -> object:
    # Runs only for a value that was sent: an explicit null of a required property.
    if value is None:
        raise ValueError("may not be null")
    return value


# PlotProperties with every REQUIRED_FOR_NEW property optional (absent = not sent; the
# service refuses it for a new plot and keeps the stored value of an existing one). Derived
# from PlotAttributes so a property made required later is covered without a change here.
def _optional(annotation: Any, metadata: list[Any]) -> Any:
    """The same type and constraints, or absent."""
    return (Annotated[(annotation, *metadata)] if metadata else annotation) | None


_OPTIONAL: dict[str, Any] = {
    n: (_optional(f.annotation, f.metadata), None)
    for n, f in PlotAttributes.model_fields.items()
    if f.is_required()
}
_VALIDATORS: dict[str, Any] = {"not_null": field_validator(*REQUIRED_FOR_NEW)(_not_null)}
PlotMergeProperties: type[PlotProperties] = create_model(
    "PlotMergeProperties", __base__=PlotProperties, __validators__=_VALIDATORS, **_OPTIONAL
)


class PlotMergeFeature(PlotImportFeature):
    """A feature of a merge: required properties may be left out for existing plots."""

    properties: PlotMergeProperties


class PlotImport(ApiModel):
    """A GeoJSON FeatureCollection of plots (features as for `POST /v1/plots`)."""

    type: Literal["FeatureCollection"]
    # Checked one by one in the service (PlotImportFeature), so the report can name each bad
    # feature instead of failing the whole request on the first one.
    features: list[dict[str, Any]] = Field(
        description="Plot Features; `properties.external_id` is required"
    )
    keep: Annotated[list[ExternalId], Field(max_length=1_000_000)] = Field(
        default_factory=list,
        description="With `prune=true`: external ids sent in earlier batches of the same sync; "
        "plots with these ids are not withdrawn",
    )
    municipalities: list[Ags] = Field(
        default_factory=list,
        description="With `prune=true`: municipalities touched by earlier batches of the same "
        "sync, pruned as well (the key must be allowed to edit them)",
    )
    # GIS exports often carry these; they are accepted and ignored.
    name: Annotated[str, Text(max_length=1000)] | None = None
    crs: dict[str, Any] | None = None
    bbox: list[Coordinate] | None = None


class FeatureFailure(FieldError):
    """Why one feature was not imported."""

    index: int = Field(description="Position in `features`, from 0")
    external_id: str | None = Field(description="As sent, if it could be read")
    status: int = Field(description="The HTTP status a single-plot write would have got")


class FeatureRepaired(ReadModel):
    index: int
    external_id: str
    reason: str = Field(description="ST_IsValidReason of the geometry before ST_MakeValid")


class PlotImportReport(ReadModel):
    mode: ImportMode
    dry_run: bool = Field(description="true: nothing was written; the counts say what would be")
    received: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    failed: int
    municipalities: list[str] = Field(
        description="Municipalities touched by this import (send them back as `municipalities` "
        "in a final prune call of a batched sync)"
    )
    repaired: list[FeatureRepaired]
    errors: list[FeatureFailure]
