"""`landmarket municipalities import|list`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from landmarket.core.config import Settings
from landmarket.core.errors import NotFound
from landmarket.db.connect import cli_session, database_url
from landmarket.municipalities import service
from landmarket.municipalities.importer import ImportReport, InvalidRowsError, import_file
from landmarket.municipalities.reader import FieldNames, MunicipalityImportError

app = typer.Typer(no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
_MAX_LISTED_ERRORS = 50


class RichProgress:
    """Import stages as rich progress tasks: a bar where the size is known, else a spinner."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._total: int | None = None

    def start(self, stage: str, total: int | None = None) -> None:
        self._finish()
        self._task = self._progress.add_task(stage, total=total)
        self._total = total

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def _finish(self) -> None:
        if self._task is not None:
            done = self._total or 1
            self._progress.update(self._task, total=done, completed=done)

    def close(self) -> None:
        self._finish()


def _print_report(report: ImportReport) -> None:
    console.print(
        f"Imported {report.municipalities} municipalities from {report.source} "
        f"(EPSG:{report.srid}) into region [bold]{report.region}[/bold] "
        f"in {report.seconds:.1f} s: {report.created} new, {report.updated} updated, "
        f"{report.region_members_added} added to the region."
    )
    console.print(
        f"Rows read: {report.rows_read}; water-only parts left out (GF 1/2): "
        f"{report.parts_dropped_water}"
    )
    if report.water_only_ags:
        console.print(
            f"AGS with water parts only, not imported: {', '.join(report.water_only_ags)}"
        )
    if report.invalid_rows:
        console.print(f"[yellow]Skipped {len(report.invalid_rows)} invalid row(s):[/yellow]")
        _print_rows(report, console)
    if report.attribution:
        console.print(f"Boundary data: {report.attribution}", markup=False, highlight=False)
    else:
        err_console.print(
            "[yellow]The licence line of these boundaries is unknown: give it with "
            "--attribution (reports, exports and the OGC API cite it).[/yellow]"
        )


def _print_rows(report: ImportReport, out: Console) -> None:
    for row in report.invalid_rows[:_MAX_LISTED_ERRORS]:
        out.print(f"  {row}", markup=False, highlight=False)
    rest = len(report.invalid_rows) - _MAX_LISTED_ERRORS
    if rest > 0:
        out.print(f"  ... and {rest} more")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="Shapefile (or its directory), GeoPackage, GeoJSON")],
    region: Annotated[str, typer.Option(help="Slug of the region to add the municipalities to")],
    region_name: Annotated[
        str | None, typer.Option(help="Region display name (default: keep, or the slug)")
    ] = None,
    ags_field: Annotated[str, typer.Option(help="Field holding the 8-digit AGS")] = "AGS",
    name_field: Annotated[str, typer.Option(help="Field holding the name")] = "GEN",
    kind_field: Annotated[
        str, typer.Option(help="Field holding Stadt/Gemeinde/...; 'Gemeinde' if absent")
    ] = "BEZ",
    srid: Annotated[
        int | None, typer.Option(help="EPSG code of the coordinates, if the file has none")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Layer, for multi-layer files")] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid rows and report the invalid ones")
    ] = False,
    attribution: Annotated[
        str | None,
        typer.Option(
            help="Licence line of the boundary set, e.g. '© GeoBasis-DE / BKG 2021 (Daten "
            "verändert)'; BKG VG250/VG5000 files are recognised by their name"
        ),
    ] = None,
) -> None:
    """Import boundaries (BKG VG250/VG5000 or any polygon layer), upserting by AGS."""
    if not path.exists():
        err_console.print(f"[red]No such file or directory: {path}[/red]")
        raise typer.Exit(1)
    names = FieldNames(ags=ags_field, name=name_field, kind=kind_field)
    settings = Settings()

    async def run() -> ImportReport:
        with database_url(settings) as (url, embedded):
            async with cli_session(settings, url, embedded=embedded) as session:
                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(),
                    console=err_console,
                    transient=True,
                ) as bar:
                    progress = RichProgress(bar)
                    report = await import_file(
                        session,
                        path,
                        region=region,
                        region_name=region_name,
                        names=names,
                        srid=srid,
                        layer=layer,
                        skip_invalid=skip_invalid,
                        progress=progress,
                        attribution=attribution,
                    )
                    progress.close()
                    return report

    try:
        report = asyncio.run(run())
    except InvalidRowsError as exc:
        err_console.print(
            f"[red]{len(exc.report.invalid_rows)} invalid row(s); nothing was written "
            "(fix them, or pass --skip-invalid to import the rest):[/red]"
        )
        _print_rows(exc.report, err_console)
        raise typer.Exit(1) from exc
    except MunicipalityImportError as exc:
        err_console.print(f"[red]Import failed, nothing was written: {exc}[/red]", markup=True)
        raise typer.Exit(1) from exc
    _print_report(report)


@app.command("list")
def list_(
    region: Annotated[str | None, typer.Option(help="Only members of this region")] = None,
    q: Annotated[str | None, typer.Option(help="Case-insensitive name substring")] = None,
) -> None:
    """List municipalities (AGS, name, kind, area)."""
    settings = Settings()

    async def run() -> list[tuple[str, str, str, float]]:
        out: list[tuple[str, str, str, float]] = []
        with database_url(settings) as (url, embedded):
            async with cli_session(settings, url, embedded=embedded) as session:
                cursor: str | None = None
                while True:
                    page = await service.list_municipalities(
                        session,
                        region=region,
                        q=q,
                        cursor=cursor,
                        limit=1000,
                        geometry_crs=None,
                    )
                    out.extend((m.ags, m.name, m.kind, m.area_km2) for m in page.items)
                    if page.next_cursor is None:
                        return out
                    cursor = page.next_cursor

    try:
        rows = asyncio.run(run())
    except NotFound as exc:
        err_console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    table = Table("AGS", "Name", "Kind", "km²")
    for ags, name, kind, area in rows:
        table.add_row(ags, name, kind, f"{area:,.2f}")
    console.print(table)
    console.print(f"{len(rows)} municipalities")
