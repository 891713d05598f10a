"""Writing the audit log. Events are only ever inserted, never updated or deleted."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.auth.principal import AuthPrincipal


async def record(
    session: AsyncSession,
    *,
    actor: AuthPrincipal | None,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one event in the caller's transaction, so it commits or rolls back with the change."""
    await session.execute(
        insert(Event).values(
            actor_organization_id=actor.org_id if actor else None,
            api_key_id=actor.key_id if actor else None,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
        )
    )
