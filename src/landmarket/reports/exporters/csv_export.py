"""CSV: UTF-8 with BOM (so spreadsheets detect the encoding), comma or semicolon separated.

With semicolons (German spreadsheet defaults) numbers also get a decimal comma, as those
spreadsheets expect; the separator never collides because the csv module quotes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from landmarket.reports.exporters.cells import csv_value
from landmarket.reports.suppression import SUPPRESSED
from landmarket.reports.tables import Table

BOM = "\ufeff"
TOTAL = "total"


class CsvWriter:
    """Encodes rows into CSV text chunk by chunk (for streaming)."""

    def __init__(self, semicolon: bool) -> None:
        self.semicolon = semicolon
        self._buffer = io.StringIO()
        self._writer = csv.writer(
            self._buffer, delimiter=";" if semicolon else ",", lineterminator="\r\n"
        )

    def rows(self, rows: Iterable[Sequence[Any]]) -> str:
        for row in rows:
            self._writer.writerow([csv_value(v, self.semicolon) for v in row])
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


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
