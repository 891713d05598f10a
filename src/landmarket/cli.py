"""The `landmarket` command."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer

from landmarket.auth.cli import keys_app, orgs_app
from landmarket.core.config import get_settings
from landmarket.db.cli import app as db_app
from landmarket.db.connect import SchemaBehindError, database_url
from landmarket.db.embedded import EmbeddedError
from landmarket.matching.cli import app as matches_app
from landmarket.municipalities.cli import app as municipalities_app
from landmarket.plots.cli import app as plots_app
from landmarket.plots_push.cli import push_command
from landmarket.privacy.cli import orgs_erase
from landmarket.reports.cli import report as report_command

app = typer.Typer(
    name="landmarket",
    help="Inter-municipal commercial land marketplace: service, database and data tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _fresh_settings() -> None:
    # Each invocation reads the environment anew (matters when tests invoke several in a row).
    get_settings.cache_clear()


app.add_typer(db_app, name="db", help="Embedded database and schema migrations.")
app.add_typer(municipalities_app, name="municipalities", help="Import and list municipalities.")
orgs_app.command("erase")(orgs_erase)
app.add_typer(orgs_app, name="orgs", help="Organisations (municipalities, companies, agencies).")
app.add_typer(keys_app, name="keys", help="API keys of organisations.")
plots_app.command("push")(push_command)
app.add_typer(plots_app, name="plots", help="Push plots from GIS files to the API.")
app.add_typer(matches_app, name="matches", help="Recompute stored matches.")
app.command("report")(report_command)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int = typer.Option(1, min=1, help="API worker processes"),
    migrate: bool = typer.Option(
        False, "--migrate", help="Apply pending migrations to a configured database first"
    ),
    demo: bool = typer.Option(False, "--demo", help="Seed the demo region and keys first"),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Do not start a webhook delivery worker alongside"
    ),
) -> None:
    """Serve the API (on the embedded PostGIS unless LANDMARKET_DATABASE_URL is set)."""
    from landmarket.serve import serve as run

    settings = get_settings()
    run(
        settings,
        host=host,
        port=port,
        workers=workers,
        migrate_now=migrate,
        demo=demo,
        worker=settings.webhook_worker_enabled and not no_worker,
    )


@app.command()
def worker() -> None:
    """Deliver webhooks from the outbox until interrupted (run as many as you like)."""
    from landmarket.webhooks.worker import run_forever

    settings = get_settings()
    with database_url(settings) as (url, embedded):
        asyncio.run(run_forever(settings, url, embedded=embedded))


@app.command("demo")
def demo_command(
    municipalities: Path | None = typer.Option(
        None,
        "--municipalities",
        exists=True,
        help="Real boundaries (Shapefile, GeoPackage, GeoJSON) instead of the synthetic region",
    ),
) -> None:
    """Seed a demo region with organisations and API keys (synthetic unless --municipalities)."""
    from landmarket.demo.seed import describe, seed_demo_database

    settings = get_settings()
    with database_url(settings) as (url, embedded):
        result = asyncio.run(
            seed_demo_database(settings, url, embedded=embedded, municipalities_path=municipalities)
        )
    typer.echo(describe(result))


def render_openapi() -> str:
    from landmarket.main import create_app

    spec = create_app().openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@app.command()
def openapi(
    output: Path = typer.Option(Path("openapi/openapi.json"), "--output", "-o"),
    check: bool = typer.Option(False, "--check", help="Exit 1 if the file is not up to date"),
) -> None:
    """Write the OpenAPI document generated from the app."""
    text = render_openapi()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            typer.echo(f"{output} is stale: run `landmarket openapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


def main() -> None:
    """Console entry point: operator-facing errors print as one line, not a traceback."""
    try:
        app()
    except (EmbeddedError, SchemaBehindError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
