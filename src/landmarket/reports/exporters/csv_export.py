"""CSV: UTF-8 with BOM (so spreadsheets detect the encoding), comma or semicolon separated.

With semicolons (German spreadsheet defaults) numbers also get a decimal comma, as those
spreadsheets expect. Every text cell is quoted (so the separator never collides) and
neutralised against formulas wherever a spreadsheet opening the file with another delimiter
could start a cell (cells.neutralise_csv); numbers, booleans and empty cells stay unquoted,
so spreadsheets read them as numbers. Headers are labels with units in the requested
language, enum values their names (``exporters.labels``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from landmarket.core.i18n import Lang, fmt_date
from landmarket.reports.exporters.cells import csv_value
from landmarket.reports.exporters.labels import header, table_columns, table_values, yes_no
from landmarket.reports.tables import Table

BOM = "\ufeff"
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
