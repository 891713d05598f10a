"""What an erasure reports back."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from landmarket.core.schemas import ReadModel


class ErasureRead(ReadModel):
    organization_id: uuid.UUID
    name: str = Field(description="The pseudonym that replaced the organisation's name")
    erased_at: datetime = Field(description="When the organisation was first erased")
    requirements: int = Field(description="Requirements withdrawn or scrubbed by this erasure")
    matches: int = Field(
        description="Matches of those requirements whose message, contact or note this run erased"
    )
    audit_events: int = Field(description="Audit events whose snapshots lost personal values")
    webhook_events: int = Field(description="Outbox events scrubbed, pseudonymised or deleted")
