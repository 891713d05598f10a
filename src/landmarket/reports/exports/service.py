"""Spatial and tabular exports. Plot exports are async generators that read a server-side
cursor chunk by chunk on their own connection (the request's session has committed by the
time the body streams), so 100,000 plots never sit in memory at once."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from landmarket.core.i18n import Lang
from landmarket.reports.exporters import geo_export as geo
from landmarket.reports.exporters import labels
from landmarket.reports.exporters.csv_export import BOM, CsvWriter, for_csv
from landmarket.reports.exporters.xlsx_export import (
    Formats,
    Sheet,
    sheet_name,
    streaming_book,
    write_metadata,
)
from landmarket.reports.exports import repository as repo
from landmarket.reports.repository import without_jit
from landmarket.reports.scope import Scope
from landmarket.reports.suppression import SUPPRESSED, suppress
from landmarket.reports.tables import Report, Table

FILE_CHUNK = 1 << 20
PLOTS_LAYER = "plots"
MUNICIPALITIES_LAYER = "municipalities"


async def _chunks(
    engine: AsyncEngine, scope: Scope, geometry: str | None
) -> AsyncIterator[list[dict[str, Any]]]:
    async with engine.connect() as conn, conn.begin():
        await without_jit(conn)
        stmt = repo.plots_select(scope, geometry)
        async for part in repo.stream_rows(conn, stmt):
            yield [dict(r._mapping) for r in part]


async def plots_geojson(engine: AsyncEngine, scope: Scope) -> AsyncIterator[bytes]:
    yield geo.collection_head(PLOTS_LAYER).encode()
    first = True
    async for rows in _chunks(engine, scope, "geojson"):
        yield geo.feature_chunk(rows, repo.PLOT_COLUMNS, first).encode()
        first = first and not rows
    yield geo.COLLECTION_TAIL.encode()


def _person_rows(
    rows: list[dict[str, Any]], convert: list[labels.Convert], csv: Lang | None = None
) -> list[list[Any]]:
    """Plot rows as people read them (enum names, rounded numbers); ``csv``: booleans as
    words of that language too."""
    names = [c.name for c in repo.PLOT_COLUMNS]
    out = [[f(r[n]) for f, n in zip(convert, names, strict=True)] for r in rows]
    if csv is not None:
        out = [[for_csv(v, csv) for v in values] for values in out]
    return out


async def plots_csv(
    engine: AsyncEngine, scope: Scope, semicolon: bool, lang: Lang
) -> AsyncIterator[bytes]:
    writer = CsvWriter(semicolon)
    convert = labels.converters(repo.PLOT_COLUMNS, lang, percent=True)
    yield (BOM + writer.rows([labels.header(repo.PLOT_COLUMNS, lang)])).encode()
    async for rows in _chunks(engine, scope, None):
        yield writer.rows(_person_rows(rows, convert, lang)).encode()


async def _stream_file(path: Path, workdir: Path) -> AsyncIterator[bytes]:
    try:
        with path.open("rb") as fh:
            while block := await asyncio.to_thread(fh.read, FILE_CHUNK):
                yield block
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _via_file(name: str, fill: Callable[[Path], Any]) -> AsyncIterator[bytes]:
    workdir = Path(tempfile.mkdtemp(prefix="landmarket-export-"))
    path = workdir / name
    try:
        await fill(path)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    async for block in _stream_file(path, workdir):
        yield block


def plots_gpkg(engine: AsyncEngine, scope: Scope) -> AsyncIterator[bytes]:
    async def fill(path: Path) -> None:
        append = False
        async for rows in _chunks(engine, scope, "wkb"):
            await asyncio.to_thread(
                geo.write_gpkg_chunk, path, PLOTS_LAYER, repo.PLOT_COLUMNS, rows, append=append
            )
            append = True
        if not append:  # no plots: still a valid, empty layer
            await asyncio.to_thread(
                geo.write_gpkg_chunk, path, PLOTS_LAYER, repo.PLOT_COLUMNS, [], append=False
            )

    return _via_file("plots.gpkg", fill)


def _append_rows(sheet: Sheet, rows: list[list[Any]]) -> None:
    for values in rows:
        sheet.append(values)


def plots_xlsx(
    engine: AsyncEngine, scope: Scope, report: Report, lang: Lang
) -> AsyncIterator[bytes]:
    async def fill(path: Path) -> None:
        book = streaming_book(path)
        formats = Formats(book)
        name = sheet_name(PLOTS_LAYER, lang)
        sheet = Sheet(book, formats, name, repo.PLOT_COLUMNS, lang)
        convert = labels.converters(repo.PLOT_COLUMNS, lang, percent=False)
        async for rows in _chunks(engine, scope, None):
            await asyncio.to_thread(_append_rows, sheet, _person_rows(rows, convert))
        sheet.finish()
        write_metadata(book, formats, report, lang)
        await asyncio.to_thread(book.close)

    return _via_file("plots.xlsx", fill)


async def municipalities_table(
    session: AsyncSession, scope: Scope, geometry: str, today: date, simplify_m: float = 0.0
) -> Table:
    await without_jit(session)
    rows = await repo.municipality_rows(session, scope, geometry, today, simplify_m)
    return suppress(Table(MUNICIPALITIES_LAYER, repo.MUNICIPALITY_COLUMNS, rows))


def municipalities_geojson(table: Table) -> bytes:
    head = geo.collection_head(MUNICIPALITIES_LAYER)
    body = geo.feature_chunk(table.rows, table.columns, first=True)
    return (head + body + geo.COLLECTION_TAIL).encode()


async def municipalities_gpkg(table: Table) -> AsyncIterator[bytes]:
    async def fill(path: Path) -> None:
        await asyncio.to_thread(
            geo.write_gpkg_chunk,
            path,
            MUNICIPALITIES_LAYER,
            table.columns,
            table.rows,
            append=False,
            extra_bool=SUPPRESSED,
        )

    async for block in _via_file("municipalities.gpkg", fill):
        yield block
