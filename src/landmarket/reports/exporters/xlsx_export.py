"""XLSX with XlsxWriter: one sheet per table plus a metadata sheet; typed cells.

Numbers are written as numbers, dates as dates, booleans as booleans, and text only ever
with ``write_string`` (never a formula), after neutralising, so a plot title such as
``=HYPERLINK(...)`` stays inert text in every spreadsheet.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from landmarket.reports.exporters.cells import DATA_ATTRIBUTION, neutralise
from landmarket.reports.exporters.csv_export import table_rows
from landmarket.reports.tables import Report

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Sheet:
    def __init__(self, book: Workbook, name: str) -> None:
        self.sheet: Worksheet = book.add_worksheet(name[:31])
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.bold = book.add_format({"bold": True})
        self.row = 0

    def header(self, names: Sequence[str]) -> None:
        for col, name in enumerate(names):
            self.sheet.write_string(self.row, col, name, self.bold)
        self.sheet.freeze_panes(1, 0)
        self.row += 1

    def append(self, values: Sequence[Any]) -> None:
        for col, value in enumerate(values):
            self.cell(col, value)
        self.row += 1

    def cell(self, col: int, value: Any) -> None:
        r, ws = self.row, self.sheet
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_boolean(r, col, value)
        elif isinstance(value, int | float):
            ws.write_number(r, col, value)
        elif isinstance(value, datetime):
            ws.write_datetime(r, col, value.replace(tzinfo=None), self.stamp)
        elif isinstance(value, date):
            ws.write_datetime(r, col, datetime(value.year, value.month, value.day), self.date)
        else:
            ws.write_string(r, col, neutralise(str(value)))


def metadata_rows(report: Report) -> list[tuple[str, Any]]:
    return [
        ("report", report.name),
        ("region", report.region or "all"),
        ("region_name", report.region_name or ""),
        ("generated_at", report.generated_at.isoformat(timespec="seconds")),
        ("filters", json.dumps(report.filters, ensure_ascii=False)),
        *(("note", n) for n in report.notes),
        ("attribution", DATA_ATTRIBUTION),
        ("attribution_boundaries", report.boundary_attribution),
    ]


def write_metadata(book: Workbook, report: Report) -> None:
    meta = Sheet(book, "metadata")
    meta.header(["key", "value"])
    for key, value in metadata_rows(report):
        meta.append([key, value])
    meta.sheet.set_column(0, 0, 24)
    meta.sheet.set_column(1, 1, 100)


def report_xlsx(report: Report) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    for table in report.tables:
        sheet = Sheet(book, table.name)
        rows = table_rows(table)
        sheet.header(next(rows))
        for values in rows:
            sheet.append(values)
    write_metadata(book, report)
    book.close()
    return out.getvalue()


def streaming_book(path: Path) -> Workbook:
    """A workbook that flushes each row to disk (constant memory, rows in order)."""
    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
