"""`landmarket serve`: the API on the configured database or the embedded cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import typer
import uvicorn

from landmarket.core.config import Settings
from landmarket.core.processes import dying_with_parent
from landmarket.db.connect import SchemaBehindError, ensure_schema
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import create_engine, redacted
from landmarket.demo import describe, seed_demo_database
from landmarket.httpserver import announce_limits, uvicorn_options


async def _prepare_schema(url: str, settings: Settings, migrate_now: bool) -> None:
    engine = create_engine(url, settings)
    try:
        await ensure_schema(engine, migrate_now=migrate_now)
    finally:
        await engine.dispose()


def _start_worker() -> subprocess.Popen[bytes]:
    typer.echo("webhook worker started (disable with --no-worker)")
    # If `serve` is killed without cleaning up (SIGKILL, OOM), Linux sends the worker SIGTERM
    # instead of leaving it orphaned; set by setpriv after the exec, as no Python code may run
    # in a forked child of a threaded process (core/processes.py).
    return subprocess.Popen(dying_with_parent([sys.executable, "-m", "landmarket", "worker"]))


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _stop_worker(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    typer.echo("webhook worker stopped")


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
        delivery = _start_worker() if worker else None
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
                _stop_worker(delivery)
    finally:
        if cluster is not None and started:
            cluster.stop()
            typer.echo("embedded PostGIS stopped")
