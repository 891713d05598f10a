"""`landmarket matches rebuild`."""

from __future__ import annotations

import asyncio
import time

import typer
from sqlalchemy import text

from landmarket.core.config import Settings
from landmarket.db.connect import cli_session, database_url
from landmarket.matching import recompute

app = typer.Typer(no_args_is_help=True)


@app.command()
def rebuild() -> None:
    """Recompute every match set-based (after boundary, region or policy changes, or nightly
    so availability scores follow the calendar). Matches' states are kept."""
    settings = Settings()

    async def run() -> tuple[int, int, int]:
        with database_url(settings) as (url, embedded):
            async with cli_session(settings, url, embedded=embedded) as session:
                # One big statement by design; the API's per-statement timeout is for requests.
                await session.execute(text("SET LOCAL statement_timeout = 0"))
                return await recompute.rebuild(session)

    started = time.perf_counter()
    matching, removed, stale = asyncio.run(run())
    typer.echo(
        f"{matching} matches, {removed} removed, {stale} newly stale "
        f"in {time.perf_counter() - started:.1f} s"
    )
