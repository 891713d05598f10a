"""`landmarket serve` as one of several nodes (issue 19, item 4): started on several nodes at
once with `--migrate`, the schema is migrated once (an advisory lock); on SIGTERM a node
drains (stops accepting, finishes the requests in flight within the shutdown timeout)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from landmarket.db import migrate
from landmarket.db.embedded import free_port
from tests.factories import make_municipality, make_org_with_key
from tests.pgserver import PgServer
from tests.servers import BIN, serving

NODES = 3


@pytest.fixture
async def empty_database(pg_server: PgServer) -> AsyncIterator[str]:
    url = await pg_server.acreate_database("lm_nodes")
    yield url
    await pg_server.adrop_database(url)


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [str(BIN / "landmarket"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--migrate", "--no-worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, f"http://127.0.0.1:{port}"


async def test_nodes_started_together_migrate_once(empty_database: str, tmp_path: Path) -> None:
    env = {**os.environ, "LANDMARKET_DATABASE_URL": empty_database}
    nodes = [
        _start({**env, "LANDMARKET_DATA_DIR": str(tmp_path)}, tmp_path / f"{i}.log")
        for i in range(NODES)
    ]
    try:
        deadline = time.monotonic() + 90
        pending = {base for _, base in nodes}
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                for i, (process, _) in enumerate(nodes):
                    log = (tmp_path / f"{i}.log").read_text(errors="replace")
                    assert process.poll() is None, f"node {i} exited:\n{log}"
                for base in list(pending):
                    try:
                        if (await client.get(f"{base}/readyz")).status_code == 200:
                            pending.discard(base)
                    except httpx.HTTPError:
                        pass
                assert time.monotonic() < deadline, f"not ready: {pending}"
                await asyncio.sleep(0.2)
        engine = create_async_engine(empty_database)
        try:
            assert await migrate.is_at_head(engine)
            async with engine.connect() as conn:
                versions = await conn.execute(text("SELECT count(*) FROM alembic_version"))
                assert versions.scalar_one() == 1
        finally:
            await engine.dispose()
    finally:
        for process, _ in nodes:
            process.terminate()
        for process, _ in nodes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_sigterm_drains_requests_in_flight_within_the_timeout(
    database_url: str, tmp_path: Path, session: AsyncSession
) -> None:
    await make_municipality(session, "06412000", "Frankfurt am Main")
    _, key = await make_org_with_key(session, "company", "Acme", home_ags="06412000")
    env = {
        **os.environ,
        "LANDMARKET_DATABASE_URL": database_url,
        "LANDMARKET_DATA_DIR": str(tmp_path),
        "LANDMARKET_SHUTDOWN_TIMEOUT_SECONDS": "4",
    }
    auth = {"Authorization": f"Bearer {key}"}
    with serving(env, tmp_path / "serve.log", "--no-worker") as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=20, headers=auth) as client:
            # Long polls with no events: one ends within the drain, one would outlast it.
            short = asyncio.create_task(client.get("/v1/events", params={"wait": 2}))
            long = asyncio.create_task(client.get("/v1/events", params={"wait": 25}))
            await asyncio.sleep(0.8)
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            # No new connections are accepted while draining.
            with pytest.raises(httpx.ConnectError):
                await httpx.AsyncClient(timeout=2).get(f"{server.base}/healthz")
            finished = await asyncio.wait_for(short, 10)
            assert finished.status_code == 200, finished.text
            # The one over the timeout is cut off; the process does not wait 25 s for it.
            cut = await asyncio.wait_for(long, 10)
            assert cut.status_code == 503 and cut.headers["retry-after"] == "1", cut.text
            await asyncio.to_thread(server.process.wait, 10)
            assert time.monotonic() - stopped_at < 10
        assert "timeout graceful shutdown exceeded" in server.output()
