"""Request and response bodies for organisations, API keys and ``/v1/me``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator
from pydantic.config import JsonDict, JsonValue

from landmarket.auth.models import OrgKind
from landmarket.core.schemas import ApiModel, IsoDateTime, ReadModel, Text

AGS_PATTERN = r"^[0-9]{8}$"
Ags = Annotated[str, Text(pattern=AGS_PATTERN)]
REGION_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
RegionSlug = Annotated[str, Text(pattern=REGION_SLUG_PATTERN)]
Name = Annotated[str, Text(strip=True, min_length=1, max_length=200)]
# NACE Rev. 2: section letter and/or division, group, class ("C", "C25", "25.62").
Nace = Annotated[str, Text(pattern=r"^(?:[A-U]|[A-U]?\d{2}(?:\.\d{1,2})?)$")]


# Which optional OrganizationCreate fields each kind accepts (the others must be absent, null
# or an empty list), and which of them it needs.
KIND_FIELDS: dict[OrgKind, frozenset[str]] = {
    OrgKind.municipality: frozenset({"ags"}),
    OrgKind.company: frozenset({"home_ags", "sector_nace"}),
    OrgKind.agency: frozenset({"regions"}),
    OrgKind.admin: frozenset(),
}
REQUIRED_FIELDS = frozenset({"ags", "home_ags", "regions"})
_LISTS = frozenset({"ags", "regions"})


def _kind_rule(kind: OrgKind) -> JsonDict:
    """KIND_FIELDS for one kind as a JSON schema `if`/`then`, so the document says it too."""
    unset: JsonDict = {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]}
    fields: JsonDict = {}
    needed: list[JsonValue] = []
    for name in ("ags", "home_ags", "regions", "sector_nace"):
        if name not in KIND_FIELDS[kind]:
            fields[name] = unset if name in _LISTS else {"type": "null"}
        elif name in REQUIRED_FIELDS:
            needed.append(name)
            fields[name] = (
                {"type": "array", "minItems": 1}
                if name in _LISTS
                else {"type": "string", "pattern": AGS_PATTERN}
            )
    return {
        "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
        "then": {"properties": fields, "required": needed},
    }


class OrganizationCreate(ApiModel):
    """Which of `ags`, `home_ags`, `regions` and `sector_nace` apply depends on `kind`;
    a field that does not apply to the kind is rejected, not ignored."""

    model_config = ConfigDict(json_schema_extra={"allOf": [_kind_rule(k) for k in OrgKind]})

    kind: OrgKind
    name: Name
    ags: list[Ags] | None = Field(
        default=None, description="municipality: the AGS whose plots it may edit (at least one)"
    )
    home_ags: Ags | None = Field(default=None, description="company: AGS it is based in")
    regions: list[RegionSlug] | None = Field(
        default=None, description="agency: slugs of the regions whose reports it reads"
    )
    sector_nace: Nace | None = Field(default=None, description="company: NACE Rev. 2 code")


class OrganizationRead(ReadModel):
    id: uuid.UUID
    kind: OrgKind
    name: str
    ags: list[str] = Field(description="municipality: editable AGS; empty for other kinds")
    regions: list[str] = Field(description="agency: region slugs; empty for other kinds")
    home_ags: str | None
    sector_nace: str | None
    created_at: datetime
    erased_at: datetime | None = Field(
        description="Set once the organisation was erased: the name is then a pseudonym"
    )


class MeRead(ReadModel):
    id: uuid.UUID
    kind: OrgKind
    name: str
    ags: list[str]
    regions: list[str]
    home_ags: str | None
    sector_nace: str | None
    key_prefix: str = Field(description="Visible prefix of the key used for this request")


class ApiKeyCreate(ApiModel):
    name: Name = Field(description="What the key is for, e.g. 'QGIS sync'")
    expires_at: IsoDateTime | None = Field(
        default=None, description="Optional expiry (with time zone); must be in the future"
    )

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return value


class ApiKeyRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    # repr=False keeps the secret out of logs should the object ever be logged.
    key: str = Field(
        repr=False, description="The full key. Shown only in this response: store it now."
    )
