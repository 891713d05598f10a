"""`landmarket report --region SLUG --out report.pdf`: the regional PDF offline."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import typer

from landmarket.core.config import Settings
from landmarket.core.errors import AppError
from landmarket.core.i18n import LANGS, Lang
from landmarket.db.connect import cli_session, database_url
from landmarket.reports.pdf_service import regional_pdf
from landmarket.reports.scope import resolve_unchecked


def report(
    region: str = typer.Option(..., "--region", help="Region slug"),
    out: Path = typer.Option(Path("report.pdf"), "--out", "-o", help="PDF file to write"),
    municipality: list[str] = typer.Option(
        [], "--municipality", help="Only these AGS (repeatable)"
    ),
    lang: str = typer.Option("de", "--lang", help="Language of the report: de or en"),
) -> None:
    """Write the regional PDF report (operator access: reads the database directly)."""
    settings = Settings()
    if lang not in LANGS:
        typer.echo(f"error: --lang must be one of {', '.join(LANGS)}", err=True)
        raise typer.Exit(2)
    chosen: Lang = "en" if lang == "en" else "de"

    async def run() -> bytes:
        with database_url(settings) as (url, embedded):
            async with cli_session(settings, url, embedded=embedded) as session:
                scope = await resolve_unchecked(session, region, municipality or None)
                return await regional_pdf(session, scope, date.today(), chosen)

    try:
        body = asyncio.run(run())
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    out.write_bytes(body)
    typer.echo(f"wrote {out} ({len(body) // 1024} KiB)")
