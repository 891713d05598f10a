from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.reports.world import ReportWorld, make_report_world


@pytest.fixture
async def rworld(session: AsyncSession, client: httpx.AsyncClient) -> ReportWorld:
    """Nine companies, three per municipality (Frankfurt, Offenbach, Darmstadt), two
    requirements each: every group of the default reports has at least 3 companies."""
    return await make_report_world(session, client, companies=9)
