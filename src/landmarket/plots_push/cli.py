"""`landmarket plots push FILE`: the command a municipal GIS office syncs its plots with.

Exit status: 0 all pushed; 1 a feature was refused (nothing written in atomic mode); 2 the
file, the mapping or a request as a whole was refused; 3 the API could not be reached or
failed (network, timeout, 5xx); 4 a bug in this command (please report it).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table as RichTable

from landmarket.plots.imports.schemas import ImportMode
from landmarket.plots.schemas import EXTERNAL_ID_PATTERN
from landmarket.plots_push import client as api
from landmarket.plots_push.convert import Converted, convert
from landmarket.plots_push.mapping import Mapping, MappingError, from_renames, load_mapping
from landmarket.plots_push.report import PushResult, describe, merge_report, write_errors
from landmarket.plots_push.source import SourceError, Table, read_table

EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_BUG = 1, 2, 3, 4
console = Console()
err_console = Console(stderr=True, highlight=False)
_MAX_LISTED = 50


def _renames(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise MappingError(f"--map {pair!r}: expected SOURCE=TARGET")
        mapping[source] = target
    return mapping


def _say(message: str) -> None:
    err_console.print(message, markup=False, highlight=False)


def _print(result: PushResult) -> None:
    title = "plot push"
    if result.dry_run:
        title += " (dry run: nothing written)"
    elif not result.written:
        title += " (nothing written)"
    table = RichTable(title=title)
    for name in ("received", "created", "updated", "unchanged", "withdrawn", "failed"):
        table.add_column(name, justify="right")
    table.add_row(
        *(
            str(getattr(result, n))
            for n in ("received", "created", "updated", "unchanged", "withdrawn", "failed")
        )
    )
    console.print(table)
    if result.approximate:
        console.print(
            f"{result.approximate} plot(s) from points: approximate squares of the given area "
            '(geometry_precision "approximate"); replace them with the real outlines',
            markup=False,
        )
    for entry in result.repaired[:_MAX_LISTED]:
        console.print(f"repaired row {entry['index']}: {entry['reason']}", markup=False)
    failures = sorted(result.failures, key=lambda f: f.index)
    for failure in failures[:_MAX_LISTED]:
        _say(describe(failure))
    if len(failures) > _MAX_LISTED:
        _say(f"... and {len(failures) - _MAX_LISTED} more (all of them: --errors FILE)")
    if failures:
        _say("refused, by reason:")
        for count, reason, example in result.summary():
            _say(f"  {count:>6} x {reason} (first: row {example.row})")


def _fail(message: str, code: int, as_json: bool) -> int:
    """Say why on stderr; with --json, also as JSON on stdout, so a script always gets JSON."""
    _say(message)
    if as_json:
        typer.echo(json.dumps({"error": message, "exit_status": code}, ensure_ascii=False))
    return code


def _keep(table: Table, converted: Converted) -> list[str]:
    """Ids of rows refused here: a prune must not withdraw their plots."""
    pattern = re.compile(EXTERNAL_ID_PATTERN)
    sent = set(converted.positions)
    ids = {f.external_id for f in converted.failures if f.index not in sent and f.external_id}
    return sorted(i for i in ids if pattern.match(i) and len(i) <= 128)


def push_command(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile, GeoJSON, CSV or XLSX")],
    api_url: Annotated[str, typer.Option("--api", help="API base URL, e.g. http://127.0.0.1:8000")],
    key: Annotated[str, typer.Option("--key", envvar="LANDMARKET_API_KEY", help="API key")],
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", help="Mapping file (TOML, or YAML): columns → properties"),
    ] = None,
    municipality: Annotated[
        str | None, typer.Option("--municipality", help="AGS for rows that name none")
    ] = None,
    id_field: Annotated[
        str | None,
        typer.Option("--id-field", help="Column holding the GIS's own id (default external_id)"),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="SOURCE=TARGET: take a column as a plot property"),
    ] = None,
    mode: Annotated[ImportMode, typer.Option("--mode")] = ImportMode.atomic,
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Withdraw plots of the touched municipalities the file lacks"),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing")] = (
        False
    ),
    repair: Annotated[bool, typer.Option("--repair", help="Repair invalid geometries")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = 1000,
    layer: Annotated[str | None, typer.Option("--layer", help="Layer or sheet to read")] = None,
    x_field: Annotated[str | None, typer.Option("--x-field", help="X / longitude column")] = None,
    y_field: Annotated[str | None, typer.Option("--y-field", help="Y / latitude column")] = None,
    wkt_field: Annotated[str | None, typer.Option("--wkt-field", help="WKT column")] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of the coordinates, e.g. EPSG:25832")
    ] = None,
    point_area_field: Annotated[
        str | None,
        typer.Option(
            "--point-area-field",
            help="Column with the area of point rows: each becomes an approximate square",
        ),
    ] = None,
    point_area_unit: Annotated[
        str | None, typer.Option("--point-area-unit", help="m2 (default), ha, a or km2")
    ] = None,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge", help="Change only the mapped properties of existing plots; keep the rest"
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite plots edited elsewhere since the last push"),
    ] = False,
    errors_file: Annotated[
        Path | None,
        typer.Option("--errors", help="Write the refused rows with an error column (CSV)"),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Where an interrupted push records its open session, so running it again "
            "resumes it (default: FILE.push-state.json beside the file)",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Push plots from a file; exit status 0 ok, 1 rows refused, 2 file or request refused,
    3 API unreachable or failing (see docs/plots.md)."""
    try:
        code = _run(
            file,
            api_url=api_url,
            key=key,
            mapping_file=mapping_file,
            cli={
                "municipality": municipality,
                "id_field": id_field,
                "layer": layer,
                "x": x_field,
                "y": y_field,
                "wkt": wkt_field,
                "crs": crs,
                "point_area_field": point_area_field,
                "point_area_unit": point_area_unit,
            },
            renames=map_ or [],
            options=api.PushOptions(
                mode=mode,
                prune=prune,
                dry_run=dry_run,
                repair=repair,
                batch_size=batch_size,
                force=force,
            ),
            merge=merge,
            errors_file=errors_file,
            state_file=state_file or file.with_name(file.name + ".push-state.json"),
            timeout=timeout,
            as_json=as_json,
        )
    except (SourceError, MappingError, LookupError) as exc:
        code = _fail(f"error: {exc}", EXIT_REFUSED, as_json)
    except api.Refused as exc:
        code = _fail(f"error: the API refused the push: {exc}", EXIT_REFUSED, as_json)
    except api.Unreachable as exc:
        message = (
            f"error: the API could not be reached or failed: {exc}. Nothing is written unless "
            "the commit went through before the connection dropped. Run the same push again: "
            "it resumes the open session (sending only the batches the API has not "
            "acknowledged), or, if that is gone, starts afresh (what was written is then "
            "reported unchanged)"
        )
        code = _fail(message, EXIT_UNREACHABLE, as_json)
    except KeyboardInterrupt:
        message = "interrupted; nothing was written (the server drops the open session)"
        code = _fail(message, EXIT_UNREACHABLE, as_json)
    except Exception as exc:  # a bug here must still not end in a traceback
        message = f"error: unexpected {type(exc).__name__}: {exc} (a bug; please report it)"
        code = _fail(message, EXIT_BUG, as_json)
    raise typer.Exit(code)


def _run(
    file: Path,
    *,
    api_url: str,
    key: str,
    mapping_file: Path | None,
    cli: dict[str, str | None],
    renames: list[str],
    options: api.PushOptions,
    merge: bool,
    errors_file: Path | None,
    state_file: Path | None,
    timeout: float,
    as_json: bool,
) -> int:
    mapping = load_mapping(mapping_file) if mapping_file else Mapping()
    mapping = mapping.with_options(**cli)
    if not file.exists():
        raise SourceError(f"{file}: no such file")
    table = read_table(file, mapping)
    for note in table.notes:
        _say(note)
    merging = merge or mapping.merge
    converted = convert(
        table, mapping, from_renames(_renames(renames)), approximate_ok=True, merge=merging
    )
    if merging:
        # The geometry is always sent, and with it whether it is approximate.
        pushed = {t for t in converted.rules if t not in ("external_id", "municipality_ags")}
        options = replace(options, merge=tuple(sorted(pushed | {"geometry_precision"})))
    if converted.ignored:
        _say(f"ignored columns (no plot property): {', '.join(converted.ignored)}")
    result = PushResult(received=len(table.rows), dry_run=options.dry_run)
    result.failures = list(converted.failures)
    result.approximate = converted.approximate
    refused_here = bool(converted.failures) and options.mode is ImportMode.atomic
    if converted.features:
        with httpx.Client(timeout=timeout) as http:
            session = api.SessionClient(http, api_url, key, table.crs_uri)
            report, written = api.send(
                session,
                converted.features,
                options,
                keep=_keep(table, converted),
                validate_only=refused_here,
                state_file=state_file,
            )
        merge_report(result, report, table, converted, written=written)
    if errors_file is not None:
        write_errors(errors_file, table, result)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        _print(result)
    return EXIT_FAILED if result.failures else 0
