"""`landmarket plots push`: how a municipal GIS office syncs its plots from a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from landmarket.plots.imports.schemas import ImportMode
from landmarket.plots.push import Pusher, PushError, PushOptions, PushReport, push
from landmarket.plots.source import SourceError, read_plots

app = typer.Typer(no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
_MAX_LISTED_ERRORS = 50


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise typer.BadParameter(f"{pair!r}: expected SOURCE=TARGET", param_hint="--map")
        mapping[source] = target
    return mapping


def _print_report(report: PushReport, *, dry_run: bool) -> None:
    table = Table(title="plot import" + (" (dry run: nothing written)" if dry_run else ""))
    for name in ("received", "created", "updated", "unchanged", "withdrawn", "failed"):
        table.add_column(name, justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                report.received,
                report.created,
                report.updated,
                report.unchanged,
                report.withdrawn,
                report.failed,
            )
        )
    )
    console.print(table)
    for entry in report.repaired[:_MAX_LISTED_ERRORS]:
        console.print(
            f"repaired feature {entry['index']} ({entry['external_id']}): {entry['reason']}"
        )
    for entry in report.errors[:_MAX_LISTED_ERRORS]:
        err_console.print(
            f"feature {entry['index']} ({entry.get('external_id') or 'no external_id'}) "
            f"{entry['pointer']}: {entry['detail']}",
            markup=False,
            highlight=False,
        )
    if len(report.errors) > _MAX_LISTED_ERRORS:
        err_console.print(f"... and {len(report.errors) - _MAX_LISTED_ERRORS} more errors")


@app.command("push")
def push_command(
    file: Annotated[Path, typer.Argument(exists=True, help="GeoJSON, GeoPackage or Shapefile")],
    api: Annotated[str, typer.Option("--api", help="API base URL, e.g. http://127.0.0.1:8000")],
    key: Annotated[str, typer.Option("--key", envvar="LANDMARKET_API_KEY", help="API key")],
    municipality: Annotated[
        str | None, typer.Option("--municipality", help="AGS for features that name none")
    ] = None,
    id_field: Annotated[
        str, typer.Option("--id-field", help="Field holding the GIS system's own id")
    ] = "external_id",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="SOURCE=TARGET: rename a file field to a plot property"),
    ] = None,
    mode: Annotated[ImportMode, typer.Option("--mode")] = ImportMode.atomic,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Withdraw plots of the touched municipalities "
            "that the file no longer contains (after all batches)",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only")] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Repair invalid geometries")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = 1000,
    layer: Annotated[str | None, typer.Option("--layer", help="Layer of a GeoPackage")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request")] = 300.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the merged report as JSON (for scripts)")
    ] = False,
) -> None:
    """Push plots from a file to the API; exit status 1 when any feature failed."""
    try:
        source = read_plots(
            file,
            id_field=id_field,
            mapping=_mapping(map_ or []),
            municipality=municipality,
            layer=layer,
        )
    except SourceError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from exc
    if source.ignored_fields:
        err_console.print(
            f"ignored fields (no plot property): {', '.join(source.ignored_fields)}", markup=False
        )
    options = PushOptions(
        mode=mode, prune=prune, dry_run=dry_run, repair=repair, batch_size=batch_size
    )
    total = len(source.features)
    with (
        httpx.Client(timeout=timeout) as client,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, amount: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.advance(tasks[stage], amount)

        pusher = Pusher(client, api, key, source.crs_uri)
        try:
            report = push(pusher, source.features, options, advance)
        except (PushError, httpx.HTTPError) as exc:
            progress.stop()
            err_console.print(f"error: {exc}", markup=False)
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(report.as_dict(dry_run=dry_run), indent=2))
    else:
        _print_report(report, dry_run=dry_run)
    if report.errors:
        raise typer.Exit(1)
