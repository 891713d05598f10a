"""Languages of human-facing output (PDF, spreadsheets, CSV headers, match reasons).

German first, English second: the users are German municipalities and agencies. The JSON API
keeps its English machine names whatever the language; only labels and texts change.
Chosen by the ``lang`` query parameter, else the best of ``Accept-Language``, else German.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from fastapi import Depends, Header, Query

Lang = Literal["de", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
# Every region served today is German; a region abroad would pass its own default here.
DEFAULT_LANG: Lang = "de"


def _quality(text: str) -> float:
    try:
        q = float(text)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def negotiate(accept_language: str | None, default: Lang = DEFAULT_LANG) -> Lang:
    """The supported language the client prefers most (RFC 9110 section 12.5.4): ``de-AT``
    counts as ``de``; ``*`` stands for the default; ties go to the earlier entry."""
    best: tuple[float, int, Lang] | None = None
    for i, part in enumerate((accept_language or "").split(",")[:50]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key.strip().lower() == "q":
                q = _quality(value.strip())
        primary = tag.strip().lower().split("-")[0]
        lang: Lang | None = default if primary == "*" else None
        for supported in LANGS:
            if primary == supported:
                lang = supported
        if lang is None or q <= 0.0:
            continue
        if best is None or q > best[0]:
            best = (q, i, lang)
    return best[2] if best else default


def language(
    lang: Annotated[
        Lang | None,
        Query(
            description="Language of labels and texts: de or en (default: Accept-Language, else de)"
        ),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Lang:
    """FastAPI dependency: ``lang`` wins over ``Accept-Language``."""
    return lang or negotiate(accept_language)


LangDep = Annotated[Lang, Depends(language)]


def fmt_number(value: float | int, digits: int, lang: Lang) -> str:
    """``1.234,5`` in German, ``1,234.5`` in English."""
    text = f"{value:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "de" else text


def fmt_date(value: date | datetime, lang: Lang) -> str:
    """``03.12.2026`` in German, ``2026-12-03`` (ISO 8601, unambiguous) in English."""
    return value.strftime("%d.%m.%Y") if lang == "de" else value.strftime("%Y-%m-%d")
