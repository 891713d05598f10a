"""Import session schemas: open, upload a batch, commit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, field_validator

from landmarket.core.schemas import ApiModel, Integer, ReadModel, Text
from landmarket.plots.imports.schemas import Coordinate, ImportMode
from landmarket.plots.schemas import Ags, ExternalId, PlotAttributes

# A property name, documented as an enum so clients (and fuzzers) know the valid ones.
PropertyName = Annotated[
    str, Field(json_schema_extra={"enum": sorted(PlotAttributes.model_fields)})
]


class SessionOpen(ApiModel):
    """The options of the whole push; every batch is read in the session's `Content-Crs`."""

    mode: ImportMode = ImportMode.atomic
    repair: StrictBool = Field(
        default=False, description="Repair invalid geometries (ST_MakeValid)"
    )
    prune: StrictBool = Field(
        default=False,
        description="At commit: withdraw the plots of the touched municipalities (and of "
        "`municipalities`) that no batch of the session contains",
    )
    municipalities: list[Ags] = Field(
        default_factory=list, description="With `prune`: further municipalities to prune"
    )
    keep: Annotated[list[ExternalId], Field(max_length=1_000_000)] = Field(
        default_factory=list,
        description="With `prune`: external ids the push contains but does not send (rows the "
        "client refused); plots with these ids are not withdrawn",
    )

    merge: list[PropertyName] | None = Field(
        default=None,
        description="Merge: only these properties (and the geometry) change on existing plots; "
        "the others keep their values. Omitted: each feature replaces the whole plot",
    )
    force: StrictBool = Field(
        default=False,
        description="Overwrite plots edited by other means since the last push (otherwise each "
        "such feature fails with status 409)",
    )

    @field_validator("merge")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        unknown = sorted(set(names or ()) - set(PlotAttributes.model_fields))
        if unknown:
            raise ValueError(f"not plot properties: {', '.join(unknown)}")
        return names


class SessionRead(ReadModel):
    id: str
    state: Literal["open", "committed"]
    crs: str
    mode: ImportMode
    repair: bool
    prune: bool
    batches: list[int] = Field(description="Sequence numbers of the batches received so far")
    features: int = Field(description="Features received over all batches")
    expires_at: datetime = Field(
        description="When the session is dropped unwritten if nothing more arrives"
    )


class BatchUpload(ApiModel):
    """One batch: a GeoJSON FeatureCollection of plots, checked at commit."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(description="Plot Features, as for `/v1/plot-imports`")
    # GIS exports often carry these; they are accepted and ignored.
    name: Annotated[str, Text(max_length=1000)] | None = None
    crs: dict[str, Any] | None = None
    bbox: list[Coordinate] | None = None


class BatchRead(ReadModel):
    seq: int
    received: int = Field(description="Features in this batch")
    features: int = Field(description="Features received over all batches of the session")


class SessionCommit(ApiModel):
    batches: Annotated[int, Integer(ge=0, le=1_000_001)] | None = Field(
        default=None,
        description="How many batches the client sent (sequence numbers 0 to n-1); the commit "
        "is refused (409, naming the missing ones) unless all of them arrived",
    )
