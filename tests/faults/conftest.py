"""Fault tests: a throwaway PostGIS cluster of their own and a real `landmarket serve` on it.

Never the shared test cluster: these tests stop it, restart it and `kill -9` it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from landmarket.db import migrate
from landmarket.db.embedded import EmbeddedCluster, cluster_processes
from tests.matching.world import World, make_world
from tests.servers import Server, serving

BIN = Path(sys.executable).parent


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class Throwaway:
    """An embedded cluster in a temporary directory, migrated to head."""

    cluster: EmbeddedCluster
    url: str

    def postmaster_pid(self) -> int:
        pid = self.cluster.status().pid
        assert pid is not None, "the cluster is not running"
        return pid

    def stop(self) -> None:
        """Fast shutdown: sessions are terminated, open transactions roll back."""
        assert self.cluster.stop()

    def kill9(self, *also: int) -> None:
        """`kill -9` of the postmaster (and of the backends ``also``), as a crash would.

        The orphaned backends notice the dead postmaster and exit on their own; PostgreSQL
        refuses to start while any of them still holds the old shared memory, so wait for them.
        """
        postmaster = self.postmaster_pid()
        os.kill(postmaster, signal.SIGKILL)
        for backend in also:
            os.kill(backend, signal.SIGKILL)
        deadline = time.monotonic() + 30
        # A zombie postmaster not yet reaped has no cwd but still counts as running.
        while left := cluster_processes(self.cluster.pgdata) or self.cluster.status().pid:
            assert time.monotonic() < deadline, f"{left} outlived their postmaster by 30 s"
            time.sleep(0.05)

    def start(self) -> None:
        assert self.cluster.start()


@pytest.fixture
def cluster() -> Iterator[EmbeddedCluster]:
    """A running embedded cluster of this test's own, removed afterwards."""
    # Under /tmp with 0711 so that, as root, the postgres user can reach the cluster inside.
    path = Path(tempfile.mkdtemp(prefix="landmarket-faults-", dir="/tmp"))
    path.chmod(0o711)
    embedded = EmbeddedCluster(path)
    try:
        embedded.start()
        yield embedded
    finally:
        if embedded.status().running:
            embedded.stop()
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def throwaway(cluster: EmbeddedCluster) -> Throwaway:
    engine = create_async_engine(cluster.url())
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return Throwaway(cluster=cluster, url=cluster.url())


@pytest.fixture
async def db(throwaway: Throwaway) -> AsyncIterator[AsyncSession]:
    """A session on the throwaway database, for arranging and checking rows."""
    engine = create_async_engine(throwaway.url, pool_pre_ping=True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
async def world(db: AsyncSession) -> World:
    made = await make_world(db)
    await db.close()  # hands its connection back before any test takes the server away
    return made


@dataclass
class FaultServer(Server):
    def worker_pids(self) -> list[int]:
        return [
            pid
            for pid in _children(self.process.pid)
            if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]


@pytest.fixture
def server(throwaway: Throwaway) -> Iterator[FaultServer]:
    """`landmarket serve` (with its webhook worker) as a process of its own on the cluster."""
    log = throwaway.cluster.data_dir / "serve.log"
    env = {**os.environ, "LANDMARKET_DATABASE_URL": throwaway.url}
    env["LANDMARKET_DATA_DIR"] = str(throwaway.cluster.data_dir)
    # The tests' webhook receiver is on loopback; a short poll delivers within the test.
    env["LANDMARKET_WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"
    env["LANDMARKET_WEBHOOK_WORKER_POLL_SECONDS"] = "0.2"
    with serving(env, log) as running:
        yield FaultServer(base=running.base, process=running.process, log=running.log)
