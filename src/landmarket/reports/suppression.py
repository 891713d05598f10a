"""Statistical confidentiality: no figure may be built from fewer than 3 distinct companies.

Each confidential column names its guards: columns counting the distinct companies behind
the value in the same row (usually ``companies``). A value whose guard is 1 or 2 becomes
null and its row gets ``suppressed: true``. A guard of 0 reveals nothing about anyone, so a
municipality without demand shows 0, not a gap in the map.

Secondary suppression: when a table has a visible total and exactly one row of a column is
suppressed, the total minus the other rows would give it away, so the smallest other value
of that column (by its guard) is suppressed as well.
"""

from __future__ import annotations

from typing import Any

from landmarket.reports.tables import Column, Table

MIN_COMPANIES = 3
SUPPRESSED = "suppressed"


def _too_few(row: dict[str, Any], column: Column) -> bool:
    return any(0 < (row.get(g) or 0) < MIN_COMPANIES for g in column.guards)


def _guard_size(row: dict[str, Any], column: Column) -> int:
    return min((row.get(g) or 0) for g in column.guards)


def suppress(table: Table) -> Table:
    """Apply the rule in place (and return the table for chaining)."""
    if not table.has_confidential:
        return table
    rows = table.all_rows()
    confidential = [c for c in table.columns if c.confidential]
    # Decide on the original counts first: a guard column is itself confidential.
    hidden: dict[str, set[int]] = {
        c.name: {id(r) for r in rows if _too_few(r, c)} for c in confidential
    }
    total = table.total
    for c in confidential:
        ids = hidden[c.name]
        in_rows = [r for r in table.rows if id(r) in ids]
        if total is not None and id(total) not in ids and len(in_rows) == 1:
            others = [r for r in table.rows if id(r) not in ids and _guard_size(r, c) > 0]
            if others:
                ids.add(id(min(others, key=lambda r: _guard_size(r, c))))
    for row in rows:
        row[SUPPRESSED] = False
    by_id = {id(r): r for r in rows}
    for name, ids in hidden.items():
        for i in ids:
            by_id[i][name] = None
            by_id[i][SUPPRESSED] = True
    return table
