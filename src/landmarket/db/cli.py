"""`landmarket db ...`: the embedded cluster and schema migrations."""

from __future__ import annotations

import asyncio

import typer

from landmarket.core.config import get_settings
from landmarket.db import migrate
from landmarket.db.connect import database_url
from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import create_engine, redacted

app = typer.Typer(no_args_is_help=True)


def _cluster() -> EmbeddedCluster:
    return EmbeddedCluster(get_settings().data_dir)


@app.command()
def start() -> None:
    """Start the embedded PostGIS cluster (initialising it on first use)."""
    cluster = _cluster()
    started = cluster.start()
    state = "started" if started else "already running"
    typer.echo(f"embedded PostgreSQL {state} on 127.0.0.1:{cluster.port} ({cluster.pgdata})")
    typer.echo(f"connection: {redacted(cluster.url())} (password in {cluster.state_file})")


@app.command()
def stop() -> None:
    """Stop the embedded PostGIS cluster."""
    stopped = _cluster().stop()
    typer.echo("stopped" if stopped else "not running")


@app.command()
def status() -> None:
    """Show whether the embedded cluster exists and runs. Exit code 3 when it is not running."""
    st = _cluster().status()
    if not st.initialised:
        typer.echo(f"not initialised ({st.pgdata})")
        raise typer.Exit(3)
    if not st.running:
        typer.echo(f"stopped ({st.pgdata})")
        raise typer.Exit(3)
    typer.echo(f"running: pid {st.pid}, 127.0.0.1:{st.port}, {st.pgdata}")


def _with_engine(action: str, revision: str | None = None) -> str | None:
    settings = get_settings()

    async def run(url: str) -> str | None:
        engine = create_engine(url, settings)
        try:
            if action == "upgrade":
                await migrate.upgrade(engine, revision or "head")
            elif action == "downgrade":
                await migrate.downgrade(engine, revision or "-1")
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    with database_url(settings) as (url, _embedded):
        return asyncio.run(run(url))


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    typer.echo(f"database at revision {_with_engine('upgrade', revision)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base or -1")) -> None:
    """Revert migrations down to REVISION."""
    typer.echo(f"database at revision {_with_engine('downgrade', revision) or 'base'}")


@app.command()
def current() -> None:
    """Print the database's schema revision and the head this version expects."""
    revision = _with_engine("current")
    head = migrate.head_revision()
    marker = "(head)" if revision == head else f"(behind head {head})"
    typer.echo(f"{revision or 'base'} {marker}")
