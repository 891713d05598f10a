"""Tables as people read them: labelled headers with units, enum names instead of codes,
numbers rounded to what a reader needs. Shared by CSV, XLSX and the PDF; the JSON keeps the
machine names and values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

from landmarket.core.i18n import Lang
from landmarket.reports import catalogue as cat
from landmarket.reports.suppression import SUPPRESSED
from landmarket.reports.tables import Column, Table

SUPPRESSED_COLUMN = Column(SUPPRESSED, "bool")


def header(columns: Sequence[Column], lang: Lang) -> list[str]:
    return [cat.column_label(c.name, lang) for c in columns]


def yes_no(value: bool, lang: Lang) -> str:
    return cat.enum_label("bool", str(value).lower(), lang)


def person_value(column: Column, value: Any, lang: Lang, *, percent: bool) -> Any:
    """A cell value for people. ``percent``: shares as percentages (CSV); otherwise shares stay
    fractions and a spreadsheet's percent format shows them."""
    if value is None:
        return None
    if column.name in cat.COLUMN_ENUM and isinstance(value, str):
        return cat.enum_label(column.name, value, lang)
    if isinstance(value, bool):
        return value
    if column.kind == "float" and isinstance(value, int | float):
        places = cat.digits(column.name)
        if cat.is_share(column.name):
            return round(100.0 * value, places) if percent else round(value, places + 2)
        return round(float(value), places)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value
    return value


Convert = Callable[[Any], Any]


def converters(columns: Sequence[Column], lang: Lang, *, percent: bool) -> list[Convert]:
    """``person_value`` per column, decided once (a plot export converts millions of cells:
    only the columns that change anything get a function call per cell)."""

    def same(value: Any) -> Any:
        return value

    out: list[Convert] = []
    for column in columns:
        if column.name in cat.COLUMN_ENUM or column.kind in ("float", "list"):
            out.append(partial(person_value, column, lang=lang, percent=percent))
        else:
            out.append(same)
    return out


def table_columns(table: Table) -> list[Column]:
    """The table's columns, plus ``suppressed`` when a cell may be suppressed."""
    return [*table.columns, *([SUPPRESSED_COLUMN] if table.has_confidential else [])]


def table_values(table: Table, lang: Lang, *, percent: bool) -> Iterator[list[Any]]:
    """Rows of person values; the total row's first cell says ``Summe``/``Total``."""
    columns = table_columns(table)
    for row in table.all_rows():
        values = [person_value(c, row.get(c.name), lang, percent=percent) for c in columns]
        if row is table.total:
            values[0] = cat.text("total", lang)
        yield values
