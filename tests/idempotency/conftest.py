from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.idempotency.models import IdempotencyRecord
from landmarket.plots.models import Plot
from landmarket.requirements.models import Requirement
from tests.helpers import bearer, count
from tests.matching.world import World, make_world

KEY = "6f1c0a52-95a4-4bb5-9a37-0d2f3c1b7e10"


def keyed(api_key: str, idempotency_key: str | bytes = KEY, **headers: Any) -> dict[str, Any]:
    return {**bearer(api_key), "Idempotency-Key": idempotency_key, **headers}


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows that a keyed request may create: a replay must leave every one unchanged."""
    await session.rollback()
    tables = {
        "requirements": Requirement,
        "plots": Plot,
        "events": Event,
        "records": IdempotencyRecord,
    }
    return {name: await count(session, model) for name, model in tables.items()}


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await make_world(session)
