"""A report as an HTTP response in the requested format."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fastapi import Response

from landmarket.core.errors import FieldError, ValidationFailed
from landmarket.core.i18n import Lang
from landmarket.labels import catalogue as cat
from landmarket.reports.exporters.cells import DATA_ATTRIBUTION
from landmarket.reports.exporters.csv_export import table_csv
from landmarket.reports.exporters.metadata import note_text, report_title
from landmarket.reports.exporters.xlsx_export import MEDIA_TYPE as XLSX
from landmarket.reports.exporters.xlsx_export import report_xlsx
from landmarket.reports.tables import Column, Report


class Format(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Delimiter(StrEnum):
    comma = "comma"
    semicolon = "semicolon"


def column_json(column: Column, lang: Lang) -> dict[str, Any]:
    """The machine name and type, and for people the label, unit and enum value names."""
    label = cat.COLUMNS.get(column.name)
    out: dict[str, Any] = {
        "name": column.name,
        "type": column.kind,
        "confidential": column.confidential,
        "label": label.text(lang) if label else column.name,
        "unit": cat.unit_text(label.unit, lang) if label and label.unit else None,
    }
    values = cat.enum_labels(column.name, lang)
    if values is not None:
        out["values"] = values
    return out


def report_json(report: Report, lang: Lang) -> dict[str, Any]:
    """Machine names and values as ever; ``title``, ``notes`` and the columns' ``label``,
    ``unit`` and ``values`` in the requested language."""
    return {
        "report": report.name,
        "title": report_title(report.name, lang),
        "lang": lang,
        "region": report.region,
        "region_name": report.region_name,
        "generated_at": report.generated_at.isoformat(),
        "filters": report.filters,
        "notes": [note_text(n, lang) for n in report.notes],
        "attribution": DATA_ATTRIBUTION,
        "tables": [
            {
                "name": t.name,
                "columns": [column_json(c, lang) for c in t.columns],
                "rows": t.rows,
                "total": t.total,
            }
            for t in report.tables
        ],
    }


def _filename(report: Report, ext: str) -> str:
    stamp = report.generated_at.strftime("%Y%m%d")
    return f"{report.name}-{report.region or 'all'}-{stamp}.{ext}"


def language_headers(lang: Lang) -> dict[str, str]:
    """The language of the body, and that it depends on Accept-Language (for caches)."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}


def _download(body: bytes, media_type: str, filename: str, lang: Lang) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            **language_headers(lang),
        },
    )


def render(
    report: Report, fmt: Format, delimiter: Delimiter, table: str | None, lang: Lang
) -> Response:
    if fmt is Format.json:
        body = json.dumps(report_json(report, lang), default=str, ensure_ascii=False)
        return Response(
            body.encode(), media_type="application/json", headers=language_headers(lang)
        )
    if fmt is Format.xlsx:
        return _download(report_xlsx(report, lang), XLSX, _filename(report, "xlsx"), lang)
    names = [t.name for t in report.tables]
    name = table or names[0]
    if name not in names:
        raise ValidationFailed(
            f"Report {report.name} has the tables {', '.join(names)}",
            errors=[FieldError(pointer="/query/table", detail=f"one of {', '.join(names)}")],
        )
    body_csv = table_csv(report.table(name), delimiter is Delimiter.semicolon, lang)
    suffix = "" if name == report.name else f"-{name}"
    return _download(
        body_csv,
        "text/csv; charset=utf-8",
        _filename(report, "csv").replace(".csv", f"{suffix}.csv"),
        lang,
    )
