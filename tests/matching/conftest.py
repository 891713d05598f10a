from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.matching.world import World, make_world


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await make_world(session)
