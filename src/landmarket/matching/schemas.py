"""Match, demand and inquiry schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from landmarket.core.schemas import ApiModel, ReadModel, Text
from landmarket.matching.models import InquiryOutcome, MatchState
from landmarket.plots.models import Category, PlotStatus, Tenure, Zoning
from landmarket.plots.schemas import Contact, ContactRead
from landmarket.requirements.models import EmissionClass

Criterion = Literal["area", "distance", "price", "availability", "infrastructure", "reactivation"]
Message = Annotated[str, Text(strip=True, min_length=1, max_length=2000)]


class ExplanationItem(ReadModel):
    criterion: Criterion
    value: Any = Field(description="The plot's value for this criterion")
    score: float | None = Field(description="0-1")
    weight: float = Field(description="0-10; the effective weight (defaults filled in)")
    reason: str = Field(description="English, stable: what the value was compared with")
    unit: str | None = Field(
        default=None, description="Unit of `value`: m2, km, eur_m2 (sale; rent per month), date"
    )
    limit: Any = Field(
        default=None,
        description="The requirement's limit the value was measured against (area range, "
        "maximum distance or the 30 km home scale, budget, needed-by date)",
    )
    basis: str | None = Field(
        default=None,
        description="Which reason applies: area in_range|partial; distance anchor|home|none; "
        "price on_request|budget|typical; availability now|later; reactivation "
        "reuse|infill|none",
    )
    text: str | None = Field(
        default=None,
        description="The reason as a sentence with value, unit and limit, in the language of "
        "`lang` or Accept-Language (de by default)",
    )


class PlotSummary(ReadModel):
    id: uuid.UUID
    title: str
    municipality_ags: str
    municipality_name: str
    area_m2: float
    category: Category | None
    zoning: Zoning | None
    tenure: Tenure | None
    price_eur_per_m2: float | None
    rent_eur_per_m2_month: float | None
    available_from: date | None
    status: PlotStatus


class MatchRead(ReadModel):
    plot: PlotSummary
    score: float = Field(description="0-100, weighted mean of the criterion scores")
    partial: bool = Field(description="Only a part of a divisible plot fits the area range")
    cross_border: bool
    distance_km: float | None
    explanation: list[ExplanationItem]
    state: MatchState
    stale: bool = Field(description="No longer matches; kept because of its state")


class MatchPage(ReadModel):
    items: list[MatchRead]
    next_cursor: str | None


# The service refuses a message or contact with any other state (422); the document says so,
# so a client (or a fuzzer) reading the schema sends nothing it would refuse.
_MESSAGE_WITH_INTEREST_ONLY: dict[str, Any] = {
    "if": {"properties": {"state": {"not": {"const": "interest_expressed"}}}},
    "then": {"properties": {"message": {"type": "null"}, "contact": {"type": "null"}}},
}


class MatchStateChange(ApiModel):
    model_config = ConfigDict(json_schema_extra=_MESSAGE_WITH_INTEREST_ONLY)

    state: Literal["shortlisted", "dismissed", "interest_expressed"]
    message: Message | None = Field(
        default=None, description="With interest_expressed: shown to the plot's municipality"
    )
    contact: Contact | None = Field(
        default=None, description="With interest_expressed: how the municipality reaches you"
    )


class MatchStateRead(ReadModel):
    requirement_id: uuid.UUID
    plot_id: uuid.UUID
    state: MatchState
    message: str | None
    contact: ContactRead | None
    score: float
    stale: bool


class CompanyIdentity(ReadModel):
    name: str
    contact: ContactRead | None = None
    message: str | None = None
    inquiry_id: uuid.UUID | None = Field(
        default=None, description="Set once interest is expressed: GET/PATCH /v1/inquiries/{id}"
    )


class DemandRead(ReadModel):
    """One open requirement matching the plot; anonymous unless the company shares its
    identity or expressed interest."""

    score: float
    area_min_m2: float
    area_max_m2: float
    emission_class: EmissionClass
    sector_nace: str | None
    needed_by: date | None
    cross_border: bool
    company: CompanyIdentity | None


class RequirementSummary(ReadModel):
    area_min_m2: float
    area_max_m2: float
    emission_class: EmissionClass
    sector_nace: str | None
    jobs: int | None
    needed_by: date | None


class InquiryRead(ReadModel):
    id: uuid.UUID
    plot_id: uuid.UUID
    plot_title: str
    municipality_ags: str
    company: CompanyIdentity
    requirement: RequirementSummary
    score: float
    cross_border: bool
    stale: bool
    state: MatchState
    outcome: InquiryOutcome | None
    note: str | None
    interest_at: datetime | None
    state_changed_at: datetime | None


# What the service enforces (422 otherwise), stated in the document: closed comes with an
# outcome, in_contact without one.
_OUTCOME_WITH_CLOSED: dict[str, Any] = {
    "if": {"properties": {"state": {"const": "closed"}}, "required": ["state"]},
    "then": {
        "required": ["outcome"],
        "properties": {"outcome": {"not": {"type": "null"}}},
    },
    "else": {"properties": {"outcome": {"type": "null"}}},
}


class InquiryUpdate(ApiModel):
    model_config = ConfigDict(json_schema_extra=_OUTCOME_WITH_CLOSED)

    state: Literal["in_contact", "closed"]
    outcome: InquiryOutcome | None = Field(default=None, description="Required with closed")
    note: Message | None = None
