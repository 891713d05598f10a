"""A push whose connection drops for good (retries exhausted): the command stops, and the same
push run again continues the open session, sending only the batches the server has not
acknowledged, so everything is written exactly once. A changed file or a session that is gone
(expired, aborted) starts afresh."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from landmarket.audit.models import Event
from landmarket.plots.imports.session_models import ImportSession
from landmarket.plots.models import Plot
from landmarket.plots_push import client as api
from tests.plots.conftest import UTM_URI, World
from tests.plots.test_import_sessions import small
from tests.plots.test_push_cli import running_server


class CountingTransport(httpx.HTTPTransport):
    """Forwards to the real server and counts batch uploads; with ``fail_after``, the
    connection is gone (every request fails) once that many uploads went through."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.fail_after = fail_after
        self.uploads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.fail_after is not None and self.uploads >= self.fail_after:
            raise httpx.ConnectError("connection refused", request=request)
        response = super().handle_request(request)
        if request.method == "PUT" and "/batches/" in request.url.path:
            self.uploads += 1
        return response


def push(
    base: str, key: str, features: list[dict[str, Any]], state: Path, fail_after: int | None
) -> tuple[dict[str, Any] | None, int]:
    """One run of the push: the report (None when the API became unreachable) and how many
    batches it uploaded."""
    transport = CountingTransport(fail_after)
    with httpx.Client(transport=transport, timeout=60) as http:
        session = api.SessionClient(http, base, key, UTM_URI, sleep=lambda s: None)
        try:
            report, _ = api.send(
                session,
                features,
                api.PushOptions(batch_size=10),
                keep=[],
                validate_only=False,
                state_file=state,
            )
        except api.Unreachable:
            return None, transport.uploads
    return report, transport.uploads


async def _counts(session: AsyncSession) -> tuple[int, int]:
    await session.rollback()
    plots = await session.scalar(select(func.count()).select_from(Plot))
    events = await session.scalar(select(func.count()).select_from(Event))
    return int(plots or 0), int(events or 0)


async def test_a_rerun_after_a_dropped_connection_resumes_the_session(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World
) -> None:
    await session.commit()
    features = [small(i) for i in range(35)]  # 4 batches of 10
    state = tmp_path / "plots.gpkg.push-state.json"
    with running_server(database_url, tmp_path) as base:
        report, uploads = await asyncio.to_thread(push, base, world.frankfurt, features, state, 2)
        assert report is None and uploads == 2
        saved = json.loads(state.read_text())
        assert sorted(saved["batches"]) == ["0", "1"]
        assert await _counts(session) == (0, 0)  # nothing committed

        report, uploads = await asyncio.to_thread(
            push, base, world.frankfurt, features, state, None
        )
        assert report is not None and (report["created"], report["failed"]) == (35, 0)
        assert uploads == 2  # only batches 2 and 3; 0 and 1 were acknowledged before
        assert not state.exists()
        assert await _counts(session) == (35, 35)  # written once
        committed = await session.get(ImportSession, uuid.UUID(saved["session"]))
        assert committed is not None and committed.state.value == "committed"

        # The same push again: no session to resume, a fresh one; nothing changes.
        report, uploads = await asyncio.to_thread(
            push, base, world.frankfurt, features, state, None
        )
        assert report is not None and (report["unchanged"], uploads) == (35, 4)
        assert await _counts(session) == (35, 35)


@pytest.mark.parametrize("why", ["changed file", "expired session"])
async def test_a_changed_file_or_a_gone_session_starts_afresh(
    session: AsyncSession, database_url: str, tmp_path: Path, world: World, why: str
) -> None:
    await session.commit()
    features = [small(i) for i in range(35)]
    state = tmp_path / "state.json"
    with running_server(database_url, tmp_path) as base:
        report, _ = await asyncio.to_thread(push, base, world.frankfurt, features, state, 3)
        assert report is None
        old = uuid.UUID(json.loads(state.read_text())["session"])
        if why == "changed file":
            features[5]["properties"]["title"] = "Renamed in the GIS"
        else:
            await session.execute(
                update(ImportSession)
                .where(ImportSession.id == old)
                .values(expires_at=func.now() - timedelta(hours=1))
            )
            await session.commit()
        report, uploads = await asyncio.to_thread(
            push, base, world.frankfurt, features, state, None
        )
        assert report is not None and report["created"] == 35 and uploads == 4
        assert await _counts(session) == (35, 35)
        title = await session.scalar(select(Plot.title).where(Plot.external_id == "p-5"))
        assert title == ("Renamed in the GIS" if why == "changed file" else "Plot 5")
        if why == "changed file":  # the stale session was aborted, not left to expire
            assert await session.get(ImportSession, old) is None
