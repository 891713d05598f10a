"""The one shape every report has, whatever the output format: named tables of typed columns.

JSON, CSV, XLSX and the PDF all render this, so a figure suppressed here is suppressed
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["text", "int", "float", "bool", "date", "datetime", "list"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    # Derived from requirements or matches, i.e. from companies: subject to suppression.
    confidential: bool = False
    # The columns counting the distinct companies behind this value (suppression guards).
    guards: tuple[str, ...] = ("companies",)


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    # The row that aggregates all the others (its key columns are null), if any.
    total: dict[str, Any] | None = None

    @property
    def has_confidential(self) -> bool:
        return any(c.confidential for c in self.columns)

    def all_rows(self) -> list[dict[str, Any]]:
        return [*self.rows, *([self.total] if self.total is not None else [])]


@dataclass
class Report:
    name: str
    region: str | None
    region_name: str | None
    filters: dict[str, Any]
    generated_at: datetime
    tables: list[Table]
    # Keys of ``catalogue.TEXTS`` (``note.*``): rendered in the reader's language.
    notes: list[str] = field(default_factory=list)
    # The caller chose these municipalities (else: the whole region or database).
    chosen: bool = False
    # The licence lines of the scope's boundary sets (municipalities.attribution).
    boundary_attribution: str = ""

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)
