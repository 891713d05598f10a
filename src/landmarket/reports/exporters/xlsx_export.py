"""XLSX with XlsxWriter: one sheet per table plus a readable metadata sheet; typed cells.

Headers are labels with units in the requested language; numbers are written as numbers
(rounded to what a reader needs) with a number format per column, so every spreadsheet shows
them with its own separators (``1.234,5`` in German); shares are fractions shown in percent;
dates are dates; the header row is frozen and filtered. Text is only ever written with
``write_string`` (never a formula), after neutralising, so a plot title such as
``=HYPERLINK(...)`` stays inert text in every spreadsheet.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from landmarket.core.i18n import Lang
from landmarket.labels import catalogue as cat
from landmarket.reports.exporters.cells import neutralise
from landmarket.reports.exporters.labels import header, table_columns, table_values
from landmarket.reports.exporters.metadata import metadata_rows
from landmarket.reports.tables import Column, Report

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIN_WIDTH, MAX_WIDTH = 8, 45
# Wide text columns a reader wants to read without widening them.
TEXT_WIDTHS = {"title": 36, "description": 48, "municipality": 22, "name": 22, "parcel_ids": 24}
SHEET_NAME_MAX = 31


def num_format(column: Column, lang: Lang) -> str | None:
    """The Excel number format of a column (Excel localises the separators itself)."""
    if column.kind == "date":
        return "dd.mm.yyyy" if lang == "de" else "yyyy-mm-dd"
    if column.kind == "datetime":
        return "dd.mm.yyyy hh:mm" if lang == "de" else "yyyy-mm-dd hh:mm"
    places = cat.digits(column.name)
    decimals = "." + "0" * places if places else ""
    if column.kind == "float" and cat.is_share(column.name):
        return f"0{decimals}%"
    if column.kind == "float":
        return f"#,##0{decimals}"
    if column.kind == "int" and column.name not in ("version",):
        return "#,##0"
    return None


class Formats:
    """One Format object per distinct style in a workbook (XlsxWriter wants them shared)."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self._cache: dict[str, Format] = {}
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.header.set_bottom(1)
        self.key = book.add_format({"bold": True, "valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.bold_total = book.add_format({"bold": True})

    def number(self, pattern: str | None) -> Format | None:
        if pattern is None:
            return None
        if pattern not in self._cache:
            self._cache[pattern] = self.book.add_format({"num_format": pattern})
        return self._cache[pattern]


def _width(column: Column, label: str, values: Iterable[Any] = ()) -> int:
    longest_word = max((len(w) for w in label.split()), default=0)
    if column.kind == "text":
        base = TEXT_WIDTHS.get(column.name, 14)
        seen = max((len(v) for v in values if isinstance(v, str)), default=0)
        base = max(min(base, seen + 2) if seen else base, 10)
    elif column.kind in ("date", "datetime"):
        base = 11 if column.kind == "date" else 17
    else:
        base = 12
    return max(MIN_WIDTH, min(MAX_WIDTH, max(base, longest_word + 2)))


class Sheet:
    """A sheet of typed columns: a labelled header (frozen, filtered), then rows."""

    def __init__(
        self,
        book: Workbook,
        formats: Formats,
        name: str,
        columns: Sequence[Column],
        lang: Lang,
        sample: Sequence[Sequence[Any]] = (),
    ) -> None:
        self.sheet: Worksheet = book.add_worksheet(name[:SHEET_NAME_MAX])
        self.columns = list(columns)
        self.formats = formats
        self.cell_formats = [formats.number(num_format(c, lang)) for c in self.columns]
        self.row = 0
        labels = header(self.columns, lang)
        lines = 1
        for col, (column, label) in enumerate(zip(self.columns, labels, strict=True)):
            width = _width(column, label, (r[col] for r in sample))
            self.sheet.set_column(col, col, width)
            lines = max(lines, math.ceil(len(label) / max(width - 1, 1)))
            self.sheet.write_string(0, col, label, formats.header)
        self.sheet.set_row(0, 15 * lines)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def append(self, values: Sequence[Any], bold: bool = False) -> None:
        r, ws, formats = self.row, self.sheet, self.cell_formats
        text_format = self.formats.bold_total if bold else None
        for col, value in enumerate(values):
            if value is None:
                continue
            # By type, cheapest first: a national sheet has ~100,000 number cells.
            kind = type(value)
            if kind is float or kind is int:
                ws.write_number(r, col, value, formats[col])
            elif kind is str:
                ws.write_string(r, col, neutralise(value), text_format)
            elif kind is bool:
                ws.write_boolean(r, col, value)
            elif isinstance(value, datetime):
                ws.write_datetime(r, col, value.replace(tzinfo=None), formats[col])
            elif isinstance(value, date):
                day = datetime(value.year, value.month, value.day)
                ws.write_datetime(r, col, day, formats[col])
            elif isinstance(value, int | float):  # e.g. numpy or Decimal-like numbers
                ws.write_number(r, col, value, formats[col])
            else:
                ws.write_string(r, col, neutralise(str(value)), text_format)
        self.row += 1

    def finish(self) -> None:
        """The filter over every row written (set at the end: the row count is known then)."""
        self.sheet.autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)


def write_metadata(book: Workbook, formats: Formats, report: Report, lang: Lang) -> None:
    ws = book.add_worksheet(cat.text("table.metadata", lang))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, cat.text("meta.key", lang), formats.header)
    ws.write_string(0, 1, cat.text("meta.value", lang), formats.header)
    for i, (key, value) in enumerate(metadata_rows(report, lang), start=1):
        ws.write_string(i, 0, key, formats.key)
        ws.write_string(i, 1, neutralise(value), formats.wrap)
    ws.freeze_panes(1, 0)


def sheet_name(table: str, lang: Lang) -> str:
    key = f"table.{table}"
    return cat.text(key, lang) if key in cat.TEXTS else table


def report_xlsx(report: Report, lang: Lang) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = Formats(book)
    for table in report.tables:
        rows = list(table_values(table, lang, percent=False))
        sheet = Sheet(
            book, formats, sheet_name(table.name, lang), table_columns(table), lang, rows[:500]
        )
        last = len(rows) - 1
        for i, values in enumerate(rows):
            sheet.append(values, bold=table.total is not None and i == last)
        sheet.finish()
    write_metadata(book, formats, report, lang)
    book.close()
    return out.getvalue()


def streaming_book(path: Path) -> Workbook:
    """A workbook that flushes each row to disk (constant memory, rows in order)."""
    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
