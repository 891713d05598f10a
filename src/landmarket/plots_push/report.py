"""The push's report: counts of what was really written, and every refused row named by its
row number, source column, value and expected form; grouped by reason; as an errors file."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landmarket.plots_push.convert import Converted, Failure
from landmarket.plots_push.geometry import to_wkt
from landmarket.plots_push.source import Table

_POINTER = re.compile(r"^/features/(\d+)(?:/([^/]+)(?:/([^/]+))?)?")
COUNTS = ("received", "created", "updated", "unchanged", "withdrawn", "failed")


@dataclass
class PushResult:
    received: int
    dry_run: bool
    written: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    approximate: int = 0
    municipalities: list[str] = field(default_factory=list)
    repaired: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({f.index for f in self.failures})

    def summary(self) -> list[tuple[int, str, Failure]]:
        """(count, reason, first example) per reason, most frequent first."""
        counts = Counter(f.reason for f in self.failures)
        first: dict[str, Failure] = {}
        for f in self.failures:
            first.setdefault(f.reason, f)
        return [(n, reason, first[reason]) for reason, n in counts.most_common()]

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNTS} | {
            "dry_run": self.dry_run,
            "written": self.written,
            "approximate": self.approximate,
            "municipalities": self.municipalities,
            "repaired": self.repaired,
            "errors": [f.as_dict() for f in sorted(self.failures, key=lambda f: f.index)],
            "summary": [
                {"count": n, "reason": reason, "example_row": f.row}
                for n, reason, f in self.summary()
            ],
        }


def _server_failure(entry: dict[str, Any], table: Table, converted: Converted) -> Failure:
    """An API error entry (pointer into the sent batch) → the file's row and column."""
    sent = int(entry["index"])
    position = converted.positions[sent]
    row = table.rows[position]
    match = _POINTER.match(str(entry.get("pointer") or ""))
    part = match.group(2) if match else None
    column: str
    value: Any = None
    if part == "properties" and match and match.group(3):
        target = match.group(3)
        column = converted.source_of(target)
        value = row.get(column)
        if target not in converted.rules and target != "municipality_ags":
            # A property no column feeds (a merge without the title): say how to give it.
            column = f"{target} (no column: --map COLUMN={target} or [fields.{target}])"
        if target == "municipality_ags" and column == target and "municipality_ags" not in row:
            column = "municipality (--municipality or derived from the geometry)"
            value = converted.features[sent]["properties"].get("municipality_ags")
    elif part == "geometry":
        column = "/".join(table.geometry_fields) or "geometry"
        value = None
    else:
        column = "feature"
    return Failure(
        index=position,
        row=table.first_row + position,
        external_id=entry.get("external_id"),
        field=column,
        value=value,
        expected=str(entry.get("detail") or ""),
        status=int(entry.get("status") or 422),
    )


def merge_report(
    result: PushResult,
    report: dict[str, Any],
    table: Table,
    converted: Converted,
    *,
    written: bool,
) -> None:
    result.failures += [_server_failure(e, table, converted) for e in report.get("errors") or []]
    result.written = written
    if written or result.dry_run:
        for name in ("created", "updated", "unchanged", "withdrawn"):
            setattr(result, name, int(report.get(name) or 0))
        result.municipalities = sorted(report.get("municipalities") or [])
    result.repaired = [
        {**r, "index": converted.positions[int(r["index"])]} for r in report.get("repaired") or []
    ]


def write_errors(path: Path, table: Table, result: PushResult) -> None:
    """The refused rows with their columns, a WKT geometry when the file had a geometry layer,
    and an ``error`` column: fix them and push the file again."""
    by_row: dict[int, list[Failure]] = {}
    for f in result.failures:
        by_row.setdefault(f.index, []).append(f)
    vector = not table.geometry_fields
    columns = ["row", *table.fields] + (["geometry_wkt"] if vector else []) + ["error"]
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(columns)
        for index in sorted(by_row):
            row = table.rows[index]
            errors = " | ".join(f"{f.field}={_show(f.value)}: {f.expected}" for f in by_row[index])
            values = ["" if row.get(c) is None else row.get(c) for c in table.fields]
            geometry = [to_wkt(table.geometries[index])] if vector else []
            writer.writerow([by_row[index][0].row, *values, *geometry, errors])


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe(f: Failure) -> str:
    who = f" ({f.external_id})" if f.external_id else ""
    return f"row {f.row}{who}: {f.field} = {_show(f.value)}: {f.expected}"
