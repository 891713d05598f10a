"""Tables as people read them: labelled headers with units, enum names instead of codes,
numbers rounded to what a reader needs. Shared by CSV, XLSX and the PDF; the JSON keeps the
machine names and values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from landmarket.core.i18n import Lang
from landmarket.labels import catalogue as cat
from landmarket.reports.suppression import SUPPRESSED
from landmarket.reports.tables import Column, Table

SUPPRESSED_COLUMN = Column(SUPPRESSED, "bool")


def header(columns: Sequence[Column], lang: Lang) -> list[str]:
    return [cat.column_label(c.name, lang) for c in columns]


def yes_no(value: bool, lang: Lang) -> str:
    return cat.enum_label("bool", str(value).lower(), lang)


Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def converter(column: Column, lang: Lang, *, percent: bool) -> Convert:
    """How a column's values are shown to people, decided once per column (an export
    converts millions of cells): enum names, numbers rounded to the column's decimals,
    lists joined. ``percent``: shares as percentages (CSV); otherwise shares stay fractions
    and the spreadsheet's percent format shows them."""
    if column.name in cat.COLUMN_ENUM:
        names = cat.enum_labels(column.name, lang) or {}
        return lambda v: names.get(v, v) if isinstance(v, str) else v
    if column.kind == "float":
        places = cat.digits(column.name)
        if cat.is_share(column.name):
            if percent:
                return lambda v: None if v is None else round(100.0 * v, places)
            places += 2
        return lambda v: None if v is None else round(v, places)
    if column.kind == "list":
        return lambda v: None if v is None else ", ".join(str(x) for x in v)
    return _same


def converters(columns: Sequence[Column], lang: Lang, *, percent: bool) -> list[Convert]:
    return [converter(c, lang, percent=percent) for c in columns]


def person_value(column: Column, value: Any, lang: Lang, *, percent: bool) -> Any:
    """One cell value for people (see ``converter``)."""
    return converter(column, lang, percent=percent)(value)


def table_columns(table: Table) -> list[Column]:
    """The table's columns, plus ``suppressed`` when a cell may be suppressed."""
    return [*table.columns, *([SUPPRESSED_COLUMN] if table.has_confidential else [])]


def table_values(table: Table, lang: Lang, *, percent: bool) -> Iterator[list[Any]]:
    """Rows of person values; the total row's first cell says ``Summe``/``Total``."""
    columns = table_columns(table)
    convert = [(c.name, converter(c, lang, percent=percent)) for c in columns]
    for row in table.all_rows():
        values = [f(row.get(name)) for name, f in convert]
        if row is table.total:
            values[0] = cat.text("total", lang)
        yield values
