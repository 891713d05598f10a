"""A push whose responses are lost (the connection drops after the server did the work):
the client sends the batch or the commit again, and the server neither stores a batch twice
nor writes twice; the report is the commit's own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.models import Plot
from landmarket.plots_push import client as api
from tests.plots.conftest import UTM_URI, World
from tests.plots.test_import_sessions import small
from tests.plots.test_push_cli import running_server


class DroppingTransport(httpx.HTTPTransport):
    """Forwards every request to the real server, then loses the first response of each
    upload and of the commit (as a dropped connection would)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        path = request.url.path
        if ("/batches/" in path or path.endswith("/commit")) and path not in self.dropped:
            response.read()
            response.close()
            self.dropped.append(path)
            raise httpx.ReadError("connection dropped", request=request)
        return response


def push_with_drops(base: str, key: str, features: list[dict[str, Any]]) -> Any:
    transport = DroppingTransport()
    with httpx.Client(transport=transport, timeout=60) as http:
        session = api.SessionClient(http, base, key, UTM_URI, sleep=lambda s: None)
        options = api.PushOptions(batch_size=10)
        report, written = api.send(session, features, options, keep=[], validate_only=False)
    return report, written, transport.dropped


async def test_lost_responses_are_retried_without_writing_twice(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    features = [small(i) for i in range(35)]
    with running_server(database_url, tmp_path) as base:
        report, written, dropped = await asyncio.to_thread(
            push_with_drops, base, world.frankfurt, features
        )
    assert written and report["created"] == 35 and report["failed"] == 0
    assert len(dropped) == 5  # 4 batches and the commit, each answered only the second time
    assert await session.scalar(select(func.count()).select_from(Plot)) == 35
    assert await session.scalar(select(func.count()).select_from(Event)) == 35
