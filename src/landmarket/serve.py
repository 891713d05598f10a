"""`landmarket serve`: the API on the configured database or the embedded cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import typer
import uvicorn

from landmarket.core.config import Settings
from landmarket.db.connect import SchemaBehindError, ensure_schema
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import create_engine, redacted
from landmarket.demo.seed import describe, seed_demo_database
from landmarket.httpserver import announce_limits, uvicorn_options
from landmarket.webhooks.worker import PARENT_ENV


async def _prepare_schema(url: str, settings: Settings, migrate_now: bool) -> None:
    engine = create_engine(url, settings)
    try:
        await ensure_schema(engine, migrate_now=migrate_now)
    finally:
        await engine.dispose()


class WorkerSupervisor:
    """Runs `landmarket worker` next to the API and starts it again whenever it exits, after
    a back-off that doubles from ``min_delay`` to ``max_delay`` (reset once a worker has run
    ``stable_after`` seconds), so a worker that keeps crashing neither stops delivery for
    good nor spins. Every exit and restart is logged."""

    def __init__(
        self,
        command: list[str] | None = None,
        *,
        min_delay: float = 1.0,
        max_delay: float = 60.0,
        stable_after: float = 60.0,
    ) -> None:
        self.command = command or [sys.executable, "-m", "landmarket", "worker"]
        self.min_delay, self.max_delay, self.stable_after = min_delay, max_delay, stable_after
        self.restarts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # The worker arranges to die with us itself (worker.die_with_parent): no preexec_fn,
        # which is unsafe in a process that has threads (this one has, and uvicorn's).
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        return subprocess.Popen(self.command, env=env)

    def start(self) -> None:
        self.process = self._spawn()
        typer.echo(f"webhook worker started, pid {self.process.pid} (disable with --no-worker)")
        self._thread.start()

    def _watch(self) -> None:
        delay = self.min_delay
        while True:
            process = self.process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - started
            if ran >= self.stable_after:
                delay = self.min_delay
            typer.echo(
                f"webhook worker (pid {process.pid}) exited with code {code} after {ran:.1f} s;"
                f" restarting in {delay:g} s",
                err=True,
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._spawn()
                self.restarts += 1
            typer.echo(f"webhook worker restarted, pid {self.process.pid}", err=True)
            delay = min(delay * 2, self.max_delay)

    def stop(self, timeout: float = 15.0) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        typer.echo("webhook worker stopped")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    migrate_now: bool,
    demo: bool,
    worker: bool = False,
) -> None:
    url = settings.database_url_value()
    cluster: EmbeddedCluster | None = None
    started = False
    if url is None:
        cluster = EmbeddedCluster(settings.data_dir)
        started = cluster.start()
        url = cluster.url()
        migrate_now = True  # the private cluster is ours to keep current
        typer.echo(f"embedded PostGIS on 127.0.0.1:{cluster.port} ({cluster.pgdata})")
    try:
        try:
            asyncio.run(_prepare_schema(url, settings, migrate_now))
        except SchemaBehindError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"database {redacted(url)} at head")
        base_url = f"http://{host}:{port}"
        if demo:
            result = asyncio.run(seed_demo_database(settings, url, embedded=cluster is not None))
            typer.echo(describe(result, base_url))
        else:
            typer.echo(f"API: {base_url}/v1  docs: {base_url}/docs")
        # Worker processes build the app from the environment, so hand them the URL there.
        os.environ["LANDMARKET_DATABASE_URL"] = url
        # Webhook delivery in its own process: one however many API workers, and it stops
        # with the API (SIGTERM hands requests in flight back to the outbox).
        delivery = WorkerSupervisor() if worker else None
        if delivery is not None:
            delivery.start()
        # uvicorn re-raises the SIGTERM it shut down on once it has restored the previous
        # handler; with the default one the process would die right there, leaving the
        # worker and the embedded cluster running. As an exception it unwinds through the
        # clean-up below.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        typer.echo(announce_limits(settings))  # also raises the open-file limit for workers
        try:
            uvicorn.run(
                "landmarket.main:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=settings.log_level.lower(),
                **uvicorn_options(settings),
            )
        finally:
            if delivery is not None:
                delivery.stop()
    finally:
        if cluster is not None and started:
            cluster.stop()
            typer.echo("embedded PostGIS stopped")
