"""What a reader needs to cite a report: scope, date, filters, source, licence, the
confidentiality rule and the notes, as sentences (not a dump of filter JSON)."""

from __future__ import annotations

from datetime import date
from typing import Any

from landmarket.core.i18n import Lang, fmt_date
from landmarket.labels import catalogue as cat
from landmarket.reports.matching_repository import GOOD_SCORE
from landmarket.reports.suppression import MIN_COMPANIES
from landmarket.reports.tables import Report

# A scope of a few chosen municipalities is listed; beyond that only counted.
LISTED = 10


def report_title(name: str, lang: Lang) -> str:
    key = f"report.{name}"
    return cat.text(key, lang) if key in cat.TEXTS else name


def scope_sentence(
    region: str | None, region_name: str | None, members: list[str] | None, chosen: bool, lang: Lang
) -> str:
    """``FrankfurtRheinMain: alle 75 Gemeinden`` (counted, not listed, unless few are chosen)."""
    name = region_name or region or cat.text("all_municipalities", lang)
    if members is None:
        return cat.text("meta.scope_all", lang)
    if chosen:
        shown = ", ".join(members[:LISTED]) + (", …" if len(members) > LISTED else "")
        return cat.text("meta.scope_some", lang, region=name, n=len(members), list=shown)
    return cat.text("meta.scope_region", lang, region=name, n=len(members))


def scope_text(report: Report, lang: Lang) -> str:
    members = report.filters.get("municipalities")
    return scope_sentence(report.region, report.region_name, members, report.chosen, lang)


def period_text(filters: dict[str, Any], lang: Lang) -> str:
    start, end = filters.get("from"), filters.get("to")
    if not start and not end:
        return cat.text("meta.period_all", lang)
    first = fmt_date(date.fromisoformat(start), lang) if start else "…"
    last = fmt_date(date.fromisoformat(end), lang) if end else "…"
    return cat.text("meta.period_range", lang, first=first, last=last)


def note_text(key: str, lang: Lang) -> str:
    return cat.text(key, lang, k=MIN_COMPANIES, good=f"{GOOD_SCORE:g}")


def metadata_rows(report: Report, lang: Lang) -> list[tuple[str, str]]:
    t = cat.text
    stamp = report.generated_at
    rows = [
        (t("meta.report", lang), report_title(report.name, lang)),
        (t("meta.scope", lang), scope_text(report, lang)),
        (t("meta.generated", lang), f"{fmt_date(stamp, lang)} {stamp:%H:%M} UTC"),
        (t("meta.period", lang), period_text(report.filters, lang)),
    ]
    group_by = report.filters.get("group_by")
    if group_by:
        column = "municipality" if group_by == "home_municipality" else group_by
        rows.append((t("meta.group_by", lang), cat.column_label(column, lang)))
    interval = report.filters.get("interval")
    if interval:
        rows.append((t("meta.interval", lang), t(f"interval.{interval}", lang)))
    if report.filters.get("include_empty"):
        rows.append((t("meta.include_empty", lang), t("meta.include_empty_yes", lang)))
    rows += [
        (t("meta.source", lang), t("source", lang)),
        (t("meta.licence", lang), t("licence", lang, boundaries=report.boundary_attribution)),
        (t("meta.suppression", lang), t("suppression_rule", lang, k=MIN_COMPANIES)),
        *((t("meta.note", lang), note_text(n, lang)) for n in report.notes),
    ]
    return rows
