"""Who is calling: the organisation behind the API key of the current request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from landmarket.auth.models import OrgKind


@dataclass(frozen=True, slots=True)
class AuthPrincipal:
    org_id: uuid.UUID
    kind: OrgKind
    name: str
    key_id: uuid.UUID
    key_prefix: str
    # municipality: the AGS whose plots it may edit; empty for other kinds.
    editable_ags: frozenset[str]
    # agency: the regions whose reports it may read; empty for other kinds.
    regions: frozenset[str]
    # company: the municipality it is based in.
    home_ags: str | None
    sector_nace: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind is OrgKind.admin

    def may_edit(self, ags: str) -> bool:
        """Whether this caller may write plots of the municipality ``ags``."""
        return self.kind is OrgKind.municipality and ags in self.editable_ags
