"""CSV: UTF-8 with BOM (so spreadsheets detect the encoding), comma or semicolon separated.

With semicolons (German spreadsheet defaults) numbers also get a decimal comma, as those
spreadsheets expect. Every text cell is quoted (so the separator never collides) and
neutralised against formulas wherever a spreadsheet opening the file with another delimiter
could start a cell (cells.neutralise_csv); numbers, booleans and empty cells stay unquoted,
so spreadsheets read them as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from landmarket.reports.exporters.cells import csv_value
from landmarket.reports.suppression import SUPPRESSED
from landmarket.reports.tables import Table

BOM = "\ufeff"
TOTAL = "total"
LINE_END = "\r\n"  # RFC 4180


def _field(value: Any, decimal_comma: bool) -> str:
    text, is_text = csv_value(value, decimal_comma)
    # The csv module can only quote by Python type and every value here is already text, so
    # the quoting is done here: text always, doubled quotes inside (RFC 4180).
    return '"' + text.replace('"', '""') + '"' if is_text else text


class CsvWriter:
    """Encodes rows into CSV text chunk by chunk (for streaming). Every CSV export writes
    its cells through here."""

    def __init__(self, semicolon: bool) -> None:
        self.semicolon = semicolon
        self.delimiter = ";" if semicolon else ","

    def line(self, row: Sequence[Any]) -> str:
        text = self.delimiter.join(_field(v, self.semicolon) for v in row)
        # A lone empty cell would be a blank line, which readers skip.
        return (text or '""') + LINE_END

    def rows(self, rows: Iterable[Sequence[Any]]) -> str:
        return "".join(self.line(row) for row in rows)


def table_rows(table: Table) -> Iterator[list[Any]]:
    names = [c.name for c in table.columns]
    suppressible = table.has_confidential
    yield names + ([SUPPRESSED] if suppressible else [])
    for row in table.all_rows():
        values = [row.get(n) for n in names]
        if row is table.total:
            values[0] = TOTAL
        yield values + ([row.get(SUPPRESSED)] if suppressible else [])


def table_csv(table: Table, semicolon: bool) -> bytes:
    writer = CsvWriter(semicolon)
    return (BOM + writer.rows(table_rows(table))).encode("utf-8")
