"""A report as an HTTP response in the requested format."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import Response

from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.reports.exporters.cells import DATA_ATTRIBUTION
from landmarket.reports.exporters.csv_export import table_csv
from landmarket.reports.exporters.xlsx_export import MEDIA_TYPE as XLSX
from landmarket.reports.exporters.xlsx_export import report_xlsx
from landmarket.reports.tables import Report


class Format(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Delimiter(StrEnum):
    comma = "comma"
    semicolon = "semicolon"


def report_json(report: Report) -> dict[str, Any]:
    return {
        "report": report.name,
        "region": report.region,
        "region_name": report.region_name,
        "generated_at": report.generated_at.isoformat(),
        "filters": report.filters,
        "notes": report.notes,
        "attribution": DATA_ATTRIBUTION,
        "tables": [
            {
                "name": t.name,
                "columns": [
                    {"name": c.name, "type": c.kind, "confidential": c.confidential}
                    for c in t.columns
                ],
                "rows": t.rows,
                "total": t.total,
            }
            for t in report.tables
        ],
    }


def _filename(report: Report, ext: str) -> str:
    stamp = report.generated_at.strftime("%Y%m%d")
    return f"{report.name}-{report.region or 'all'}-{stamp}.{ext}"


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def render(report: Report, fmt: Format, delimiter: Delimiter, table: str | None) -> Response:
    if fmt is Format.json:
        body = json.dumps(report_json(report), default=str, ensure_ascii=False)
        return Response(body.encode(), media_type="application/json")
    if fmt is Format.xlsx:
        return _download(report_xlsx(report), XLSX, _filename(report, "xlsx"))
    names = [t.name for t in report.tables]
    name = table or names[0]
    if name not in names:
        raise ValidationFailed(
            f"Report {report.name} has the tables {', '.join(names)}",
            errors=[FieldError(pointer="/query/table", detail=f"one of {', '.join(names)}")],
        )
    body_csv = table_csv(report.table(name), delimiter is Delimiter.semicolon)
    suffix = "" if name == report.name else f"-{name}"
    return _download(
        body_csv,
        "text/csv; charset=utf-8",
        _filename(report, "csv").replace(".csv", f"{suffix}.csv"),
    )
