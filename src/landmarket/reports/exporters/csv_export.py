"""CSV: UTF-8 with BOM (so spreadsheets detect the encoding), comma or semicolon separated.

With semicolons (German spreadsheet defaults) numbers also get a decimal comma, as those
spreadsheets expect; the separator never collides because the csv module quotes. Headers are
labels with units in the requested language, enum values their names (``exporters.labels``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from landmarket.core.i18n import Lang, fmt_date
from landmarket.reports.exporters.cells import csv_value
from landmarket.reports.exporters.labels import header, table_columns, table_values, yes_no
from landmarket.reports.tables import Table

BOM = "\ufeff"


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


def for_csv(value: Any, lang: Lang) -> Any:
    """Booleans as words of the language (``ja``/``nein``), dates and times as people write
    them (``03.12.2026``, ``03.12.2026 17:12`` in UTC); everything else as it is."""
    if isinstance(value, bool):
        return yes_no(value, lang)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        return f"{fmt_date(utc, lang)} {utc:%H:%M}"
    if isinstance(value, date):
        return fmt_date(value, lang)
    return value


def table_rows(table: Table, lang: Lang) -> Iterator[list[Any]]:
    """The header (labels with units), the groups, then the total; enum names, rounded
    numbers, shares in percent."""
    yield header(table_columns(table), lang)
    for values in table_values(table, lang, percent=True):
        yield [for_csv(v, lang) for v in values]


def table_csv(table: Table, semicolon: bool, lang: Lang) -> bytes:
    writer = CsvWriter(semicolon)
    return (BOM + writer.rows(table_rows(table, lang))).encode("utf-8")
